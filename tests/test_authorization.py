"""Every route declares who may use it, and each kind of visitor gets what that declaration says."""

from __future__ import annotations

from flask import Flask

ACCESS = {"public", "account", "attendee", "staff", "organiser"}


def test_every_route_declares_who_may_use_it(app: Flask):
    undeclared = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "htmx_js"):
            continue
        view = app.view_functions[rule.endpoint]
        if getattr(view, "access", None) not in ACCESS:
            undeclared.append(f"{rule.rule} ({rule.endpoint})")
    assert undeclared == []
