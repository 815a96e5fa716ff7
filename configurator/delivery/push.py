"""Every channel but email, through Apprise: SMS gateways, chat services, ntfy, JSON webhooks.

The URL is the organiser's template filled with the attendee's answer (settings.fill). What the
service answered on failure is kept, with the channel secrets blanked out, so staff can read why.
"""

from __future__ import annotations

import logging

import apprise

IDEMPOTENCY_HEADER = "Idempotency-Key"


class PushFailed(Exception):
    """The service did not take the message (its own words, secrets blanked)."""


def send(url: str, title: str, body: str, key: str, secrets: dict[str, str]) -> str:
    """Notify through the Apprise URL; raise PushFailed with the service's answer when it fails."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        raise PushFailed("Apprise does not know how to send to this address any more.")
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):  # the generic webhooks (json://, form://, xml://) send headers
        headers[IDEMPOTENCY_HEADER] = key
    with apprise.LogCapture(level=logging.WARNING) as said:
        try:
            ok = plugin.notify(body=body, title=title)
        except Exception as exc:  # a plugin's own bug must read as a failed send, not a crash
            ok, extra = False, f"{type(exc).__name__}: {exc}"
        else:
            extra = ""
    if ok:
        return "accepted"
    answer = " ".join(
        line.split(" - ", 2)[-1].strip() for line in said.getvalue().splitlines() if line.strip()
    )
    raise PushFailed(blank(answer or extra or "The service refused the message.", secrets))


def blank(text: str, secrets: dict[str, str]) -> str:
    """The text with every secret's value replaced by ***."""
    for value in secrets.values():
        if value:
            text = text.replace(value, "***")
    return text
