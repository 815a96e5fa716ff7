"""API tokens for scripts: issued once in clear, stored as hashes, listed and revoked per account."""

from __future__ import annotations

from typing import Any

from .clock import stamp
from .db import Database, write
from .errors import NotFound
from .tokens import new_token, token_hash


def issue(db: Database, account_id: int, label: str) -> str:
    """Issue an API token for an account (shown once, stored as a hash)."""
    token = "cfg_" + new_token()
    with write(db):
        db.execute(
            "INSERT INTO api_tokens (account_id, token_hash, label, created_at) VALUES (?,?,?,?)",
            [account_id, token_hash(token), label[:100], stamp()],
        )
    return token


def account_for(db: Database, token: str) -> int | None:
    """The account an API token belongs to, or None."""
    row = db.execute(
        "SELECT account_id FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        [token_hash(token)],
    ).fetchone()
    return row[0] if row else None


def of_account(db: Database, account_id: int) -> list[dict[str, Any]]:
    """The account's API tokens (never the secrets), newest first."""
    rows = db.execute(
        "SELECT id, label, created_at, revoked_at FROM api_tokens WHERE account_id = ?"
        " ORDER BY id DESC",
        [account_id],
    )
    return [dict(r) for r in rows]


def revoke(db: Database, account_id: int, token_id: int) -> None:
    """Revoke one of the account's API tokens; NotFound if it is not theirs."""
    with write(db):
        row = db.execute(
            "SELECT revoked_at FROM api_tokens WHERE id = ? AND account_id = ?",
            [token_id, account_id],
        ).fetchone()
        if row is None:
            raise NotFound("You have no such API token.")
        if row["revoked_at"] is None:
            db.execute("UPDATE api_tokens SET revoked_at = ? WHERE id = ?", [stamp(), token_id])
