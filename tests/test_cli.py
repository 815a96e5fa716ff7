"""The configurator command: each command, and bad input exiting 2 with nothing written."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from configurator.cli import cli
from configurator.db import connect


@pytest.fixture
def run(tmp_path):
    runner = CliRunner()
    path = tmp_path / "cli.db"

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(cli, ["--db", str(path), *args], input=input)

    invoke.db_path = path
    return invoke


@pytest.fixture
def schema_file(tmp_path, example):
    path = tmp_path / "event.json"
    path.write_text(json.dumps(example))
    return path


def count(path, table):
    return connect(path).execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_init(run):
    result = run("init")
    assert result.exit_code == 0
    assert "Database ready" in result.output


def test_validate_ok(run, schema_file):
    result = run("event", "validate", str(schema_file))
    assert result.exit_code == 0
    assert "valid option schema for 'Commons Camp' (4 sections)" in result.output


def test_validate_lists_every_problem_and_exits_2(run, tmp_path, example):
    example["sections"][0]["min"] = 99
    example["sections"][2]["options"][0]["capacity"] = -5
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(example))
    result = run("event", "validate", str(bad))
    assert result.exit_code == 2
    assert "capacity must be a whole number of at least 1, got -5" in result.output
    assert 'sections[2] "Extras" > options[0] "Community dinner on Saturday"' in result.output


def test_validate_unreadable_json(run, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    result = run("event", "validate", str(bad))
    assert result.exit_code == 2
    assert "not valid JSON" in result.output


def test_create_publish_invite(run, schema_file):
    assert run("event", "create", str(schema_file)).exit_code == 0
    assert run("event", "create", str(schema_file)).exit_code == 2
    result = run("publish", "commons-camp")
    assert result.exit_code == 0 and "version 1" in result.output
    result = run("invite", "commons-camp", "--email", "ana@example.org", "--name", "Ana Lima")
    assert result.exit_code == 0
    header, row = result.output.strip().splitlines()
    assert header == "name,email,link"
    assert row.startswith("Ana Lima,ana@example.org,http://127.0.0.1:5000/a/")
    assert len(row.rsplit("/", 1)[1]) >= 22  # at least 128 bits of token


def test_invite_csv_all_or_nothing(run, schema_file, tmp_path):
    run("event", "create", str(schema_file))
    run("publish", "commons-camp")
    people = tmp_path / "people.csv"
    people.write_text("name,email\nAna,ana@example.org\nBen,not-an-email\n,carl@example.org\n")
    result = run("invite", "commons-camp", "--csv", str(people))
    assert result.exit_code == 2
    assert "line 3" in result.output and "line 4" in result.output
    assert count(run.db_path, "attendees") == 0
    people.write_text("name,email\nAna,ana@example.org\nBen,ben@example.org\n")
    result = run("invite", "commons-camp", "--csv", str(people))
    assert result.exit_code == 0
    assert count(run.db_path, "attendees") == 2


def test_unknown_event_exits_2(run):
    result = run("publish", "nope")
    assert result.exit_code == 2
    assert "There is no event called 'nope'" in result.output


def test_invite_needs_a_person(run, schema_file):
    run("event", "create", str(schema_file))
    result = run("invite", "commons-camp")
    assert result.exit_code == 2


def test_account_create(run):
    result = run(
        "account",
        "create",
        "--email",
        "o@example.org",
        "--name",
        "O",
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0
    result = run(
        "account",
        "create",
        "--email",
        "o@example.org",
        "--name",
        "O",
        input="a long password\na long password\n",
    )
    assert result.exit_code == 2


def test_demo_prints_login_and_links(run):
    result = run("demo", "--reset")
    assert result.exit_code == 0, result.output
    assert "organiser@example.org" in result.output
    links = [line.split()[-1] for line in result.output.splitlines() if "/a/" in line]
    assert len(links) == 4
    # Co-creation is on in the demo, with one proposal already supported.
    db = connect(run.db_path)
    row = db.execute("SELECT title, status FROM proposals").fetchone()
    assert tuple(row) == ("Bike repair for beginners", "open")
    assert count(run.db_path, "supports") == 1
    result = run("demo")
    assert result.exit_code == 2  # already there, and nothing is duplicated
    assert count(run.db_path, "events") == 1


def test_demo_links_open_a_page_naming_the_event(run, tmp_path, monkeypatch):
    result = run("demo", "--reset")
    link = next(line.split()[-1] for line in result.output.splitlines() if "/a/" in line)
    from configurator import create_app

    app = create_app({"TESTING": True, "DATABASE": str(run.db_path), "SECRET_KEY": "x"})
    client = app.test_client()
    response = client.get(link.replace("http://127.0.0.1:5000", ""), follow_redirects=True)
    assert response.status_code == 200
    assert "Commons Camp" in response.get_data(as_text=True)
    assert "/a/" not in response.request.path


def test_import_sessions_bad_file_exits_2(run, schema_file, tmp_path):
    run("event", "create", str(schema_file))
    bad = tmp_path / "bad.xml"
    bad.write_text("<schedule><day")
    result = run("import-sessions", "commons-camp", str(bad))
    assert result.exit_code == 2


def test_import_31c3_then_reimport_changes_nothing(run, schema_file):
    from conftest import shared_file

    xml = shared_file("31c3.xml")
    run("event", "create", str(schema_file))
    result = run("import-sessions", "commons-camp", str(xml))
    assert result.exit_code == 0, result.output
    assert "138 added, 0 updated, 0 unchanged, 4 rooms added" in result.output
    draft = connect(run.db_path).execute("SELECT draft FROM event_drafts").fetchone()[0]
    result = run("import-sessions", "commons-camp", str(xml))
    assert "0 added, 0 updated, 138 unchanged, 0 rooms added" in result.output
    assert connect(run.db_path).execute("SELECT draft FROM event_drafts").fetchone()[0] == draft
    result = run("publish", "commons-camp")
    assert result.exit_code == 0, result.output


def test_backup_then_restore_brings_back_what_was_there(run, schema_file, tmp_path):
    assert run("event", "create", str(schema_file)).exit_code == 0
    run("publish", "commons-camp")
    run("invite", "commons-camp", "--email", "ana@example.org", "--name", "Ana")
    copy = tmp_path / "backups" / "camp.db"
    result = run("backup", str(copy))
    assert result.exit_code == 0, result.output
    assert "events 1, attendees 1" in result.output
    assert run("backup", str(copy)).exit_code == 2  # never overwrites
    run("invite", "commons-camp", "--email", "bo@example.org", "--name", "Bo")
    assert count(run.db_path, "attendees") == 2
    assert run("restore", str(copy), input="n\n").exit_code == 1  # asked, and said no
    assert count(run.db_path, "attendees") == 2
    result = run("restore", str(copy), "--yes")
    assert result.exit_code == 0, result.output
    assert count(run.db_path, "attendees") == 1


def test_restore_refuses_a_file_that_is_not_a_backup_and_changes_nothing(run, tmp_path):
    run("init")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database at all")
    result = run("restore", str(junk), "--yes")
    assert result.exit_code == 2
    assert "is not a SQLite database" in result.output
    assert count(run.db_path, "migrations") > 0
