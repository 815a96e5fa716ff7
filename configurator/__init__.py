"""configurator: organisers bound the options, attendees design their experience, staff export."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .db import is_postgres
from .errors import ConfiguratorError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the whole app: configuration, database, security, blueprints."""
    app = Flask(
        __name__,
        instance_path=os.environ.get("CONFIGURATOR_INSTANCE", str(PROJECT_ROOT / "instance")),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.from_mapping(
        # A SQLite file (the default), or a PostgreSQL URL for several servers: docs/deploy.md.
        DATABASE=os.environ.get("CONFIGURATOR_DATABASE_URL")
        or os.environ.get("CONFIGURATOR_DB", str(Path(app.instance_path) / "configurator.db")),
        FILES=os.environ.get("CONFIGURATOR_FILES", str(Path(app.instance_path) / "files")),
        PROXY_HOPS=int(os.environ.get("CONFIGURATOR_PROXY_HOPS", "0") or 0),
        HTMX_JS=str(PROJECT_ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"),
        MAX_CONTENT_LENGTH=12 * 1024 * 1024,
        MAX_DESIGN_BYTES=256 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        WTF_CSRF_HEADERS=["X-CSRFToken"],
        PUBLIC_URL=os.environ.get("CONFIGURATOR_PUBLIC_URL", ""),
        BABEL_TRANSLATION_DIRECTORIES=str(PROJECT_ROOT / "translations"),
    )
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)
    app.config["DATABASE"] = str(app.config["DATABASE"])
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ.get("CONFIGURATOR_SECRET_KEY") or _instance_secret(
            Path(app.instance_path), hosted=is_postgres(app.config["DATABASE"])
        )
    hops = app.config["PROXY_HOPS"]
    if hops:
        # Behind a balancer the client is in X-Forwarded-For: rate limits and links need it.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )

    from . import web
    from .delivery import config as delivery_config

    delivery_config.load()  # a bad mail URL or secrets file is refused here, naming the setting
    web.init_app(app)
    return app


def _instance_secret(instance: Path, hosted: bool) -> str:
    """A secret key kept in the instance folder, so sessions survive a restart.

    Several servers over one PostgreSQL must sign cookies with one key, so there a key of each
    server's own would break every session that moves between them: hosted mode refuses.
    """
    if hosted:
        raise ConfiguratorError(
            "CONFIGURATOR_SECRET_KEY is not set: every server of a PostgreSQL deployment must"
            " share one secret key (docs/deploy.md). Generate one with"
            " `python3 -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
