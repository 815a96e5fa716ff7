"""Staff pages: the demand dashboard and the exports (read-only)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__)
