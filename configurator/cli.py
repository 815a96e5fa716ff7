"""The `configurator` command: a thin click layer over the same domain functions as the web."""

from __future__ import annotations

import csv
import functools
import os
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from . import PROJECT_ROOT, accounts, events, invitations, optionschema
from . import demo as demo_event
from .db import Database, connect, is_postgres, migrate
from .errors import ConfiguratorError

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def default_db_path() -> str:
    """The database the commands use unless --db says otherwise: a PostgreSQL URL or a file."""
    return os.environ.get("CONFIGURATOR_DATABASE_URL") or os.environ.get(
        "CONFIGURATOR_DB", str(PROJECT_ROOT / "instance" / "configurator.db")
    )


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a domain error into its message list on stderr and exit status 2."""

    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfiguratorError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapped


@click.group()
@click.option(
    "--db",
    "db_path",
    default=None,
    help="SQLite database file, or a postgresql:// URL (default: $CONFIGURATOR_DATABASE_URL,"
    " else $CONFIGURATOR_DB, else instance/configurator.db).",
)
@click.option("--database-url", default=None, help="A postgresql:// URL (the same as --db URL).")
@click.pass_context
def cli(ctx: click.Context, db_path: str | None, database_url: str | None) -> None:
    """Experience configurator: option schemas, attendee designs, exports."""
    ctx.obj = {"db_path": database_url or db_path or default_db_path()}


def open_db(ctx: click.Context) -> Database:
    """The database named by --db: a SQLite file is created and migrated if needed."""
    return connect(ctx.obj["db_path"])


def shown(target: str) -> str:
    """A database setting as it may be printed: a URL without its password."""
    if not is_postgres(target):
        return target
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(target)
    where = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}/{parts.get('dbname', '')}"
    return f"postgresql://{parts['user']}@{where}" if parts.get("user") else f"postgresql://{where}"


def read_schema_file(path: str) -> dict[str, Any]:
    """Read and check an option-schema file."""
    data = Path(path).read_bytes()
    return optionschema.check(optionschema.parse(data, path))


@cli.command()
@click.pass_context
@handles_errors
def init(ctx: click.Context) -> None:
    """Create or migrate the database (on PostgreSQL, once, however many servers run it)."""
    ran = migrate(ctx.obj["db_path"])
    click.echo(f"Database ready: {shown(ctx.obj['db_path'])} ({ran} schema step(s) applied).")


@cli.group()
def event() -> None:
    """Create and check events from option-schema files."""


@event.command("validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@handles_errors
def event_validate(file: str) -> None:
    """Check an option-schema file and list every problem."""
    doc = read_schema_file(file)
    sections = len(doc["sections"])
    click.echo(
        f"{file}: valid option schema for {doc['event']['title']!r} "
        f"({sections} section{'s' if sections != 1 else ''})."
    )


@event.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--owner", help="Email of the organiser account that owns the event.")
@click.pass_context
@handles_errors
def event_create(ctx: click.Context, file: str, owner: str | None) -> None:
    """Create an event whose draft is the option schema in FILE."""
    doc = read_schema_file(file)
    db = open_db(ctx)
    owner_id = _account_id(db, owner) if owner else None
    created = events.create_event(db, doc, owner_id)
    click.echo(f"Created event {created['slug']!r} (draft; publish it to let attendees design).")


def _account_id(db: Database, email: str) -> int:
    row = db.execute("SELECT id FROM accounts WHERE email = ?", [email]).fetchone()
    if row is None:
        raise ConfiguratorError(f"There is no account for {email}.")
    return row[0]


@cli.command("import-sessions")
@click.argument("slug")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--section", "section_id", help="The sessions section to import into (default: the first)."
)
@click.option(
    "--capacities", type=click.Path(exists=True, dir_okay=False), help="A CSV of room,capacity."
)
@click.option("--timezone", help="Time zone for CSV times written without an offset.")
@click.pass_context
@handles_errors
def import_sessions(
    ctx: click.Context,
    slug: str,
    file: str,
    section_id: str | None,
    capacities: str | None,
    timezone: str | None,
) -> None:
    """Import sessions (frab XML, CSV or JSON) into the event's draft."""
    from . import imports

    db = open_db(ctx)
    current = events.get_event(db, slug)
    doc = events.draft(current)
    section = _sessions_section(doc, section_id)
    schedule = imports.read(file, timezone=timezone or doc["event"]["timezone"])
    rooms = imports.parse_room_capacities(Path(capacities).read_text()) if capacities else None
    report = imports.merge_into_section(section, schedule, rooms)
    imports.widen_event_days(doc, schedule)
    events.save_draft(db, slug, doc)
    click.echo(
        f"Imported into {section['title']!r}: {report.added} added, {report.updated} "
        f"updated, {report.unchanged} unchanged, {report.rooms_added} rooms added."
    )


def _sessions_section(doc: dict[str, Any], section_id: str | None) -> dict[str, Any]:
    for section in doc["sections"]:
        if section["kind"] == "sessions" and section_id in (None, section["id"]):
            return section
    raise ConfiguratorError(
        f"The draft has no sessions section {section_id!r}."
        if section_id
        else "The draft has no sessions section to import into; add one first."
    )


@cli.command()
@click.argument("slug")
@click.pass_context
@handles_errors
def publish(ctx: click.Context, slug: str) -> None:
    """Freeze the event's draft as its next immutable version."""
    number = events.publish(open_db(ctx), slug)
    click.echo(f"Published {slug!r} as version {number}.")


@cli.command()
@click.argument("slug")
@click.option("--email", help="The attendee's email address.")
@click.option("--name", help="The attendee's name.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A CSV with name and email columns, to invite many.",
)
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True)
@click.option(
    "--send",
    is_flag=True,
    help="Email each attendee their link (through configurator worker) instead of printing it.",
)
@click.pass_context
@handles_errors
def invite(
    ctx: click.Context,
    slug: str,
    email: str | None,
    name: str | None,
    csv_file: str | None,
    base_url: str,
    send: bool,
) -> None:
    """Invite attendees and print their personal links (name, email, link as CSV), or --send them."""
    db = open_db(ctx)
    current = events.get_event(db, slug)
    if csv_file:
        people = invitations.read_people_csv(Path(csv_file).read_text(encoding="utf-8-sig"))
    elif email and name:
        people = [(name, email)]
    else:
        raise ConfiguratorError("Give --email and --name, or --csv FILE.")
    if send:
        from .delivery import links

        sent = links.invite_people_and_send(db, current, people, base_url)
        click.echo(
            f"{len(sent)} invitation(s) queued; `configurator worker` sends them"
            " (CONFIGURATOR_MAIL_URL names the mail server)."
        )
        return
    issued = invitations.invite_people(db, current["id"], people)
    out = csv.writer(sys.stdout)
    out.writerow(["name", "email", "link"])
    for inv in issued:
        out.writerow(
            [inv.attendee["name"], inv.attendee["email"], f"{base_url.rstrip('/')}/a/{inv.token}"]
        )


@cli.group()
def account() -> None:
    """Organiser and staff accounts."""


@account.command("create")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--event", "slug", help="Give this account a role on an event.")
@click.option("--role", type=click.Choice(["organiser", "staff"]), default="organiser")
@click.pass_context
@handles_errors
def account_create(
    ctx: click.Context, email: str, name: str, password: str, slug: str | None, role: str
) -> None:
    """Create an organiser or staff account."""
    db = open_db(ctx)
    account_id = accounts.create_account(db, email, name, password)
    if slug:
        accounts.grant(db, events.get_event(db, slug)["id"], account_id, role)
    click.echo(f"Created account {email}" + (f" ({role} of {slug})" if slug else "") + ".")


@cli.command()
@click.option("--reset", is_flag=True, help="Delete the database first.")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True)
@click.pass_context
@handles_errors
def demo(ctx: click.Context, reset: bool, base_url: str) -> None:
    """Create a published demo un-conference with an organiser and invited attendees."""
    target = ctx.obj["db_path"]
    if reset and is_postgres(target):
        raise ConfiguratorError("--reset deletes a SQLite file; on PostgreSQL drop the database.")
    if reset:
        for suffix in ("", "-wal", "-shm"):
            Path(target + suffix).unlink(missing_ok=True)
    made = demo_event.create(open_db(ctx), date.today(), base_url)
    base = base_url.rstrip("/")
    click.echo(f"Demo event: {made.title} ({made.slug}), version 1 published.")
    click.echo(f"Database: {shown(target)}")
    click.echo("")
    click.echo(f"Organiser sign-in: {base}/login")
    click.echo(f"  email: {demo_event.ORGANISER}   password: {made.password}")
    click.echo(f"  staff (read-only): {demo_event.STAFF}   password: {made.password}-staff")
    click.echo("")
    click.echo("Attendee links (each opens that person's designer):")
    for inv in made.links:
        click.echo(f"  {inv.attendee['name']:<14} {base}/a/{inv.token}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.pass_context
@handles_errors
def serve(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Serve the app with waitress, a production WSGI server."""
    from waitress import serve as waitress_serve

    from . import create_app

    target = ctx.obj["db_path"]
    os.environ["CONFIGURATOR_DATABASE_URL" if is_postgres(target) else "CONFIGURATOR_DB"] = target
    app = create_app()
    if is_postgres(target):
        connect(target).close()  # refuse to serve a database `configurator init` has not migrated
    click.echo(f"Serving on http://{host}:{port}  (database {shown(target)}; Ctrl-C stops)")
    waitress_serve(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="configurator",
        max_request_body_size=app.config["MAX_CONTENT_LENGTH"],
    )


@cli.command("worker")
@click.option("--once", is_flag=True, help="Run what is due now, then exit.")
@click.option("--batch", default=50, show_default=True, help="Jobs claimed at a time.")
@click.option("--poll", default=1.0, show_default=True, help="Seconds between looks for work.")
@click.option(
    "--lease",
    default=300,
    show_default=True,
    type=click.IntRange(1, 86400),
    help="Seconds a claimed job is this worker's; after that a dead worker's jobs go to another.",
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Jobs run at once, each by its own sender (a crash may repeat one job per sender).",
)
@click.pass_context
@handles_errors
def worker_command(
    ctx: click.Context, once: bool, batch: int, poll: float, lease: int, concurrency: int
) -> None:
    """Run background jobs from the job table (deliveries, prepared exports, webhooks)."""
    import signal
    import threading

    from . import worker
    from .delivery import config, mail

    db = open_db(ctx)
    delivery = config.load()  # refuse a bad mail URL or secrets file before any work
    if once:
        try:
            ran = worker.drain(
                db, batch=batch, lease=timedelta(seconds=lease), concurrency=concurrency
            )
            click.echo(f"Ran {ran} job(s).")
        finally:
            mail.close()
        return
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    mail_to = delivery.mail.shown() if delivery.mail else "no mail server (CONFIGURATOR_MAIL_URL)"
    click.echo(
        f"Worker {worker.worker_name()} on {shown(ctx.obj['db_path'])}, mail to {mail_to}; Ctrl-C stops."
    )
    worker.run(
        db, stop, batch=batch, poll=poll, lease=timedelta(seconds=lease), concurrency=concurrency
    )


@cli.command("mailsink")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8025, show_default=True, type=int)
@click.option(
    "--maildir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep every message as a file in this Maildir folder (default: only count them).",
)
def mailsink_command(host: str, port: int, maildir: str | None) -> None:
    """Run a local SMTP server that keeps what arrives (for the demo and trying things out)."""
    import signal
    import threading

    from .delivery import mailsink

    sink = mailsink.start(host, port, Path(maildir) if maildir else None, keep=False)
    where = f"kept in {maildir}/new/" if maildir else "counted, not kept"
    click.echo(f"Mail sink on {sink.url} (CONFIGURATOR_MAIL_URL={sink.url}); mail {where}.")
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    stop.wait()
    sink.stop()
    click.echo(f"Mail sink stopped after {sink.keeper.count:,} message(s).")


@cli.command("backup")
@click.argument("target", type=click.Path(dir_okay=False))
@click.pass_context
@handles_errors
def backup_command(ctx: click.Context, target: str) -> None:
    """Copy the database to TARGET, consistently, while the server keeps taking writes."""
    from . import backup

    _sqlite_only(ctx, "backup")
    counts = backup.backup(ctx.obj["db_path"], target)
    click.echo(f"Backed up to {target}: " + _counted(counts))


@cli.command("restore")
@click.argument("source", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@click.pass_context
@handles_errors
def restore_command(ctx: click.Context, source: str, yes: bool) -> None:
    """Replace the database with the backup SOURCE (checked before anything is replaced)."""
    from . import backup

    _sqlite_only(ctx, "restore")
    backup.verify(source)
    if not yes:
        click.confirm(
            f"Replace everything in {ctx.obj['db_path']} with {source}?", abort=True, err=True
        )
    counts = backup.restore(source, ctx.obj["db_path"])
    click.echo(f"Restored {ctx.obj['db_path']} from {source}: " + _counted(counts))


@cli.command("copy-to")
@click.argument("url")
@click.pass_context
@handles_errors
def copy_to_command(ctx: click.Context, url: str) -> None:
    """Copy the SQLite database (--db) into the empty PostgreSQL database at URL, checked row by row."""
    from .copy_to import copy_to

    if not is_postgres(url):
        raise ConfiguratorError("Give the PostgreSQL database as a postgresql:// URL.")
    _sqlite_only(ctx, "copy-to")
    counts = copy_to(ctx.obj["db_path"], url)
    click.echo(f"Copied {ctx.obj['db_path']} into {shown(url)}, every row checked: " + _counted(counts))


def _sqlite_only(ctx: click.Context, what: str) -> None:
    if is_postgres(ctx.obj["db_path"]):
        raise ConfiguratorError(
            f"`configurator {what}` copies a SQLite file. For PostgreSQL use pg_dump and"
            " pg_restore, as docs/deploy.md shows."
        )


def _counted(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {count:,}" for table, count in counts.items()) + "."


@cli.command("export")
@click.argument("slug")
@click.option(
    "--format",
    "fmt",
    required=True,
    type=click.Choice(["csv-wide", "csv-long", "xlsx", "json", "roster", "channels", "ics-zip"]),
    help="What to export (see docs/staff.md).",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="File to write (default: stdout)."
)
@click.option("--section", help="Rosters and channel lists: only this section.")
@click.option("--option", "option_id", help="Rosters and channel lists: only this option.")
@click.pass_context
@handles_errors
def export(
    ctx: click.Context,
    slug: str,
    fmt: str,
    output: str | None,
    section: str | None,
    option_id: str | None,
) -> None:
    """Export the event's designs, streamed; a progress bar shows on stderr when writing a file."""
    from . import exports

    db = open_db(ctx)
    current = events.get_event(db, slug)
    schema = events.compiled(db, current["id"])
    if output is None:
        prepared = exports.download(db, current, schema, fmt, section=section, option=option_id)
        for chunk in prepared.chunks:
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    with click.progressbar(length=1, label=f"Exporting {fmt}", file=sys.stderr) as bar:
        prepared = exports.download(
            db, current, schema, fmt, section=section, option=option_id, progress=bar.update
        )
        bar.length = max(prepared.steps, 1)
        written = 0
        with open(output, "wb") as file:
            for chunk in prepared.chunks:
                written += file.write(chunk)
    click.echo(f"Wrote {output} ({written:,} bytes).", err=True)
