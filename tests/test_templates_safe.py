"""No template or view marks user data as safe: autoescaping is never switched off."""

from __future__ import annotations

import re

from docsupport import ROOT

UNSAFE = re.compile(r"\|\s*safe\b|autoescape\s+false|Markup\(|\|\s*tojson\s*\|\s*safe")


def test_no_template_marks_data_safe():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if UNSAFE.search(line)
    ]
    assert offenders == []


def test_no_python_code_builds_markup():
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in sorted((ROOT / "configurator").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(r"\bMarkup\(|render_template_string\(", line)
    ]
    assert offenders == []


def test_autoescape_is_on(app):
    with app.app_context():
        rendered = app.jinja_env.from_string("{{ x }}").render(x="<script>")
    assert rendered == "&lt;script&gt;"
