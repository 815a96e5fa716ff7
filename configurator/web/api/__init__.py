"""The JSON API (docs/openapi.json): designs for attendees, exports and proposals for staff."""

from __future__ import annotations

from flask import Blueprint

from . import designs, exports, proposals

blueprints: list[Blueprint] = [designs.bp, exports.bp, proposals.bp]
