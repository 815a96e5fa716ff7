"""Locust users for bench/load.py: attendees designing on a FOSDEM-size event through the API."""

from __future__ import annotations

import json
import os
import random

from locust import FastHttpUser, between, task

TOKENS = os.environ["LOAD_TOKENS"].split(",")
SESSIONS = json.loads(os.environ["LOAD_SESSIONS"])  # [[session id, start, end], ...]


class Attendee(FastHttpUser):
    """Opens their design, then keeps changing a few sessions, like a person planning a day."""

    wait_time = between(0.05, 0.3)

    def on_start(self) -> None:
        self.token = random.choice(TOKENS)
        self.rng = random.Random()

    @task(1)
    def look(self) -> None:
        self.client.get(f"/api/v1/designs/{self.token}", name="GET design")

    @task(5)
    def save(self) -> None:
        chosen, last_end = {}, 0.0
        for sid, start, end in sorted(self.rng.sample(SESSIONS, 30), key=lambda s: s[1]):
            if start >= last_end and len(chosen) < 6:
                chosen[sid] = {"format": self.rng.choice(["online", "recording", "in_person"])}
                last_end = end
        body = {"design": {"agenda": chosen, "channels": {"email": {}}}}
        with self.client.put(
            f"/api/v1/designs/{self.token}", json=body, name="PUT design", catch_response=True
        ) as response:
            # A full room (409) is a correct answer under load, not an error.
            if response.status_code in (200, 409):
                response.success()
