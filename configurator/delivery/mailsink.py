"""A real local SMTP server (aiosmtpd) that keeps what arrives: for the demo, tests and benchmarks.

`configurator mailsink` runs one beside the demo and writes every message into a Maildir folder
(one file per message, readable with any mail program or a text editor). Tests start one on a
free port and read `received`; `refuse` makes it answer an address with an error.
"""

from __future__ import annotations

import email
import email.policy
import mailbox
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Arrived:
    """One message as the server took it: the envelope and the parsed message."""

    sender: str
    recipients: list[str]
    message: EmailMessage
    raw: bytes


@dataclass
class Keeper:
    """The aiosmtpd handler: refuses what it is told to, keeps the rest in memory and a Maildir."""

    maildir: Path | None = None
    keep: bool = True
    refuse: dict[str, str] = field(default_factory=dict)
    received: list[Arrived] = field(default_factory=list)
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        """Take the recipient, unless told to answer it with an error."""
        if address.lower() in self.refuse:
            return self.refuse[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message."""
        raw = bytes(envelope.original_content or envelope.content)
        with self.lock:
            self.count += 1
            if self.keep:
                parsed = email.message_from_bytes(raw, policy=email.policy.default)
                self.received.append(
                    Arrived(envelope.mail_from, list(envelope.rcpt_tos), parsed, raw)  # type: ignore[arg-type]
                )
            if self.maildir is not None:
                mailbox.Maildir(str(self.maildir), create=True).add(raw)
        return "250 Message accepted for delivery"


class Sink(Controller):
    """An aiosmtpd server in a thread; port 0 picks a free port, read back from `port`."""

    def __init__(self, keeper: Keeper, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(keeper, hostname=host, port=port)
        self.keeper = keeper

    def _trigger_server(self) -> None:
        if self.server is not None and self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()

    @property
    def url(self) -> str:
        """The CONFIGURATOR_MAIL_URL that reaches this server."""
        return f"smtp://{self.hostname}:{self.port}"

    @property
    def received(self) -> list[Arrived]:
        """Every message taken so far, in order."""
        return self.keeper.received


def start(
    host: str = "127.0.0.1", port: int = 0, maildir: Path | None = None, keep: bool = True
) -> Sink:
    """Start a sink and return it once it answers."""
    sink = Sink(Keeper(maildir, keep), host, port)
    sink.start()
    return sink
