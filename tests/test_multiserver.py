"""Three `configurator serve` processes behind HAProxy (Debian's) on loopback, one PostgreSQL.

A session moves between servers, the contested case seats exactly the capacity through the
balancer, and a server killed in the middle of a run loses no save it acknowledged.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from conftest import csrf_from
from pgcluster import free_port
from test_concurrency import all_at_once, contested_event

from configurator import accounts, attendees, events

pytestmark = [pytest.mark.postgresql, pytest.mark.slow]
HAPROXY = "/usr/sbin/haproxy"
SECRET = "one secret key that every server of the test shares"
PASSWORD = "correct horse battery"


def wait_for(url: str, proc: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    """Until url answers 200 (or the process died: then fail with its log)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"{url} did not come up: {log.read_text()[-3000:]}")
        time.sleep(0.1)


@dataclass
class Farm:
    """The servers, the balancer in front of them, and the URL a visitor uses."""

    url: str
    servers: list[subprocess.Popen]
    balancer: subprocess.Popen
    logs: list[Path] = field(default_factory=list)

    def stop(self) -> None:
        """Stop the balancer and every server still running."""
        for proc in [self.balancer, *self.servers]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [self.balancer, *self.servers]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def start_farm(database_url: str, folder: Path, count: int = 3) -> Farm:
    """count servers on free ports over one database, and HAProxy round-robin in front of them."""
    if not Path(HAPROXY).exists():
        pytest.fail(f"{HAPROXY} is missing: `./run test` installs Debian's haproxy package")
    env = dict(
        os.environ,
        CONFIGURATOR_DATABASE_URL=database_url,
        CONFIGURATOR_SECRET_KEY=SECRET,
        CONFIGURATOR_PROXY_HOPS="1",
        CONFIGURATOR_FILES=str(folder / "files"),
    )
    ports = [free_port() for _ in range(count)]
    servers, logs = [], []
    for n, port in enumerate(ports):
        log = folder / f"server{n}.log"
        logs.append(log)
        with open(log, "wb") as out:
            command = [sys.executable, "-m", "configurator", "serve", "--port", str(port)]
            servers.append(subprocess.Popen(command, stdout=out, stderr=out, env=env))
    for proc, port, log in zip(servers, ports, logs, strict=True):
        wait_for(f"http://127.0.0.1:{port}/healthz", proc, log)
    front = free_port()
    config = folder / "haproxy.cfg"
    lines = [
        "global",
        "  maxconn 4000",
        "defaults",
        "  mode http",
        "  timeout connect 2s",
        "  timeout client 120s",
        "  timeout server 120s",
        # A crowd waits in HAProxy's queue for a free server thread rather than getting a 503.
        "  timeout queue 120s",
        # A server busy with a burst answers its health check late: that is not being down.
        "  timeout check 10s",
        "  option forwardfor",
        "  option redispatch",
        "  retries 3",
        "  retry-on conn-failure empty-response",
        "frontend web",
        f"  bind 127.0.0.1:{front}",
        "  default_backend app",
        "backend app",
        "  balance roundrobin",
        "  option httpchk GET /healthz",
        "  http-response set-header X-Served-By %[srv_name]",
    ]
    lines += [
        f"  server s{n} 127.0.0.1:{port} check inter 500ms fall 3 rise 2 maxconn 64"
        for n, port in enumerate(ports)
    ]
    config.write_text("\n".join(lines) + "\n")
    log = folder / "haproxy.log"
    logs.append(log)
    with open(log, "wb") as out:
        balancer = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=out, stderr=out)
    url = f"http://127.0.0.1:{front}"
    wait_for(url + "/healthz", balancer, log)
    return Farm(url, servers, balancer, logs)


@pytest.fixture
def farm(db_path: str, tmp_path: Path) -> Iterator[Farm]:
    started = start_farm(db_path, tmp_path)
    yield started
    started.stop()


@pytest.fixture
def event(db: Any, example: dict[str, Any]) -> dict[str, Any]:
    created = events.create_event(db, example)
    events.publish(db, created["slug"])
    return events.get_event(db, created["slug"])


def test_a_session_survives_being_served_by_each_server_in_turn(farm, db, event):
    ana = attendees.invite(db, event["id"], "Ana Lima", "ana@example.org")
    owner = accounts.create_account(db, "olga@example.org", "Olga", PASSWORD)
    accounts.grant(db, event["id"], owner, "organiser")
    visitor = requests.Session()
    opened = visitor.get(f"{farm.url}/a/{ana.token}")
    assert opened.status_code == 200 and "Ana Lima" in opened.text
    served = [opened.headers["X-Served-By"]]
    for _ in range(5):  # round robin: the same cookie on every server in turn
        page = visitor.get(f"{farm.url}/e/{event['slug']}/design")
        assert page.status_code == 200 and "Ana Lima" in page.text, page.text[:500]
        served.append(page.headers["X-Served-By"])
    assert set(served) == {"s0", "s1", "s2"}
    # A form signed by one server (its CSRF token) is accepted by the next.
    organiser = requests.Session()
    form = organiser.get(f"{farm.url}/login")
    signed_in = organiser.post(
        f"{farm.url}/login",
        data={"email": "olga@example.org", "password": PASSWORD, "csrf_token": csrf_from(form.text)},
    )
    assert signed_in.status_code == 200 and signed_in.url.endswith("/events")
    assert form.headers["X-Served-By"] != signed_in.history[0].headers["X-Served-By"]
    seen = {organiser.get(f"{farm.url}/events").headers["X-Served-By"] for _ in range(3)}
    assert seen == {"s0", "s1", "s2"}


def test_a_thousand_saves_through_the_balancer_seat_exactly_the_capacity(farm, db, example):
    created, ten, crowd = contested_event(db, example)

    def save(n: int) -> tuple[int, str]:
        design = {"agenda": {ten[n % 10]: {"format": "in_person"}}}
        response = requests.put(
            f"{farm.url}/api/v1/designs/{crowd[n].token}", json={"design": design}, timeout=120
        )
        if response.status_code not in (200, 409):
            odd.append(f"{response.status_code} {response.headers.get('X-Served-By')} {response.text[:200]}")
        return response.status_code, response.headers.get("X-Served-By", "")

    odd: list[str] = []
    results = all_at_once(1000, save)
    assert Counter(status for status, _ in results) == {200: 100, 409: 900}, odd[:3]
    assert {server for _, server in results} == {"s0", "s1", "s2"}
    per_session = dict(
        db.execute(
            "SELECT option_id, count(*) FROM picks WHERE event_id = ? AND seated = 1 GROUP BY 1",
            [created["id"]],
        ).fetchall()
    )
    assert per_session == dict.fromkeys(ten, 10)


def test_a_server_killed_mid_run_loses_no_acknowledged_save(farm, db, event):
    people = [attendees.invite(db, event["id"], f"K{n}", f"k{n}@example.org") for n in range(24)]
    acknowledged: dict[int, list[str]] = {p.attendee["id"]: [] for p in people}
    failures: Counter[int] = Counter()
    stop = threading.Event()

    def keep_saving(person: attendees.Invitation) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            text = f"save {n}"
            try:
                response = requests.put(
                    f"{farm.url}/api/v1/designs/{person.token}",
                    json={"design": {"preferences": {"access": text}}},
                    timeout=30,
                )
            except requests.RequestException:
                failures[0] += 1
                continue
            if response.status_code == 200:
                acknowledged[person.attendee["id"]].append(text)
            else:
                failures[response.status_code] += 1

    threads = [threading.Thread(target=keep_saving, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    time.sleep(3)
    victim = farm.servers[1]
    victim.send_signal(signal.SIGKILL)  # no goodbye: in-flight requests die with it
    victim.wait(timeout=10)
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    total = sum(len(v) for v in acknowledged.values())
    assert total > 200, (total, failures)
    # Every acknowledged save is in the history, in order, and the design holds the newest one
    # (or one sent after it whose answer was lost with the server).
    for attendee_id, texts in acknowledged.items():
        history = [
            re.search(r'"access":\s*"([^"]+)"', r[0]).group(1)
            for r in db.execute(
                "SELECT document FROM design_history WHERE attendee_id = ? ORDER BY id",
                [attendee_id],
            )
        ]
        # (A save whose answer died with the server may be in it twice: the balancer retried it.)
        rest = iter(history)
        assert all(text in rest for text in texts), (attendee_id, texts, history)
        stored = db.execute(
            "SELECT document FROM designs WHERE attendee_id = ?", [attendee_id]
        ).fetchone()[0]
        last = int(re.search(r'"access":\s*"save (\d+)"', stored).group(1))
        assert last >= int(texts[-1].split()[1]), attendee_id
    # The balancer took the dead server out: after the kill the others answered.
    healthy = requests.get(f"{farm.url}/healthz", timeout=5)
    assert healthy.status_code == 200 and healthy.headers["X-Served-By"] in {"s0", "s2"}
