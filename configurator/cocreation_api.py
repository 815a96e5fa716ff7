"""Proposals, supports and answers through the JSON API."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cocreation_api", __name__, url_prefix="/api/v1")
