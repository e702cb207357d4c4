"""Alert endpoints through the Lambda handler and over HTTP: CRUD, validation, ownership, history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from market import quote

from tickerwatch.events import LocalContext, scheduled_event
from tickerwatch.local import load_function


@pytest.fixture
def acme(db):
    quote(db, "ACME", 100, datetime.now(UTC) - timedelta(minutes=1))


def create(api, auth, **body):
    body = {"stock_symbol": "ACME", "alert_type": "threshold", "condition": "above", "threshold_price": "110"} | body
    return api.request("POST", "/api/v1/alerts/", json_body=body, headers=auth)


@pytest.mark.parametrize(
    "body",
    [
        {"alert_type": "threshold", "condition": "crosses_below", "threshold_price": "90.5"},
        {"alert_type": "duration", "condition": "below", "threshold_price": "95", "duration_minutes": 30},
        {
            "alert_type": "percent_change",
            "condition": "up",
            "percent": "2.5",
            "window_minutes": 60,
            "threshold_price": None,
        },
        {
            "alert_type": "threshold",
            "condition": "above",
            "threshold_price": "120",
            "recurring": True,
            "cooldown_minutes": 30,
        },
    ],
)
def test_create_each_type(api, users, acme, body):
    auth = users.signed_in()
    reply = create(api, auth, **body)
    assert reply.status_code == 201, reply.content
    alert = reply.json()
    assert alert["stock_symbol"] == "ACME" and alert["alert_type"] == body["alert_type"]
    assert alert["is_active"] is True and alert["status"] == "active"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            {"threshold_price": "-5"},
            "threshold_price",
            "Enter a number greater than 0 and at most 1000000, with at most 6 decimals.",
        ),
        (
            {"threshold_price": "0"},
            "threshold_price",
            "Enter a number greater than 0 and at most 1000000, with at most 6 decimals.",
        ),
        (
            {"threshold_price": "100000000"},
            "threshold_price",
            "Enter a number greater than 0 and at most 1000000, with at most 6 decimals.",
        ),
        ({"threshold_price": 1000000.5}, "threshold_price", "at most 1000000"),
        ({"threshold_price": "50000"}, "threshold_price", "100x away from the current price"),  # 500x
        ({"threshold_price": None}, "threshold_price", "This field may not be null."),
        ({"duration_minutes": 10}, "duration_minutes", "This field does not apply to threshold alerts."),
        (
            {"alert_type": "percent_change", "condition": "up", "threshold_price": None, "percent": "5"},
            "window_minutes",
            "This field is required.",
        ),
        (
            {"alert_type": "duration", "condition": "crosses_above", "duration_minutes": 5},
            "condition",
            "Input should be 'above' or 'below'",
        ),
        (
            {"alert_type": "sideways"},
            "alert_type",
            "Must be one of: duration, forecast, indicator, percent_change, threshold.",
        ),
        ({"cooldown_minutes": 5}, "cooldown_minutes", "Only recurring alerts have a cooldown."),
        ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at", "Must be in the future."),
        ({"expires_at": "2030-01-01T00:00:00"}, "expires_at", "Must include a time zone."),
        ({"bogus": 1}, "bogus", "This field is not allowed here."),
    ],
)
def test_bad_alerts_are_400_per_field(api, users, acme, db, body, field, message):
    reply = create(api, users.signed_in(), **body)
    assert reply.status_code == 400, reply.content
    errors = reply.fields()
    assert list(errors) == [field]
    assert any(message in m for m in errors[field]), errors
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM alerts").fetchone()["n"]) == 0


def test_untracked_symbol_is_404_and_duplicate_is_409(api, users, acme, db):
    auth = users.signed_in()
    missing = create(api, auth, stock_symbol="ZZZZ")
    assert missing.status_code == 404
    assert "'ZZZZ' is not tracked" in missing.json()["detail"] and "POST /api/v1/stocks/" in missing.json()["detail"]
    assert create(api, auth).status_code == 201
    duplicate = create(api, auth)
    assert duplicate.status_code == 409
    assert duplicate.json()["detail"] == "You already have an identical active alert."
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM alerts").fetchone()["n"]) == 1
    assert create(api, auth, threshold_price="111").status_code == 201


def test_list_filters_and_pagination(api, users, acme):
    auth = users.signed_in()
    ids = [create(api, auth, threshold_price=str(110 + i)).json()["id"] for i in range(3)]
    create(
        api, auth, alert_type="percent_change", condition="down", threshold_price=None, percent="3", window_minutes=30
    )
    api.request("POST", f"/api/v1/alerts/{ids[0]}/pause/", headers=auth)

    page = api.request("GET", "/api/v1/alerts/", params={"limit": 2}, headers=auth).json()
    assert page["count"] == 4 and len(page["results"]) == 2
    active = api.request("GET", "/api/v1/alerts/", params={"is_active": "true"}, headers=auth).json()
    assert active["count"] == 3 and ids[0] not in [a["id"] for a in active["results"]]
    thresholds = api.request(
        "GET", "/api/v1/alerts/", params={"alert_type": "threshold", "stock_symbol": "acme"}, headers=auth
    ).json()
    assert thresholds["count"] == 3
    assert api.request("GET", "/api/v1/alerts/", params={"alert_type": "nope"}, headers=auth).status_code == 400


def test_read_patch_pause_resume_delete(api, users, acme):
    auth = users.signed_in()
    alert_id = create(api, auth).json()["id"]
    path = f"/api/v1/alerts/{alert_id}/"
    assert api.request("GET", path, headers=auth).json()["threshold_price"] == "110.000000"

    patched = api.request(
        "PATCH", path, json_body={"threshold_price": "115.5", "recurring": True, "cooldown_minutes": 15}, headers=auth
    )
    assert patched.status_code == 200
    assert patched.json()["threshold_price"] == "115.500000" and patched.json()["recurring"] is True
    bad = api.request("PATCH", path, json_body={"percent": "5"}, headers=auth)
    assert bad.status_code == 400 and "percent" in bad.fields()
    switched = api.request(
        "PATCH",
        path,
        json_body={"alert_type": "percent_change", "condition": "up", "percent": "4", "window_minutes": 60},
        headers=auth,
    )
    assert switched.status_code == 200 and switched.json()["threshold_price"] is None

    paused = api.request("POST", f"{path}pause/", headers=auth).json()
    assert (paused["status"], paused["is_active"]) == ("paused", False)
    resumed = api.request("POST", f"{path}resume/", headers=auth).json()
    assert (resumed["status"], resumed["is_active"]) == ("active", True)

    assert api.request("DELETE", path, headers=auth).status_code == 204
    assert api.request("GET", path, headers=auth).status_code == 404
    assert api.request("DELETE", path, headers=auth).status_code == 404


def test_users_cannot_touch_each_others_alerts_or_triggers(api, users, acme, db):
    alice = users.signed_in("alice")
    bob = users.signed_in("bob")
    alert_id = create(api, alice, threshold_price="99").json()["id"]  # fires: price is 100
    load_function("process_prices").handler(scheduled_event("process_prices"), LocalContext("process_prices"))
    path = f"/api/v1/alerts/{alert_id}/"
    before = api.request("GET", path, headers=alice).json()
    for method, url, body in [
        ("GET", path, None),
        ("PATCH", path, {"threshold_price": "1"}),
        ("DELETE", path, None),
        ("POST", f"{path}pause/", None),
        ("POST", f"{path}resume/", None),
    ]:
        reply = api.request(method, url, json_body=body, headers=bob)
        assert (reply.status_code, reply.json()["detail"]) == (404, "Alert not found."), (method, url)
        # and alice's alert is exactly as it was: not changed, paused, re-armed or deleted.
        assert api.request("GET", path, headers=alice).json() == before, (method, url)
    assert api.request("GET", "/api/v1/alerts/", headers=bob).json()["count"] == 0
    assert api.request("GET", "/api/v1/alerts/triggered/", headers=bob).json()["count"] == 0
    assert api.request("GET", "/api/v1/alerts/triggered/", headers=alice).json()["count"] == 1


def test_trigger_history_shows_price_time_and_notification_state(api, users, acme):
    alice = users.signed_in("alice")
    create(api, alice, threshold_price="95")
    summary = load_function("process_prices").handler(scheduled_event("process_prices"), LocalContext("process_prices"))
    assert summary["triggered"] == 1 and summary["emails_sent"] == 1
    page = api.request("GET", "/api/v1/alerts/triggered/", headers=alice).json()
    assert page["count"] == 1
    item = page["results"][0]
    assert item["stock_symbol"] == "ACME" and item["price"] == "100.000000"
    assert item["notification"]["status"] == "sent" and item["notification"]["error"] is None
    listed = api.request("GET", "/api/v1/alerts/", headers=alice).json()["results"][0]
    assert (listed["status"], listed["is_active"], listed["trigger_count"]) == ("triggered", False, 1)


def test_alerts_need_authentication(api):
    assert api.request("GET", "/api/v1/alerts/").status_code == 401
    assert api.request("POST", "/api/v1/alerts/", json_body={}).status_code == 401


def test_patch_changes_only_what_is_sent_and_rejects_nulls(api, users, acme):
    auth = users.signed_in()
    alert = create(api, auth, recurring=True, cooldown_minutes=30).json()
    path = f"/api/v1/alerts/{alert['id']}/"
    patched = api.request("PATCH", path, json_body={"threshold_price": "112"}, headers=auth).json()
    assert (patched["recurring"], patched["cooldown_minutes"]) == (True, 30)  # untouched
    for field in ("recurring", "condition", "cooldown_minutes"):
        reply = api.request("PATCH", path, json_body={field: None}, headers=auth)
        assert reply.status_code == 400 and field in reply.fields(), field


def test_each_alert_says_why_it_has_not_fired(api, users, db):
    from decimal import Decimal as D

    auth = users.signed_in()
    now = datetime.now(UTC)
    quote(db, "ACME", 100, now - timedelta(minutes=1))
    quote(db, "OLD", 50, now - timedelta(days=30))  # weeks old: stale whatever the hour
    db.run(lambda conn: conn.execute("INSERT INTO stocks (symbol) VALUES ('NEW')"))
    waiting = create(api, auth, threshold_price="110").json()
    stale = create(api, auth, stock_symbol="OLD", threshold_price="60").json()
    no_price = create(api, auth, stock_symbol="NEW").json()
    # Given new alerts, not judged yet,
    assert (waiting["state"], waiting["last_evaluated_at"]) == ("pending", None)
    assert (stale["state"], no_price["state"]) == ("stale_price", "no_price")
    assert stale["quote_age_minutes"] is not None and float(stale["quote_age_minutes"]) > 120
    # when the evaluator has run,
    load_function("process_prices").handler(scheduled_event("process_prices"), LocalContext("process_prices"))
    shown = api.request("GET", f"/api/v1/alerts/{waiting['id']}/", headers=auth).json()
    # then each says what it was judged on and where it stands.
    assert shown["state"] == "waiting"
    assert D(shown["last_evaluated_price"]) == 100 and shown["last_evaluated_quote_at"] is not None
    assert datetime.fromisoformat(shown["last_evaluated_at"].replace("Z", "+00:00")) >= now
    assert D(shown["current_price"]) == 100 and float(shown["quote_age_minutes"]) <= 5
    paused = api.request("POST", f"/api/v1/alerts/{waiting['id']}/pause/", headers=auth).json()
    assert paused["state"] == "paused"
    fired = create(api, auth, threshold_price="95").json()
    load_function("process_prices").handler(scheduled_event("process_prices"), LocalContext("process_prices"))
    assert api.request("GET", f"/api/v1/alerts/{fired['id']}/", headers=auth).json()["state"] == "triggered"


def test_defining_an_alert_wakes_the_evaluator(lambda_api, db):
    from conftest import Users

    from tickerwatch import bus

    heard = []
    bus.subscribe(bus.ALERTS_CHANGED, heard.append)
    try:
        quote(db, "ACME", 100, datetime.now(UTC) - timedelta(minutes=1))
        auth = Users(lambda_api).signed_in()
        alert_id = create(lambda_api, auth).json()["id"]
        lambda_api.request("PATCH", f"/api/v1/alerts/{alert_id}/", json_body={"threshold_price": "111"}, headers=auth)
        lambda_api.request("POST", f"/api/v1/alerts/{alert_id}/pause/", headers=auth)
        lambda_api.request("POST", f"/api/v1/alerts/{alert_id}/resume/", headers=auth)
    finally:
        bus.clear_subscribers()
    assert [e["detail-type"] for e in heard] == ["alerts.changed"] * 3  # created, changed, resumed
