"""The files folder: prepared exports are written here by the worker and sent from here by any server.

CONFIGURATOR_FILES names it; several servers share one folder (a network mount). The default is
`files` in the instance folder (CONFIGURATOR_INSTANCE, else `instance/` beside the code).
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def folder(*parts: str) -> Path:
    """The files folder (or a folder inside it), created when missing."""
    instance = Path(os.environ.get("CONFIGURATOR_INSTANCE", str(PROJECT_ROOT / "instance")))
    found = Path(os.environ.get("CONFIGURATOR_FILES") or instance / "files").joinpath(*parts)
    found.mkdir(parents=True, exist_ok=True)
    return found
