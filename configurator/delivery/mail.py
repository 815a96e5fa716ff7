"""Email: a plain-text and an HTML part, one-click unsubscribe headers, sent over SMTP.

A worker keeps one SMTP connection per mail server and thread, and opens it again when the server
closed it. A 5xx answer is final (the address will never take the message); anything else, a
4xx answer or a lost connection, is worth trying again later.
"""

from __future__ import annotations

import html
import re
import smtplib
import ssl
import threading
import zlib
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import Compat32
from email.utils import formataddr, formatdate
from typing import Any

from .config import MailServer

TIMEOUT = 30
LINK = re.compile(r"(https?://[^\s<>\"]+)")
_local = threading.local()


class _Wire(Compat32):
    """compat32 with CRLF line ends, writing a short ASCII header as it is (no Header object).

    Folding every header through email.header.Header is most of the cost of an email; a plain
    ASCII value under the line limit needs no folding or encoding.
    """

    def fold_binary(self, name: str, value: Any) -> bytes:
        """The header as bytes for the wire."""
        plain = isinstance(value, str) and value.isascii() and len(name) + len(value) < 990
        if plain and "\n" not in value and "\r" not in value:
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE = _Wire(linesep="\r\n")  # SMTP lines end in CRLF
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP  # readable in a Maildir file, unlike base64


class MailFailed(Exception):
    """The mail server did not take the message; `final` when trying again cannot help."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class Mail:
    """One email as the worker sends it."""

    sender_name: str
    sender: str
    to_name: str
    to: str
    subject: str
    text: str
    message_id: str
    unsubscribe_url: str | None = None
    footer: str = ""


def build(mail: Mail) -> Message:
    """The message with its headers, a plain-text part and the same words as HTML."""
    # The MIME classes with the compat32 policy build a message about 7 times faster than
    # EmailMessage's header registry; that is most of a worker's time per email.
    message = MIMEMultipart("alternative")
    message["From"] = formataddr((mail.sender_name, mail.sender), charset="utf-8")
    message["To"] = formataddr((mail.to_name, mail.to), charset="utf-8")
    message["Subject"] = mail.subject if mail.subject.isascii() else Header(mail.subject, "utf-8")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    text = mail.text + (f"\n\n-- \n{mail.footer}" if mail.footer else "")
    message.attach(MIMEText(text, "plain", UTF8))
    message.attach(MIMEText(as_html(mail.subject, mail.text, mail.footer), "html", UTF8))
    # A boundary of our own: QP-encoded parts can never contain "=_", and the generator would
    # otherwise compile a new regular expression per message to choose one.
    message.set_boundary(f"=_part_{zlib.crc32(mail.message_id.encode()):08x}")
    return message


def as_html(subject: str, text: str, footer: str) -> str:
    """The plain text as a small HTML page: paragraphs kept, links made clickable, all escaped."""

    def paragraph(block: str) -> str:
        escaped = html.escape(block)
        linked = LINK.sub(lambda m: f'<a href="{m.group(1)}">{m.group(1)}</a>', escaped)
        return "<p>" + linked.replace("\n", "<br>\n") + "</p>"

    body = "\n".join(paragraph(b) for b in re.split(r"\n\s*\n", text.strip()) if b.strip())
    small = (
        f'<hr>\n<p style="font-size:small;color:#555">{paragraph(footer)[3:-4]}</p>'
        if footer
        else ""
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject)}</title></head>\n<body>\n{body}\n{small}\n</body></html>\n"
    )


def _open(server: MailServer) -> smtplib.SMTP:
    if server.scheme == "smtps":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT)
        if server.scheme == "smtp+starttls":
            client.starttls(context=ssl.create_default_context())
    if server.user:
        client.login(server.user, server.password or "")
    return client


def _connection(server: MailServer) -> smtplib.SMTP:
    cache: dict[MailServer, smtplib.SMTP] = _local.__dict__.setdefault("smtp", {})
    client = cache.get(server)
    if client is None:
        client = cache[server] = _open(server)
    return client


def close() -> None:
    """Close this thread's SMTP connections (the worker does when it stops)."""
    cache: dict[MailServer, smtplib.SMTP] = _local.__dict__.get("smtp", {})
    for client in cache.values():
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    cache.clear()


def send(server: MailServer, sender: str, to: str, message: Message) -> str:
    """Hand the message to the mail server; what it answered, or MailFailed."""
    data = message.as_bytes(policy=WIRE)
    for attempt in (1, 2):
        try:
            client = _connection(server)
            refused = client.sendmail(sender, [to], data)
        except smtplib.SMTPServerDisconnected:
            _local.__dict__.get("smtp", {}).pop(server, None)
            if attempt == 2:
                raise MailFailed(f"{server.shown()} closed the connection.", final=False) from None
            continue
        except smtplib.SMTPRecipientsRefused as exc:
            code, answer = next(iter(exc.recipients.values()))
            raise MailFailed(_said(code, answer), final=code >= 500) from None
        except smtplib.SMTPResponseException as exc:
            _reset(server)
            raise MailFailed(
                _said(exc.smtp_code, exc.smtp_error), final=exc.smtp_code >= 500
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _local.__dict__.get("smtp", {}).pop(server, None)
            raise MailFailed(f"{server.shown()}: {exc}", final=False) from None
        if refused:
            code, answer = next(iter(refused.values()))
            raise MailFailed(_said(code, answer), final=code >= 500)
        return "250 accepted"
    raise MailFailed(f"{server.shown()} closed the connection.", final=False)


def _reset(server: MailServer) -> None:
    client = _local.__dict__.get("smtp", {}).get(server)
    if client is None:
        return
    try:
        client.rset()
    except (smtplib.SMTPException, OSError):
        _local.__dict__["smtp"].pop(server, None)


def _said(code: int, answer: bytes | str) -> str:
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return f"The mail server answered {code} {text}"
