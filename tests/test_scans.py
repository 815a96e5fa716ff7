"""Security scans that run with the tests: bandit finds nothing of medium or high severity."""

from __future__ import annotations

import json
import subprocess
import sys

from docsupport import ROOT


def test_bandit_finds_no_medium_or_high_issue():
    result = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", "configurator", "-f", "json", "-ll"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    report = json.loads(result.stdout)
    found = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_text']}"
        for r in report["results"]
    ]
    assert found == []
    assert report["metrics"]["_totals"]["loc"] > 1000  # it really scanned the package
