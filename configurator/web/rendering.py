"""The one place that reads htmx's request headers: a whole page or just a partial, or a redirect."""

from __future__ import annotations

from typing import Any

from flask import Response, make_response, redirect, render_template
from flask_htmx import HTMX

htmx = HTMX()


def is_htmx() -> bool:
    """True for a request htmx made for a fragment (not a boosted navigation or history restore)."""
    # On a history cache miss htmx refetches the URL to rebuild the whole page, so it needs one.
    return bool(htmx) and not htmx.boosted and not htmx.history_restore_request


def render(page: str, partial: str | None = None, status: int = 200, **context: Any) -> Response:
    """Render the page, or only its partial for an htmx request; vary the cache on HX-Request."""
    template = partial if partial and is_htmx() else page
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def see_other(location: str) -> Response:
    """The answer to a successful plain POST: go to location with a GET (303 See Other)."""
    return redirect(location, code=303)  # type: ignore[return-value]
