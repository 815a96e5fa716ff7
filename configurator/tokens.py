"""Random secrets for links and sessions, stored only as hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A URL-safe random token of 192 bits."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """The stored form of a token: high-entropy secrets need a fast hash, not a password hash."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
