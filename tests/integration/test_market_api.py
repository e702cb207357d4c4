"""GET /api/v1/market/ and /api/v1/market/sessions/: the exchange's calendar, public."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from tickerwatch.market_time import NEW_YORK, market_state


def at(*args) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def test_the_market_now_answers_is_open_and_its_session(api):
    reply = api.request("GET", "/api/v1/market/")
    assert reply.status_code == 200, reply.json()
    body = reply.json()
    assert body["exchange"] == "XNYS" and isinstance(body["is_open"], bool)
    session = body["session"]
    assert session["opens_at"].endswith("Z") or session["opens_at"].endswith("+00:00")
    assert session["opens_at_new_york"].endswith(("-05:00", "-04:00"))
    assert body["feed"] == "csv" and body["always_open"] is False


@pytest.mark.parametrize(
    ("now", "is_open", "session_day", "closes", "closed_for"),
    [
        (at(2026, 11, 25, 18, 40), False, date(2026, 11, 27), "13:00", None),  # the evening before Thanksgiving
        (at(2026, 11, 26, 12, 0), False, date(2026, 11, 27), "13:00", "Thanksgiving"),
        (at(2026, 11, 27, 12, 59), True, date(2026, 11, 27), "13:00", None),
        (at(2026, 11, 27, 13, 0), False, date(2026, 11, 30), "16:00", None),  # at the early close itself
        (at(2026, 11, 30, 9, 29, 59), False, date(2026, 11, 30), "16:00", None),
        (at(2026, 11, 30, 9, 30), True, date(2026, 11, 30), "16:00", None),  # at the open itself
        (at(2026, 12, 5, 14, 0), False, date(2026, 12, 7), "16:00", "Weekend"),
        (at(2026, 7, 3, 10, 0), False, date(2026, 7, 6), "16:00", "July 4th"),
    ],
    ids=["eve", "thanksgiving", "black-friday", "early-close", "before-open", "open", "saturday", "observed"],
)
def test_market_state_at_the_edges(now, is_open, session_day, closes, closed_for):
    state = market_state(now)
    assert state.is_open is is_open
    assert state.session.day == session_day
    assert f"{state.session.closes_at.astimezone(NEW_YORK):%H:%M}" == closes
    assert state.closed_for == closed_for


def test_sessions_list_marks_early_closes_and_holidays(api):
    reply = api.request("GET", "/api/v1/market/sessions/", params={"start": "2026-11-23", "end": "2026-11-29"})
    assert reply.status_code == 200, reply.json()
    body = reply.json()
    days = [(s["date"], s["closes_at_new_york"][11:16], s["early_close"]) for s in body["sessions"]]
    assert days == [
        ("2026-11-23", "16:00", False),
        ("2026-11-24", "16:00", False),
        ("2026-11-25", "16:00", False),
        ("2026-11-27", "13:00", True),
    ]
    assert body["sessions"][3]["closes_at"].startswith("2026-11-27T18:00:00")
    assert body["closed"] == [{"date": "2026-11-26", "reason": "Thanksgiving"}]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"start": "2026-12-10", "end": "2026-12-01"}, "end"),
        ({"start": "2026-01-01", "end": "2027-01-02"}, "end"),  # 367 days: one too many
        ({"start": "1999-12-01", "end": "1999-12-31"}, "start"),
        ({"start": "2035-12-01", "end": "2036-01-05"}, "end"),
        ({"start": "2026-13-01"}, "start"),
    ],
    ids=["reversed", "too-long", "before-the-table", "after-the-table", "not-a-date"],
)
def test_bad_spans_are_400_naming_the_field(api, params, field):
    reply = api.request("GET", "/api/v1/market/sessions/", params=params)
    assert reply.status_code == 400, reply.json()
    assert reply.json()[field], reply.json()


def test_a_year_is_the_longest_span():
    from tickerwatch.market_time import sessions_in

    found, closed = sessions_in(date(2026, 1, 1), date(2027, 1, 1))  # 366 days, both ends included: allowed
    assert len(found) == 251 and len(closed) == 11
