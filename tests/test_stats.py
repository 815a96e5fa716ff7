"""The dashboard's figures against a small event built by hand, where every number is known."""

from __future__ import annotations

from collections import Counter

import pytest

from configurator import attendees, charts, designs, events, stats
from configurator.clock import stamp

PHONE = "+32 470 12 34 56"


@pytest.fixture
def small(db, example):
    """Six attendees: two confirmed, two drafts, one who only opened the link, one invited."""
    rooms = {r["id"]: r for r in example["sections"][0]["rooms"]}
    rooms["atelier"]["capacity"] = 2
    rooms["garden"]["capacity"] = 1
    extras = next(s for s in example["sections"] if s["id"] == "extras")
    extras["options"][0]["capacity"] = 1  # the dinner
    event = events.create_event(db, example)
    events.publish(db, event["slug"])
    people = {
        key: attendees.invite(db, event["id"], name, f"{key}@example.org").attendee
        for key, name in [("a", "Ana"), ("b", "Ben"), ("c", "Chloé"), ("d", "Dev")]
        + [("e", "Eli"), ("f", "Fatma")]
    }
    for key in "abcde":
        attendees.mark_opened(db, people[key]["id"])
    designs.save_design(
        db,
        people["a"],
        {
            "agenda": {
                "opening": {"format": "in_person"},
                "maps": {"format": "in_person"},
                "closing": {"format": "online"},
            },
            "channels": {"email": {}},
            "preferences": {"diet": "vegetarian", "guests": 2, "first_time": True},
        },
        confirm=True,
    )
    designs.save_design(
        db,
        people["b"],
        {
            "agenda": {
                "opening": {"format": "in_person"},
                "maps": {"format": "online"},
                "facilitation": {"format": "in_person"},
            },
            "channels": {"sms": {"phone": PHONE}},
            "extras": {"dinner": {}},
            "preferences": {"diet": "vegan", "first_time": False},
        },
        confirm=True,
    )
    designs.save_design(
        db,
        people["c"],
        {
            "agenda": {
                "opening": {"format": "online"},
                "maps": {"format": "in_person"},
                "datasets": {"format": "in_person"},
            },
            "channels": {"email": {}, "sms": {"phone": PHONE}},
            "preferences": {"diet": "vegetarian", "guests": 0},
        },
    )
    designs.save_design(
        db,
        people["d"],
        {"agenda": {"opening": {"format": "in_person"}}, "preferences": {"diet": "none"}},
    )
    designs.join_waitlist(db, people["d"], "agenda", "facilitation", "in_person")
    designs.join_waitlist(db, people["d"], "extras", "dinner")
    return event, people


def figures(db, event):
    return stats.dashboard(db, event["id"], events.compiled(db, event["id"]))


def test_funnel_counts_each_step(db, small):
    event, _ = small
    assert figures(db, event).funnel == stats.Funnel(invited=6, opened=5, started=4, confirmed=2)


def by_key(d):
    return {(row.section_id, row.option_id): row for row in d.demand}


def test_demand_counts_seats_waits_and_picks_without_a_seat(db, small):
    event, _ = small
    rows = by_key(figures(db, event))
    got = {
        key: (r.capacity, r.seated, r.waiting, r.unseated, r.wants_seat, r.demand)
        for key, r in rows.items()
        if r.demand
    }
    assert got == {
        ("agenda", "opening"): (120, 3, 0, 1, 3, 4),
        ("agenda", "maps"): (2, 2, 0, 1, 2, 3),
        ("agenda", "facilitation"): (1, 1, 1, 0, 2, 2),
        ("agenda", "closing"): (120, 0, 0, 1, 0, 1),
        ("agenda", "datasets"): (120, 1, 0, 0, 1, 1),
        ("extras", "dinner"): (1, 1, 1, 0, 2, 2),
        ("channels", "email"): (None, 0, 0, 2, 0, 2),
        ("channels", "sms"): (None, 0, 0, 2, 0, 2),
    }
    assert rows[("agenda", "facilitation")].pressure == 2.0
    assert len(rows) == 13 + 4 + 3  # every session and option is listed, wanted or not


def test_demand_puts_the_most_over_asked_first(db, small):
    event, _ = small
    order = [(r.section_id, r.option_id) for r in figures(db, event).demand]
    assert order[:5] == [
        ("agenda", "facilitation"),
        ("extras", "dinner"),
        ("agenda", "maps"),
        ("agenda", "opening"),
        ("agenda", "datasets"),
    ]
    # Options without a capacity come after every limited one, most wanted first.
    assert order[-4:] == [
        ("channels", "email"),
        ("channels", "sms"),
        ("channels", "social"),
        ("channels", "app"),
    ]


def test_popular_pairs_count_sessions_picked_together(db, small):
    event, _ = small
    pairs = [(p.first, p.second, p.count) for p in figures(db, event).pairs]
    assert pairs == [
        ("maps", "opening", 3),
        ("closing", "maps", 1),
        ("closing", "opening", 1),
        ("datasets", "maps", 1),
        ("datasets", "opening", 1),
        ("facilitation", "maps", 1),
        ("facilitation", "opening", 1),
    ]
    assert figures(db, event).pairs[0].first_title == "Community mapping with OpenStreetMap"


def test_every_pair_is_counted_however_many_sessions(db, small):
    """Pairs come from the tallies, which count every pair exactly: no bound to report."""
    event, _ = small
    d = figures(db, event)
    assert d.pairs_bound == 0
    counted = stats.popular_pairs(db, event["id"], events.compiled(db, event["id"]), limit=100)
    assert len(counted) == 7 and sum(p.count for p in counted) == 9


def tally_rows(db, event_id):
    return sorted(
        tuple(r)
        for r in db.execute(
            "SELECT kind, k1, k2, k3, n FROM tallies WHERE event_id = ? AND n <> 0",
            [event_id],
        )
    )


def test_tallies_kept_by_saves_equal_a_recount(db, small):
    """Saves, a confirmation, a freed seat with a promotion from the waitlist and an emptied
    design each change the tallies in their own transaction; the result is what counting every
    design afresh gives, row for row."""
    event, people = small
    schema = events.compiled(db, event["id"])
    designs.save_design(  # Ben gives up his seat in facilitation: Dev, waiting, gets it
        db,
        people["b"],
        {
            "agenda": {"opening": {"format": "in_person"}, "maps": {"format": "online"}},
            "channels": {"sms": {"phone": PHONE}},
            "preferences": {"diet": "vegetarian", "first_time": True},
        },
    )
    assert designs.seats_held(db, people["d"]["id"])[0]["option"] == "facilitation"
    designs.save_design(db, people["c"], {})
    designs.save_design(
        db,
        people["e"],
        {"agenda": {"closing": {"format": "online"}}, "preferences": {"guests": 5}},
    )
    kept = tally_rows(db, event["id"])
    from configurator import tallies

    tallies.rebuild(db, event["id"], schema)
    assert tally_rows(db, event["id"]) == kept
    assert ("pair", "agenda", "facilitation", "opening") in [r[:4] for r in kept]


def test_a_fresh_process_reads_the_tallies_without_counting_again(db, small, monkeypatch):
    """The dashboard of a new process (or another server) reads what saves kept; it recounts
    only when the tallies disagree with the designs."""
    from configurator import tallies

    event, people = small
    before = figures(db, event)

    def refuse(*args):
        raise AssertionError("counted every design again")

    monkeypatch.setattr(tallies, "rebuild", refuse)
    other = __import__("configurator.db", fromlist=["connect"]).connect(db.path)
    designs.save_design(other, people["e"], {"agenda": {"maps": {"format": "online"}}})
    after = figures(db, event)
    assert after.funnel.started == before.funnel.started + 1
    assert by_key(after)[("agenda", "maps")].unseated == by_key(before)[("agenda", "maps")].unseated + 1
    other.conn.close()


def test_channel_split_counts_every_option_in_schema_order(db, small):
    event, _ = small
    split = {
        sid: [(o.option_id, o.picked, o.waiting) for o in opts]
        for sid, opts in figures(db, event).channels
    }
    assert split == {
        "channels": [("email", 2, 0), ("sms", 2, 0), ("social", 0, 0), ("app", 0, 0)],
        "extras": [("dinner", 1, 1), ("tour", 0, 0), ("kit", 0, 0)],
    }


def test_preference_distributions(db, small):
    event, _ = small
    got = {d.question_id: (d.kind, d.bars, d.unanswered) for d in figures(db, event).distributions}
    assert got == {
        "diet": (
            "one_of",
            [("No restrictions", 1), ("Vegetarian", 2), ("Vegan", 1), ("Gluten-free", 0)],
            0,
        ),
        "first_time": ("boolean", [("Yes", 1), ("No", 1)], 2),
        "guests": ("number", [("0", 1), ("1", 0), ("2", 1), ("3", 0), ("4", 0), ("5", 0)], 2),
    }


def test_picks_and_confirmations_per_day(db, small, monkeypatch):
    event, people = small
    from datetime import UTC, datetime

    from configurator import clock

    today = stamp()[:10]
    monkeypatch.setattr(clock, "now", lambda: datetime(2020, 1, 1, 10, tzinfo=UTC))
    designs.save_design(db, people["e"], {"agenda": {"closing": {"format": "online"}}})
    monkeypatch.setattr(clock, "now", lambda: datetime(2020, 1, 2, 10, tzinfo=UTC))
    complete = {
        "agenda": {s: {"format": "online"} for s in ("opening", "maps", "closing")},
        "channels": {"email": {}},
        "preferences": {"diet": "none"},
    }
    designs.save_design(db, people["f"], complete, confirm=True)
    d = figures(db, event)
    assert d.picks_per_day == [("2020-01-01", 1), ("2020-01-02", 4), (today, 15)]
    assert d.confirmations_per_day == [("2020-01-02", 1), (today, 2)]


def test_figures_follow_a_changed_design(db, small):
    """A save changes the tallies: the next dashboard shows the new numbers."""
    event, people = small
    before = figures(db, event)
    designs.save_design(
        db,
        people["c"],
        {
            "agenda": {"opening": {"format": "online"}, "maps": {"format": "in_person"}},
            "channels": {"email": {}},
            "preferences": {"diet": "vegan"},
        },
    )
    after = figures(db, event)
    assert by_key(before)[("agenda", "datasets")].seated == 1
    assert by_key(after)[("agenda", "datasets")].seated == 0
    assert by_key(after)[("channels", "sms")].picked == 1
    assert [(p.first, p.second, p.count) for p in after.pairs][:2] == [
        ("maps", "opening", 3),
        ("closing", "maps", 1),
    ]
    diet = next(d for d in after.distributions if d.question_id == "diet")
    assert diet.bars[1:3] == [("Vegetarian", 1), ("Vegan", 2)]
    assert after.funnel == before.funnel


def test_figures_drop_a_deleted_attendee(db, small):
    event, people = small
    figures(db, event)
    if db.dialect == "sqlite":  # PostgreSQL always keeps its foreign keys
        db.execute("PRAGMA foreign_keys = ON")
    db.execute("DELETE FROM attendees WHERE id = ?", [people["b"]["id"]])
    d = figures(db, event)
    assert d.funnel == stats.Funnel(invited=5, opened=4, started=3, confirmed=1)
    assert by_key(d)[("extras", "dinner")].seated == 0


def test_blocks_add_up_to_the_whole(db, example):
    """Attendees whose ids lie far apart all count."""
    event = events.create_event(db, example)
    events.publish(db, event["slug"])
    diets = Counter()
    for n, block_start in enumerate([1, 1024, 2048, 5000]):
        db.execute(
            "INSERT INTO attendees (id, event_id, name, email, token_hash, feed_token_hash,"
            " invited_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [block_start + 7, event["id"], f"P{n}", f"p{n}@example.org", f"t{n}", f"f{n}", stamp()],
        )
        diet = ["none", "vegan"][n % 2]
        diets[diet] += 1
        designs.save_design(
            db,
            attendees.get_attendee(db, block_start + 7),
            {"agenda": {"opening": {"format": "online"}}, "preferences": {"diet": diet}},
        )
    d = figures(db, event)
    diet = next(x for x in d.distributions if x.question_id == "diet")
    assert dict(diet.bars)["Vegan"] == diets["vegan"] == 2
    assert by_key(d)[("agenda", "opening")].unseated == 4
    assert d.funnel.started == 4


def test_histogram_bins_wide_or_fractional_ranges():
    counts = Counter({0.5: 2, 10: 1, 99.5: 3})
    bars = stats.histogram(counts, {"type": "number", "min": 0, "max": 100})
    assert len(bars) == 10
    assert bars[0] == ("0–10", 2)
    assert bars[1] == ("10–20", 1)
    assert bars[-1] == ("90–100", 3)
    assert stats.histogram(Counter({3: 2}), {"type": "number", "integer": True}) == [("3", 2)]
    assert stats.histogram(Counter(), {"type": "number"}) == []


def test_bar_chart_geometry_scales_to_the_largest_bar_or_marker():
    chart = charts.bar_chart(
        "c", "Demand", [("Big", [50, 30], 40), ("Small", [10, 0], 100)], ["Seated", "Waiting"]
    )
    big, small = chart.rows
    assert [r.width for r in big.rects] == [charts.PLOT_WIDTH * 0.5, charts.PLOT_WIDTH * 0.3]
    assert big.rects[1].x == charts.LABEL_WIDTH + charts.PLOT_WIDTH * 0.5
    assert small.marker_x == charts.LABEL_WIDTH + charts.PLOT_WIDTH
    assert big.value_text == "80"
    assert [s.name for s in chart.series] == ["Seated", "Waiting"]
    assert chart.height == 2 * charts.ROW_HEIGHT
    long = charts.bar_chart("d", "t", [("x" * 100, [1], None)], ["n"])
    assert long.rows[0].label == "x" * (charts.LABEL_CHARS - 1) + "…"
    assert long.rows[0].full_label == "x" * 100


def test_column_chart_geometry():
    chart = charts.column_chart("c", "Per day", [("2027-01-01", 4), ("2027-01-02", 2)])
    first, second = chart.columns
    assert first.height == charts.COLUMN_PLOT_HEIGHT
    assert second.height == charts.COLUMN_PLOT_HEIGHT / 2
    assert second.y == charts.COLUMN_PLOT_HEIGHT / 2
    assert chart.top == 4


def test_dashboard_page_shows_charts_and_tables(client, db, organiser, small):
    event, _ = small
    staff_id = organiser.create("sam@example.org", "Sam")
    from configurator import accounts

    accounts.grant(db, event["id"], staff_id, "staff")
    organiser.login("sam@example.org")
    page = client.get(f"/events/{event['slug']}/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('role="img"') == html.count("<svg") >= 7
    assert 'aria-labelledby="chart-demand-title"' in html
    assert '<title id="chart-demand-title">' in html
    assert "2 want it, the room holds 1" in html
    assert "most-picked sessions" not in html  # every pair was counted
    assert "style=" not in html
    assert "<script>" not in html
    assert html.count("<table>") >= 7
    partial = client.get(f"/events/{event['slug']}/dashboard", headers={"HX-Request": "true"})
    assert partial.get_data(as_text=True).lstrip().startswith('<div id="dashboard">')
    assert "HX-Request" in partial.headers["Vary"]


def test_a_new_version_that_counts_alike_keeps_the_counts(db, small, monkeypatch):
    """A version that counts the same questions and sessions keeps the tallies as they are:
    publishing it writes none of them."""
    from configurator import tallies

    event, _ = small
    before = figures(db, event)
    kept = tally_rows(db, event["id"])
    draft = events.draft(events.get_event(db, event["slug"]))
    draft["event"]["title"] = "Commons Camp, revised"
    events.save_draft(db, event["slug"], draft)

    def refuse(*args):
        raise AssertionError("counted every design again")

    monkeypatch.setattr(tallies, "rebuild", refuse)
    events.publish(db, event["slug"])
    assert events.compiled(db, event["id"]).version == 2
    after = figures(db, event)
    assert after.demand == before.demand
    assert tally_rows(db, event["id"]) == kept


def test_a_difference_is_the_change_in_contributions(db, small):
    """tallies.difference looks only at what differs; it must agree with counting both whole."""
    from configurator import tallies

    event, _ = small
    schema = events.compiled(db, event["id"])
    documents = [
        {},
        {"agenda": {"opening": {"format": "in_person"}, "maps": {"format": "online"}}},
        {
            "agenda": {"maps": {"format": "in_person"}, "closing": {"format": "online"}},
            "channels": {"email": {}},
            "preferences": {"diet": "vegan", "guests": 2, "first_time": False},
        },
        {"preferences": {"diet": "vegan", "guests": 2.5, "first_time": True}},
    ]

    def facts(n, status, day):
        doc = documents[n]
        picks = {
            (sid, oid): (int(detail.get("format") == "in_person"), day)
            for sid, value in doc.items()
            if sid != "preferences"
            for oid, detail in value.items()
        }
        return tallies.Facts(status, day if status == "confirmed" else None, doc, picks)

    states = [None] + [
        facts(n, status, day)
        for n in range(len(documents))
        for status in ("draft", "confirmed")
        for day in ("2020-01-01", "2020-01-02")
    ]
    for before in states:
        for after in states:
            whole = tallies.contributions(schema, after)
            whole.subtract(tallies.contributions(schema, before))
            expected = Counter({k: n for k, n in whole.items() if n})
            assert tallies.difference(schema, before, after) == expected


def test_a_version_that_counts_other_questions_counts_afresh(db, small):
    """Dropping a counted question changes what the tallies hold: publishing recounts them."""
    from configurator import tallies

    event, _ = small
    draft = events.draft(events.get_event(db, event["slug"]))
    prefs = next(s for s in draft["sections"] if s["id"] == "preferences")
    prefs["fields"] = [f for f in prefs["fields"] if f["id"] != "diet"]
    events.save_draft(db, event["slug"], draft)
    events.publish(db, event["slug"])
    schema = events.compiled(db, event["id"])
    assert schema.version == 2
    assert "diet" not in {d.question_id for d in figures(db, event).distributions}
    kept = tally_rows(db, event["id"])
    assert not [r for r in kept if r[0] == "answer" and r[2] == "diet"]
    tallies.rebuild(db, event["id"], schema)
    assert tally_rows(db, event["id"]) == kept
