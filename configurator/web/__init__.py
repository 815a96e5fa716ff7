"""The web layer: extensions, security headers, error handlers, assets and every blueprint."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, abort, current_app, g
from flask_wtf.csrf import CSRFProtect
from jinja2 import FileSystemBytecodeCache

from . import connection, error_handlers, languages
from .access import load_principal
from .rendering import htmx

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def init_app(app: Flask) -> None:
    """Register extensions, hooks, error handlers and blueprints."""
    # Compiled templates kept on disk (Jinja checks each against its source): a fresh process
    # renders its first page without compiling the templates again, which took most of it.
    app.jinja_env.bytecode_cache = FileSystemBytecodeCache()
    csrf.init_app(app)
    htmx.init_app(app)
    languages.init_app(app)
    connection.init_app(app)
    app.before_request(load_principal)
    app.after_request(_security_headers)
    error_handlers.init_app(app)
    app.add_url_rule("/assets/htmx.min.js", "htmx_js", _htmx_js)

    from . import (
        api,
        attendee,
        auth,
        cocreation,
        console,
        delivery,
        designer,
        health,
        home,
        messages,
        organiser,
        schema_pages,
        staff,
    )

    pages = (health, home, auth, attendee, designer, console, organiser, schema_pages, staff, cocreation)
    for module in (*pages, delivery, messages):
        app.register_blueprint(module.bp)
    # Mail programs unsubscribe with a bare POST (RFC 8058); the signed link is the authority.
    csrf.exempt(messages.unsubscribe_bp)
    app.register_blueprint(messages.unsubscribe_bp)
    for blueprint in api.blueprints:
        csrf.exempt(blueprint)  # the API authenticates with tokens, never with cookies
        app.register_blueprint(blueprint)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Personal links carry secrets in the path: never leak them to another site.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if getattr(g, "attendee_id", None) or getattr(g, "account_id", None):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _htmx_js() -> Response:
    js = Path(current_app.config["HTMX_JS"])
    if not js.is_file():
        abort(404)
    response = Response(js.read_bytes(), mimetype="text/javascript")
    response.cache_control.public = True
    response.cache_control.max_age = 86400
    return response
