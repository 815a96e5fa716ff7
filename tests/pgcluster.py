"""A throwaway PostgreSQL for the tests: Debian's server binaries, a cluster in a temporary folder.

`CONFIGURATOR_TEST_POSTGRES_URL` names a running server to use instead (an admin URL, such as
postgresql://postgres@127.0.0.1:56001/postgres). Each test gets its own database, copied from a
template that was migrated once per run.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from configurator import postgres


def server_binaries() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian puts it under /usr/lib/postgresql)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and the server refuse to run as root: CI is root, so they run as Debian's postgres.
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@dataclass
class Cluster:
    """A running server: its admin URL, and how to stop it (only if this run started it)."""

    url: str
    folder: Path | None = None
    binaries: Path | None = None

    def stop(self) -> None:
        """Stop the server and remove its folder, when this run started it."""
        if self.folder is None or self.binaries is None:
            return
        subprocess.run(
            _as_postgres([str(self.binaries / "pg_ctl"), "-D", str(self.folder / "d"), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def start(durable: bool = False) -> Cluster:
    """The server named by CONFIGURATOR_TEST_POSTGRES_URL, or a new cluster on a free port.

    A test cluster skips the flushes to disk (nothing in it must survive a power cut); a
    durable one (benchmarks) flushes every commit, as production does.
    """
    given = os.environ.get("CONFIGURATOR_TEST_POSTGRES_URL")
    if given:
        return Cluster(given)
    binaries = server_binaries()
    if binaries is None:
        raise RuntimeError(
            "PostgreSQL is not installed: `./run test` installs Debian's postgresql package"
            " (or set CONFIGURATOR_TEST_POSTGRES_URL to a server of your own)"
        )
    folder = Path(tempfile.mkdtemp(prefix="configurator-pg-"))
    folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    run = _as_postgres
    subprocess.run(
        run([str(binaries / "initdb"), "-D", str(folder / "d"), "-A", "trust", "-E", "UTF8", "--locale=C", "-U", "postgres"]),
        check=True,
        capture_output=True,
    )
    port = free_port()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=400"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(
        run([str(binaries / "pg_ctl"), "-D", str(folder / "d"), "-l", str(folder / "log"), "-w", "-o", options, "start"]),
        check=True,
        capture_output=True,
    )
    return Cluster(f"postgresql://postgres@127.0.0.1:{port}/postgres", folder, binaries)


def database_url(admin_url: str, name: str) -> str:
    """The URL of another database on the same server."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@dataclass
class Databases:
    """Per-test databases made from one migrated template."""

    cluster: Cluster
    template: str = field(default_factory=lambda: f"configurator_template_{os.getpid()}")
    _numbers: itertools.count = field(default_factory=itertools.count)
    made: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}"')
            conn.execute(
                f"CREATE DATABASE \"{self.template}\" TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'"
            )
        postgres.migrate(database_url(self.cluster.url, self.template))

    def admin(self) -> psycopg.Connection:
        """A connection to the server's postgres database, outside any transaction."""
        return psycopg.connect(self.cluster.url, autocommit=True)

    def new(self) -> str:
        """A fresh, migrated, empty database; its URL."""
        name = f"t{os.getpid()}_{next(self._numbers)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.made.append(name)
        return database_url(self.cluster.url, name)

    def drop(self, url: str) -> None:
        """Close this process's pool for the database, then drop it (ending any session left)."""
        postgres.close_pool(url)
        name = url.rpartition("/")[2]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)

    def close(self) -> None:
        """Drop every database this run made, the template too, and stop a server it started."""
        for name in list(self.made):
            self.drop(database_url(self.cluster.url, name))
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.cluster.stop()
