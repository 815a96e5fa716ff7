"""The server's delivery configuration: the mail server, the channel secrets, the public address.

It comes from the environment, never from an event's schema: `CONFIGURATOR_MAIL_URL` (smtp://,
smtps:// or smtp+starttls://, with user and password), `CONFIGURATOR_MAIL_FROM`,
`CONFIGURATOR_PUBLIC_URL`, and `CONFIGURATOR_CHANNEL_SECRETS`, a TOML file of named secrets that
organisers' Apprise URL templates name as {secret:NAME} (default: the instance folder's
channel-secrets.toml). A bad value is refused when the server or worker starts, naming it.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from ..errors import ConfiguratorError

MAIL_SCHEMES = {"smtp": 25, "smtps": 465, "smtp+starttls": 587}
DEFAULT_PUBLIC_URL = "http://127.0.0.1:5000"
DEFAULT_FROM = "configurator@localhost"
NAME_PATTERN = r"[A-Za-z0-9_.-]{1,64}"


class ConfigInvalid(ConfiguratorError):
    """A delivery setting of the server cannot be used."""

    status = 500


@dataclass(frozen=True)
class MailServer:
    """Where email goes: host, port, how the connection is secured, and who signs in."""

    scheme: str
    host: str
    port: int
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    def shown(self) -> str:
        """The URL with its password hidden, for pages and logs."""
        who = f"{self.user}:***@" if self.user else ""
        return f"{self.scheme}://{who}{self.host}:{self.port}"


@dataclass(frozen=True)
class Config:
    """Everything delivery needs from the server, read once from the environment."""

    mail: MailServer | None
    sender: str
    public_url: str
    secrets: dict[str, str] = field(repr=False)
    secrets_file: str


def parse_mail_url(text: str, name: str = "CONFIGURATOR_MAIL_URL") -> MailServer:
    """A mail server from its URL, or ConfigInvalid naming the setting and what is wrong."""
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError as exc:
        raise _invalid(name, f"{text!r} is not a URL ({exc}).") from None
    if parts.scheme not in MAIL_SCHEMES:
        raise _invalid(
            name,
            f"{text!r} must start with smtp://, smtps:// or smtp+starttls://"
            " (for example smtp://127.0.0.1:8025 or smtps://user:password@mail.example.org:465).",
        )
    if not parts.hostname:
        raise _invalid(name, f"{text!r} names no host (for example smtp://127.0.0.1:8025).")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _invalid(name, f"{text!r} may only have a user, a password, a host and a port.")
    return MailServer(
        parts.scheme,
        parts.hostname,
        port or MAIL_SCHEMES[parts.scheme],
        unquote(parts.username) if parts.username else None,
        unquote(parts.password) if parts.password is not None else None,
    )


def read_secrets(path: Path) -> dict[str, str]:
    """The named secrets of a TOML file ([secrets] name = "value"); none when there is no file."""
    if not path.is_file():
        return {}
    name = "CONFIGURATOR_CHANNEL_SECRETS"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _invalid(name, f"{path} is not TOML: {exc}.") from None
    table = data.get("secrets", {})
    if not isinstance(table, dict) or set(data) - {"secrets"}:
        raise _invalid(name, f'{path} may only have a [secrets] table of name = "value" lines.')
    bad = [
        k for k, v in table.items() if not isinstance(v, str) or not re.fullmatch(NAME_PATTERN, k)
    ]
    if bad:
        raise _invalid(
            name,
            f"{path}: secrets.{bad[0]} must be text, named with letters, digits, _ . or -.",
        )
    return dict(table)


def load(environ: os._Environ[str] | dict[str, str] | None = None) -> Config:
    """The delivery configuration from the environment; ConfigInvalid names a bad setting."""
    env = os.environ if environ is None else environ
    mail_url = env.get("CONFIGURATOR_MAIL_URL", "").strip()
    secrets_file = secrets_path(env)
    sender = env.get("CONFIGURATOR_MAIL_FROM", "").strip() or DEFAULT_FROM
    if "@" not in sender or any(c in sender for c in '<>\r\n"') or " " in sender:
        raise _invalid(
            "CONFIGURATOR_MAIL_FROM",
            f"{sender!r} is not a plain address such as events@example.org.",
        )
    public = env.get("CONFIGURATOR_PUBLIC_URL", "").strip() or DEFAULT_PUBLIC_URL
    if urlsplit(public).scheme not in ("http", "https") or not urlsplit(public).hostname:
        raise _invalid("CONFIGURATOR_PUBLIC_URL", f"{public!r} is not an http(s) address.")
    return Config(
        parse_mail_url(mail_url) if mail_url else None,
        sender,
        public.rstrip("/"),
        read_secrets(secrets_file),
        str(secrets_file),
    )


KEYS = (
    "CONFIGURATOR_MAIL_URL",
    "CONFIGURATOR_MAIL_FROM",
    "CONFIGURATOR_PUBLIC_URL",
    "CONFIGURATOR_CHANNEL_SECRETS",
    "CONFIGURATOR_INSTANCE",
)
_cache: dict[tuple[object, ...], Config] = {}


def current() -> Config:
    """The configuration now in force, read again when the environment or secrets file changes."""
    path = secrets_path(os.environ)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = 0
    seen = (*(os.environ.get(k, "") for k in KEYS), mtime)
    config = _cache.get(seen)
    if config is None:
        config = load()
        _cache.clear()
        _cache[seen] = config
    return config


def secrets_path(env: os._Environ[str] | dict[str, str]) -> Path:
    """Where the channel secrets are read from."""
    instance = Path(env.get("CONFIGURATOR_INSTANCE") or Path(__file__).parents[2] / "instance")
    return Path(env.get("CONFIGURATOR_CHANNEL_SECRETS") or instance / "channel-secrets.toml")


def _invalid(name: str, message: str) -> ConfigInvalid:
    return ConfigInvalid(f"{name}: {message}")
