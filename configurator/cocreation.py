"""Co-creation pages: attendees propose and support; organisers moderate and answer."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cocreation", __name__)
