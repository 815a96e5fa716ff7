"""One error shape for every failure: JSON for the API, the error page otherwise; never a traceback."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from ..errors import ConfiguratorError
from .rendering import render


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into a clear answer."""
    app.register_error_handler(ConfiguratorError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)


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
