"""Fuzz the JSON API from docs/openapi.json with schemathesis: no 5xx, every answer as documented."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
import sqlite_utils
from conftest import AttendeeActions, OrganiserActions, example_schema
from docsupport import ROOT
from flask import Flask
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from schemathesis import GenerationMode
from schemathesis.checks import (
    allow_header_conformance,
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.drivers import CoverageGenerator
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.overrides import Override

from configurator import accounts, api_tokens, attendees, designs, events

pytestmark = pytest.mark.slow

DOCUMENT = json.loads((ROOT / "docs" / "openapi.json").read_text())
LABELS = {
    op["operationId"]: f"{method.upper()} {path}"
    for path, item in DOCUMENT["paths"].items()
    for method, op in item.items()
    if method != "parameters"
}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
]
# Generated cases per operation, (positive, negative). A path of free text leaves nothing to
# break, so the two reads named by a link or a slug alone get positive cases only.
BUDGET = {
    "getDesignSchema": (2200, 0),
    "getDesign": (2200, 0),
    "putDesign": (900, 400),
    "joinWaitlist": (1100, 300),
    "leaveWaitlist": (400, 250),
    "getExport": (900, 250),
    "getProposals": (1200, 500),
}
MINIMUM_REQUESTS = 10_000
# Hypothesis slows down as one run grows long, so each budget runs in chunks of fixed seeds.
CHUNK = 100
SENT: Counter[str] = Counter()


@dataclass
class World:
    """Real values to put in generated requests, the ones that reach deepest drawn most often."""

    slugs: st.SearchStrategy[str]
    links: st.SearchStrategy[str]
    api_tokens: st.SearchStrategy[str]
    keys: st.SearchStrategy[tuple[str, str]]
    formats: st.SearchStrategy[str]
    designs: st.SearchStrategy[dict[str, Any]]
    best: dict[str, str]


def pool(best: list[Any], rest: list[Any]) -> st.SearchStrategy[Any]:
    """Half of the time one of `best`, otherwise any value."""
    return st.sampled_from(best) | st.sampled_from(best + rest)


def copy_of_example(slug: str) -> dict[str, Any]:
    """The example event under another slug."""
    doc = example_schema()
    return {**doc, "event": {**doc["event"], "slug": slug}}


@pytest.fixture
def world(
    db: sqlite_utils.Database, attendee: AttendeeActions, organiser: OrganiserActions
) -> World:
    olga = organiser.create()
    sam = organiser.create("sam@example.org", "Sam")
    otto = organiser.create("otto@example.org", "Otto")
    event = attendee.event(owner_id=olga)
    accounts.grant(db, event["id"], olga, "organiser")
    accounts.grant(db, event["id"], sam, "staff")
    other = attendee.event(copy_of_example("other-camp"))
    closed = attendee.event(copy_of_example("shut-camp"))
    events.set_window(db, closed["slug"], "closed")
    events.create_event(db, copy_of_example("draft-camp"))

    ana = attendee.invite(event)
    ben = attendee.invite(event, "Ben", "ben@example.org")
    designs.save_design(db, ben.attendee, {"agenda": {"maps": {"format": "online"}}})
    dan = attendee.invite(event, "Dan", "dan@example.org")
    attendees.revoke(db, dan.attendee["id"])
    eve = attendee.invite(closed, "Eve", "eve@example.org")
    fay = attendee.invite(other, "Fay", "fay@example.org")
    schema = events.compiled(db, event["id"])
    full = {("agenda", "facilitation"): {"format": "in_person"}, ("extras", "tour"): {}}
    seated = []
    for (sid, oid), detail in full.items():
        for n in range(schema.options[(sid, oid)].capacity):
            filler = attendee.invite(event, f"Filler {n}", f"filler{n}.{oid}@example.org")
            designs.save_design(db, filler.attendee, {sid: {oid: detail}})
            seated.append(filler.token)

    revoked = api_tokens.issue(db, sam, "old")
    api_tokens.revoke(db, sam, api_tokens.of_account(db, sam)[0]["id"])
    staff = [api_tokens.issue(db, who, "fuzz") for who in (olga, sam)]
    return World(
        slugs=pool([event["slug"]], [other["slug"], closed["slug"], "draft-camp"]),
        links=pool([ana.token, ben.token], [dan.token, eve.token, fay.token, seated[0]]),
        api_tokens=pool(staff, [api_tokens.issue(db, otto, "fuzz"), revoked]),
        keys=pool(list(full), sorted(schema.options)),
        formats=st.sampled_from(["in_person", "online", "recording"]),
        designs=from_schema(schema.json_schema(complete=False)),
        best={"slug": event["slug"], "token": ana.token, "auth": staff[1]},
    )


def plans(world: World, operation_id: str) -> st.SearchStrategy[dict[str, Any]]:
    """Real values to put in place of generated ones; None keeps what schemathesis generated."""
    return st.fixed_dictionaries(
        {
            "token": st.none() | world.links,
            "slug": st.none() | world.slugs,
            "key": st.none() | world.keys,
            "format": st.none() | world.formats,
            "auth": st.none() | world.api_tokens,
            "design": (st.none() | world.designs) if operation_id == "putDesign" else st.none(),
        }
    )


def steer(case: schemathesis.Case, plan: dict[str, Any]) -> dict[str, str]:
    """Put the plan's real values into the case; return the headers to send with it.

    A part generated to break the document is left alone, so a negative case stays negative.
    """
    negative = {loc for loc in ParameterLocation if case.meta and case.meta.is_negative_at(loc)}
    path = case.path_parameters or {}
    for name in ("token", "slug"):
        if name in path and plan[name] is not None:
            path[name] = plan[name]
    key = dict(zip(("section", "option"), plan["key"] or (), strict=False))
    declared = {p.get("name") for p in case.operation.definition.raw.get("parameters", [])}
    if key and "section" in declared and ParameterLocation.QUERY not in negative:
        case.query = {**(case.query or {}), **key}
    if isinstance(case.body, dict) and ParameterLocation.BODY not in negative:
        if plan["design"] is not None and "design" in case.body:
            case.body["design"] = plan["design"]
        if key and "section" in case.body:
            case.body.update(key)
            if plan["format"] is not None:
                case.body["format"] = plan["format"]
    # Sent as explicit headers, so ignored_auth knows they are real and probes without them.
    if plan["auth"] is not None and ParameterLocation.HEADER not in negative:
        return {"Authorization": "Bearer " + plan["auth"]}
    return {}


def operation_on(app: Flask, operation_id: str) -> schemathesis.APIOperation:
    """The document's operation, sending its requests to the app."""
    schema = schemathesis.openapi.from_dict(DOCUMENT)
    schema.app = app
    operation = schema.find_operation_by_label(LABELS[operation_id])
    assert operation is not None
    return operation


def cover(app: Flask, world: World, operation_id: str) -> None:
    """Send schemathesis's coverage cases (edge values, missing parts, undeclared methods).

    Each goes once as generated and once on the real event, link and API token.
    """
    operation = operation_on(app, operation_id)
    generation = operation.schema.config.generation_for(operation=operation, phase="coverage")
    real = {k: v for k, v in world.best.items() if "{" + k + "}" in operation.path}
    auth = {"Authorization": "Bearer " + world.best["auth"]}
    for path_parameters, headers in (({}, {}), (real, auth)):
        cases = CoverageGenerator(
            operation=operation,
            generation_modes=list(GenerationMode),
            generation_config=generation,
            auth_storage=None,
            override=Override(path_parameters=path_parameters),
            feedback=NO_FEEDBACK,
        )
        for case in cases:
            response = case.call(headers=headers)
            SENT[operation_id] += 1
            case.validate_response(
                response,
                checks=[*CHECKS, unsupported_method, allow_header_conformance],
                headers=headers,
            )


def fuzz(app: Flask, world: World, operation_id: str) -> None:
    """Send the operation's budget of positive and negative cases; validate every answer."""
    operation = operation_on(app, operation_id)
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    for mode, examples in zip(modes, BUDGET[operation_id], strict=True):
        strategy = operation.as_strategy(generation_mode=mode)
        for start in range(0, examples, CHUNK):

            @seed(start)
            @settings(
                max_examples=min(CHUNK, examples - start),
                deadline=None,
                database=None,
                phases=[Phase.generate, Phase.shrink],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=strategy, plan=plans(world, operation_id))
            def run(case: schemathesis.Case, plan: dict[str, Any]) -> None:
                headers = steer(case, plan)
                response = case.call(headers=headers)
                SENT[operation_id] += 1
                case.validate_response(response, checks=CHECKS, headers=headers)

            run()


@pytest.mark.parametrize("operation_id", BUDGET)
def test_fuzz_operation(app: Flask, world: World, operation_id: str) -> None:
    before = SENT[operation_id]
    cover(app, world, operation_id)
    covered = SENT[operation_id]
    fuzz(app, world, operation_id)
    assert covered > before
    assert SENT[operation_id] - covered >= sum(BUDGET[operation_id])


def test_fuzzing_sent_at_least_ten_thousand_requests() -> None:
    assert set(SENT) == set(BUDGET), "run the whole file: the total counts every operation"
    assert sum(SENT.values()) >= MINIMUM_REQUESTS, SENT
