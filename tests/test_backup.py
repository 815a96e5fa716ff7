"""Backups taken while the server keeps taking writes restore to a consistent database."""

from __future__ import annotations

import json
import shlex
import threading

import pytest

from configurator import attendees, backup, designs, events
from configurator.db import connect


def test_backup_under_load_restores_consistently(sqlite_file, tmp_path, example):
    db = connect(sqlite_file)
    event = events.create_event(db, example)
    events.publish(db, "commons-camp")
    people = [
        attendees.invite(db, event["id"], f"P{i}", f"p{i}@example.org").attendee for i in range(30)
    ]
    stop = threading.Event()
    saved = []

    def keep_saving() -> None:
        own = connect(sqlite_file)
        picks = ["opening", "maps", "closing", "datasets", "day2-opening"]
        i = 0
        while not stop.is_set():
            person = people[i % len(people)]
            chosen = {s: {"format": "in_person"} for s in picks[: 1 + i % len(picks)]}
            designs.save_design(own, person, {"agenda": chosen})
            saved.append(i)
            i += 1

    writer = threading.Thread(target=keep_saving)
    writer.start()
    try:
        while len(saved) < 20:
            stop.wait(0.01)
        target = tmp_path / "backup.db"
        counts = backup.backup(sqlite_file, target)
        while len(saved) < 40:
            stop.wait(0.01)
    finally:
        stop.set()
        writer.join()
    assert counts["designs"] > 0
    restored = tmp_path / "restored.db"
    backup.restore(target, restored)
    copy = connect(restored)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # No design is half-written: each one's picks match its document exactly.
    for row in copy.execute("SELECT attendee_id, document FROM designs"):
        document = json.loads(row["document"])
        picked = {
            (r[0], r[1])
            for r in copy.execute(
                "SELECT section_id, option_id FROM picks WHERE attendee_id = ?", [row[0]]
            )
        }
        assert picked == {(s, o) for s, v in document.items() for o in v}
    live = connect(sqlite_file).execute("SELECT count(*) FROM design_history").fetchone()[0]
    assert copy.execute("SELECT count(*) FROM design_history").fetchone()[0] <= live


def test_backup_refuses_to_overwrite(sqlite_file, tmp_path):
    connect(sqlite_file)
    target = tmp_path / "b.db"
    backup.backup(sqlite_file, target)
    with pytest.raises(backup.BackupFailed):
        backup.backup(sqlite_file, target)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path, sqlite_file):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(backup.BackupFailed):
        backup.restore(bogus, sqlite_file)


def test_the_reliability_pages_backup_examples_run(tmp_path, monkeypatch):
    """docs/reliability.md's console lines run in order, in a scratch folder."""
    from click.testing import CliRunner
    from docsupport import ROOT, code_blocks

    from configurator.cli import cli

    monkeypatch.chdir(tmp_path)
    ran = []
    for _info, body in code_blocks(ROOT / "docs" / "reliability.md", "console"):
        for line in body.splitlines():
            args = shlex.split(line.removeprefix("$ configurator "))
            result = CliRunner().invoke(cli, ["--db", str(tmp_path / "live.db"), *args])
            assert result.exit_code == 0, f"{line}\n{result.output}"
            ran.append(args[0])
    assert ran == ["init", "backup", "restore"]
    assert backup.verify(tmp_path / "backups" / "camp-before-publish.db")["events"] == 0
