"""Exports through the JSON API, for staff holding an API token."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api_exports", __name__, url_prefix="/api/v1")
