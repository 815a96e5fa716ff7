"""Wire the web layer: extensions, security headers, errors, assets and the blueprints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, Response, abort, current_app, g, jsonify, request
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from .access import load_principal
from .errors import ConfiguratorError
from .rendering import htmx, render

csrf = CSRFProtect()

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)


def init_app(app: Flask) -> None:
    """Register extensions, hooks, error handlers and blueprints."""
    csrf.init_app(app)
    htmx.init_app(app)
    app.before_request(load_principal)
    app.after_request(_security_headers)
    app.register_error_handler(ConfiguratorError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.add_url_rule("/assets/htmx.min.js", "htmx_js", _htmx_js)

    from . import (
        api,
        api_exports,
        attendee,
        auth,
        cocreation,
        cocreation_api,
        home,
        organiser,
        staff,
    )

    for module in (home, auth, attendee, organiser, staff, cocreation):
        app.register_blueprint(module.bp)
    for module in (api, api_exports, cocreation_api):
        csrf.exempt(module.bp)  # the API authenticates with tokens, never with cookies
        app.register_blueprint(module.bp)


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


def wants_json() -> bool:
    """True for API requests, which get JSON errors."""
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(
    status: int, title: str, message: str, problems: list[Any] | None = None, **extra: Any
) -> Response:
    """One error shape for every failure: JSON for the API, the error page otherwise."""
    problems = problems or []
    if wants_json():
        body = {
            "error": title,
            "message": message,
            "errors": [
                {"path": p.pointer, "where": p.path, "message": p.message} for p in problems
            ],
            **extra,
        }
        response = jsonify(body)
        response.status_code = status
        return response
    return render(
        "errors/error.html",
        "errors/_error.html",
        status=status,
        status_code=status,
        title=title,
        message=message,
        problems=problems,
    )


def _domain_error(error: ConfiguratorError) -> Response:
    return error_response(error.status, type(error).__name__, error.message, error.problems)


def _csrf_error(error: CSRFError) -> Response:
    return error_response(
        400,
        "CSRFError",
        "This form has expired or did not come from this site. Reload the page and try again.",
    )


_HTTP_WORDS = {
    404: "There is nothing at this address.",
    405: "This address does not accept that kind of request.",
    413: "What you sent is too large.",
    400: "The request could not be read.",
}


def _http_error(error: HTTPException) -> Response:
    status = error.code or 500
    response = error_response(status, error.name, _HTTP_WORDS.get(status, error.description or ""))
    # A 405 must name the methods the address accepts (RFC 9110); werkzeug puts them on the error.
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("Unexpected error", exc_info=error)
    return error_response(
        500,
        "Internal Server Error",
        "Something went wrong on our side. Nothing you sent was half-saved; please try again.",
    )
