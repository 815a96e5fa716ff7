"""Read the fenced examples out of the README and docs/, so tests can run every one."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```\s*$", re.S | re.M)
KNOWN = {
    "json option-schema",
    "json option-schema-invalid",
    "json design",
    "json design-invalid",
    "console",
    "csv sessions",
    "csv capacities",
    "csv people",
    "text",
    "http",
    "json",
    "json openapi-example",
    "xml frab",
    "yaml option-schema",
    "sh",
    "sh bench",
    "toml",
}


def doc_files() -> list[Path]:
    """The README and every page of the manual."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_blocks(path: Path, info: str | None = None) -> list[tuple[str, str]]:
    """(info string, body) of each fenced block in a file, optionally only those with `info`."""
    blocks = [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(path.read_text())]
    return [b for b in blocks if info is None or b[0] == info]
