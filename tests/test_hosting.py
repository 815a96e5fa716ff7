"""Hosted mode: what several servers over one PostgreSQL need, and what each must refuse."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from docsupport import code_blocks

from configurator import create_app, events, limits, migrations, postgres
from configurator.cli import cli
from configurator.db import connect, write
from configurator.errors import ConfiguratorError


def test_healthz_says_the_database_answers_and_its_schema_is_current(client, db):
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json["status"] == "ok"
    assert answer.json["detail"] == f"{db.dialect}, schema step {len(migrations.STEPS)}"
    assert "no-store" in answer.headers["Cache-Control"]
    assert "Set-Cookie" not in answer.headers


def test_healthz_is_503_when_the_schema_is_behind(client, db):
    assert client.get("/healthz").status_code == 200  # the server is up, then the code moves on
    with write(db):
        db.execute("DELETE FROM migrations WHERE step = ?", [len(migrations.STEPS)])
    answer = client.get("/healthz")
    assert answer.status_code == 503 and answer.json["status"] == "schema behind"
    assert "configurator init" in answer.json["detail"]


def test_a_postgresql_server_refuses_to_start_without_a_shared_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("CONFIGURATOR_SECRET_KEY", raising=False)
    monkeypatch.setenv("CONFIGURATOR_INSTANCE", str(tmp_path))
    with pytest.raises(ConfiguratorError, match="CONFIGURATOR_SECRET_KEY is not set"):
        create_app({"DATABASE": "postgresql://nobody@127.0.0.1:1/none"})
    # `configurator serve` says so and exits 2, before it listens anywhere.
    result = CliRunner().invoke(
        cli, ["--db", "postgresql://nobody@127.0.0.1:1/none", "serve", "--port", "1"]
    )
    assert result.exit_code == 2 and "CONFIGURATOR_SECRET_KEY is not set" in result.output
    # SQLite keeps its own key in the instance folder, as before.
    app = create_app({"DATABASE": str(tmp_path / "one.db")})
    assert app.config["SECRET_KEY"] == (tmp_path / "secret_key").read_text().strip()


def test_behind_a_balancer_the_client_address_is_the_forwarded_one(db_path, db):
    app = create_app(
        {"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "s", "PROXY_HOPS": 1}
    )
    seen = []
    app.add_url_rule("/whoami", "whoami", lambda: seen.append(__import__("flask").request.remote_addr) or "")
    app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    app.test_client().get(
        "/whoami", headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.10"}
    )
    assert seen == ["203.0.113.9", "203.0.113.10"]  # one trusted hop: the balancer's own entry
    plain = create_app({"TESTING": True, "DATABASE": str(db_path), "SECRET_KEY": "s"})
    plain.add_url_rule("/whoami", "whoami", lambda: seen.append(__import__("flask").request.remote_addr) or "")
    plain.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert seen[-1] == "127.0.0.1"  # without hops configured the header is not believed


def test_attempts_are_counted_in_the_database_every_server_shares(db_path, db):
    other = connect(db_path)  # another server's connection to the same database
    with write(db):
        limits.record(db, "register|203.0.113.9")
    with pytest.raises(Exception, match="Too many"):
        limits.check(other, "register|203.0.113.9", 1, 60, "Too many attempts")
    other.close()


DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy.md"


def test_every_setting_the_code_reads_is_on_the_deploy_page():
    source = " ".join(p.read_text() for p in (DEPLOY.parent.parent / "configurator").rglob("*.py"))
    settings = set(re.findall(r"CONFIGURATOR_[A-Z_]+", source))
    table = DEPLOY.read_text().split("## Every setting", 1)[1].split("\n## ", 1)[0]
    assert {"CONFIGURATOR_DATABASE_URL", "CONFIGURATOR_SECRET_KEY"} <= settings
    assert sorted(s for s in settings if f"| `{s}` |" not in table) == []


@pytest.mark.postgresql
def test_the_deploy_pages_copy_dump_and_restore_run(sqlite_file, db_path, tmp_path, monkeypatch):
    """docs/deploy.md's copy-to, pg_dump and pg_restore lines, on this run's server."""
    from psycopg.conninfo import conninfo_to_dict
    from test_copy_to import filled

    made = filled(sqlite_file)
    lines = [
        line.removeprefix("$ ")
        for info, body in code_blocks(DEPLOY)
        if info in ("console", "sh")
        for line in body.splitlines()
        if line.startswith(("$ configurator --db", "pg_dump", "pg_restore"))
        or (line.startswith("createdb") and "configurator_restored" in line)
    ]
    assert [line.split()[0] for line in lines] == ["configurator", "pg_dump", "createdb", "pg_restore"]
    parts = conninfo_to_dict(db_path)
    monkeypatch.setenv("PGHOST", parts["host"])
    monkeypatch.setenv("PGPORT", str(parts["port"]))
    monkeypatch.setenv("PGUSER", parts["user"])
    restored = parts["dbname"] + "_restored"
    restored_url = db_path.rsplit("/", 1)[0] + "/" + restored
    dump = str(tmp_path / "camp.dump")
    swaps = {
        "instance/configurator.db": str(sqlite_file),
        "postgresql://configurator@localhost/configurator_restored": restored_url,
        "postgresql://configurator@localhost/configurator": db_path,
        '"$CONFIGURATOR_DATABASE_URL"': db_path,
        "configurator-$(date +%F).dump": dump,
        "configurator-2026-12-02.dump": dump,
        "configurator_restored": restored,
    }
    try:
        for line in lines:
            for old, new in swaps.items():
                line = line.replace(old, new)
            words = shlex.split(line)
            if words[0] == "configurator":
                result = CliRunner().invoke(cli, words[1:])
                assert result.exit_code == 0, result.output
            else:
                subprocess.run(words, check=True, capture_output=True)
        copy = connect(restored_url)
        assert events.get_event(copy, made["event"]["slug"])["title"] == made["event"]["title"]
        assert copy.execute("SELECT count(*) FROM designs").fetchone()[0] == 1
        copy.close()
    finally:
        postgres.close_pool(restored_url)
        subprocess.run(["dropdb", "--if-exists", "--force", restored], check=False)
