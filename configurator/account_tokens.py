"""The account page's API tokens: list them and revoke one (issuing is accounts.create_api_token)."""

from __future__ import annotations

from typing import Any

import sqlite_utils

from .clock import stamp
from .db import write
from .errors import NotFound


def api_tokens(db: sqlite_utils.Database, account_id: int) -> list[dict[str, Any]]:
    """The account's API tokens (never the secrets), newest first."""
    rows = db.execute(
        "SELECT id, label, created_at, revoked_at FROM api_tokens WHERE account_id = ?"
        " ORDER BY id DESC",
        [account_id],
    )
    return [dict(r) for r in rows]


def revoke_api_token(db: sqlite_utils.Database, account_id: int, token_id: int) -> None:
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
