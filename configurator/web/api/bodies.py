"""Reading JSON request bodies strictly: media type, size limit, UTF-8, finite numbers, repeated keys."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import current_app, request

from ...errors import BadRequest, ConfiguratorError

SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class PayloadTooLarge(ConfiguratorError):
    """The request body is over the size limit."""

    status = 413


class UnsupportedMediaType(ConfiguratorError):
    """The request body is not JSON."""

    status = 415


def read_json() -> tuple[Any, list[tuple[list[str | int], str]]]:
    """The request's JSON body and the keys it repeats (each as the path of its object and key)."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            "Send the body as JSON, with the header Content-Type: application/json."
        )
    limit = current_app.config["MAX_DESIGN_BYTES"]
    declared = request.content_length
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"The body is {declared} bytes; the limit is {limit} bytes.")
    # Read one byte past the limit: a body without a Content-Length is measured as it arrives.
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is over the limit of {limit} bytes.")
    return parse_json(body)


def parse_json(body: bytes) -> tuple[Any, list[tuple[list[str | int], str]]]:
    """Parse strict JSON (UTF-8, finite numbers), noting every repeated key instead of keeping one."""
    repeated: list[tuple[dict[str, Any], str]] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        made: dict[str, Any] = {}
        for key, value in items:
            if key in made:
                repeated.append((made, key))
            made[key] = value
        return made

    try:
        value = json.loads(
            body.decode("utf-8"),
            object_pairs_hook=pairs,
            parse_float=_finite,
            parse_constant=_no_constant,
        )
        # A lone surrogate (\ud800) parses but is not text: nothing could store or show it.
        # Only a \uD800-\uDFFF escape can make one, so most bodies skip the re-encoding.
        if SURROGATE_ESCAPE.search(body):
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError) as error:
        raise BadRequest(f"The body is not valid JSON: {_reason(error)}") from None
    return value, [(_path_to(value, obj), key) for obj, key in repeated]


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text} is too large")
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(f"{text} is not a JSON value")


def _reason(error: Exception) -> str:
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at line {error.lineno}, column {error.colno}."
    if isinstance(error, UnicodeDecodeError):
        return "it is not UTF-8 text."
    if isinstance(error, UnicodeEncodeError):
        return "it holds a \\u escape that is half of a character (an unpaired surrogate)."
    if isinstance(error, RecursionError):
        return "it is nested too deeply."
    return f"{error}."


def _path_to(node: Any, target: dict[str, Any]) -> list[str | int]:
    """The path from the parsed body to one of its objects (found by identity)."""
    stack: list[tuple[Any, list[str | int]]] = [(node, [])]
    while stack:
        current, path = stack.pop()
        if current is target:
            return path
        if isinstance(current, dict):
            stack.extend((v, [*path, k]) for k, v in current.items())
        elif isinstance(current, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(current))
    return []
