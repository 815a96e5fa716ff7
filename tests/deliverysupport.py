"""Real receivers for delivery tests: an aiosmtpd mail server and an HTTP webhook receiver."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

from configurator import designs, jobs
from configurator.delivery import settings


@dataclass
class Request:
    """One request the receiver took."""

    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP server that keeps every POST and answers with the status it is told."""

    server: ThreadingHTTPServer
    received: list[Request] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers for the next requests, then 200

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def paths(self) -> list[str]:
        return [unquote(r.path) for r in self.received]


def start_receiver() -> Receiver:
    """Start a webhook receiver on a free port."""
    holder: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver = holder["r"]
            status = receiver.statuses.pop(0) if receiver.statuses else 200
            receiver.received.append(Request(self.path, dict(self.headers), body))
            payload = b'{"ok": true}' if status < 400 else b'{"error": "gateway says no"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder["r"] = receiver = Receiver(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver


def route(db, event: dict, **routes: str | tuple[str, int]) -> settings.Settings:
    """Save the event's delivery settings with these channel routes (option id = URL template)."""
    from configurator import events

    schema = events.compiled(db, event["id"])
    form = {"sender_name": "Commons Camp team", "reminder_minutes": "30", "feedback": "on"}
    for option, value in routes.items():
        to, rate = value if isinstance(value, tuple) else (value, None)
        form[f"route-{option}"] = to
        if rate:
            form[f"rate-{option}"] = str(rate)
    return settings.save(db, event["id"], schema, form)


def design(db, invitation, channels: dict[str, dict], **sections: Any) -> None:
    """Save a draft design with these channels (and any other sections)."""
    designs.save_design(db, invitation.attendee, {"channels": channels, **sections})


def delivery_jobs(db, message_id: int | None = None) -> list[jobs.Job]:
    """Every delivery job (of one message), oldest first."""
    rows = db.execute(
        "SELECT id FROM jobs WHERE kind = 'delivery' AND (CAST(? AS INTEGER) IS NULL OR ref_id = ?) ORDER BY id",
        [message_id, message_id],
    )
    return [jobs.get(db, r[0]) for r in rows]
