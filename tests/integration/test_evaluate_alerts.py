"""The process_prices job (alert evaluation) on hand-made price series: every type and condition, the edges, staleness,
recurrence, concurrency, and email delivery through the outbox."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fakes import RecordingSender
from market import WED_3PM, ny, quote, series
from together import run_together

from tickerwatch.alerts import AlertDefinition, create_alert
from tickerwatch.db import Database
from tickerwatch.processing import process_prices


@pytest.fixture
def user(db):
    from tickerwatch.data.users import insert_user

    return db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id


def run(db, sender=None, now=WED_3PM, **kw):
    return process_prices(db, sender or RecordingSender(), max_price_age_minutes=120, max_attempts=3, now=now, **kw)


def alert(db, user, **fields):
    fields.setdefault("symbol", "ACME")
    return create_alert(db, user, AlertDefinition(**fields))


def triggers(db) -> int:
    return db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM alert_triggers").fetchone()["n"])


def status(db, alert_id):
    return db.run(
        lambda conn: conn.execute("SELECT status FROM alerts WHERE id = %s", (alert_id,)).fetchone()["status"]
    )


# ---------------------------------------------------------------- threshold (state)


@pytest.mark.parametrize(
    ("condition", "price", "fires"),
    [
        ("above", 100.0, True),
        ("above", 99.99, False),
        ("above", 150.0, True),
        ("below", 100.0, True),
        ("below", 100.01, False),
        ("below", 50.0, True),
    ],
)
def test_threshold_state_including_exactly_at_the_threshold(db, user, condition, price, fires):
    quote(db, "ACME", price, WED_3PM - timedelta(minutes=5))
    a = alert(db, user, alert_type="threshold", condition=condition, threshold_price=Decimal(100))
    summary = run(db)
    assert summary.evaluated == 1
    assert summary.triggered == int(fires)
    assert status(db, a.id) == ("triggered" if fires else "active")


def test_one_time_alert_fires_once_then_stops(db, user):
    quote(db, "ACME", 120, WED_3PM - timedelta(minutes=5))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    assert run(db).triggered == 1
    assert run(db, now=WED_3PM + timedelta(minutes=5)).triggered == 0
    assert triggers(db) == 1


# ---------------------------------------------------------------- threshold (crossing events)


@pytest.mark.parametrize(
    ("condition", "before", "after", "fires"),
    [
        ("crosses_above", 99, 101, True),
        ("crosses_above", 99, 100, True),  # lands exactly on the threshold
        ("crosses_above", 100, 101, False),  # was not below before
        ("crosses_above", 101, 102, False),  # already above: a state, not a crossing
        ("crosses_below", 101, 99, True),
        ("crosses_below", 101, 100, True),
        ("crosses_below", 99, 98, False),
        ("crosses_below", 100, 99, False),  # was at, not above, the threshold
    ],
)
def test_crossing_fires_only_between_consecutive_quotes(db, user, condition, before, after, fires):
    now = datetime.now(UTC)
    quote(db, "ACME", before, now - timedelta(minutes=30))
    alert(db, user, alert_type="threshold", condition=condition, threshold_price=Decimal(100))
    quote(db, "ACME", after, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == int(fires)


def test_crossing_before_the_alert_existed_does_not_fire(db, user):
    now = datetime.now(UTC)
    quote(db, "ACME", 99, now - timedelta(minutes=60))
    quote(db, "ACME", 101, now - timedelta(minutes=30))
    alert(db, user, alert_type="threshold", condition="crosses_above", threshold_price=Decimal(100))
    assert run(db, now=datetime.now(UTC)).triggered == 0


def test_crossing_before_a_change_or_resume_does_not_fire(db, user):
    from tickerwatch.alerts import set_paused, update_alert

    now = datetime.now(UTC)
    quote(db, "ACME", 99, now - timedelta(minutes=60))
    a = alert(db, user, alert_type="threshold", condition="crosses_above", threshold_price=Decimal(100))
    quote(db, "ACME", 101, datetime.now(UTC))  # a crossing the alert (threshold 100) would catch,
    update_alert(db, user, a.id, {"threshold_price": Decimal("100.5")})  # but the owner changed it since
    assert run(db, now=datetime.now(UTC)).triggered == 0
    set_paused(db, user, a.id, True)
    quote(db, "ACME", 99.5, datetime.now(UTC))
    time.sleep(0.01)
    quote(db, "ACME", 101.5, datetime.now(UTC))  # crossed while paused
    time.sleep(0.01)
    set_paused(db, user, a.id, False)
    assert run(db, now=datetime.now(UTC)).triggered == 0
    # and the next crossing after the resume does fire
    quote(db, "ACME", 99, datetime.now(UTC))
    time.sleep(0.01)
    quote(db, "ACME", 102, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == 1


def quote_now(db, price) -> datetime:
    """A quote stamped now (after the alert): a new moment each call."""
    time.sleep(0.002)
    at = datetime.now(UTC)
    quote(db, "ACME", price, at)
    return at


def test_an_alert_judged_many_times_compares_the_latest_quote_with_the_one_just_before_it(db, user):
    quote(db, "ACME", 103, datetime.now(UTC) - timedelta(minutes=1))  # before the alert
    alert(db, user, alert_type="threshold", condition="crosses_above", threshold_price=Decimal(100))
    for price in (105, 95, 97):  # judged on each: 103 -> 105 and 105 -> 95 and 95 -> 97 cross nothing
        quote_now(db, price)
        assert run(db, now=datetime.now(UTC)).triggered == 0
    quote_now(db, 101)  # 97 -> 101: a crossing, whatever the first quote was
    assert run(db, now=datetime.now(UTC)).triggered == 1


def test_a_crossing_between_two_runs_is_judged_on_the_quote_before_the_latest_not_the_last_judged(db, user):
    quote(db, "ACME", 103, datetime.now(UTC) - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="crosses_above", threshold_price=Decimal(100))
    quote_now(db, 105)
    assert run(db, now=datetime.now(UTC)).triggered == 0  # judged on 105
    quote_now(db, 95)
    quote_now(db, 101)  # 95 -> 101 crossed, though the last judged price (105) was above
    assert run(db, now=datetime.now(UTC)).triggered == 1


@pytest.mark.parametrize(
    ("condition", "judged", "then", "fires"),
    [
        ("crosses_below", 105, (95, 96), True),  # 105 -> 95 crossed, then a step that crosses nothing
        ("crosses_below", 105, (100, 101), True),  # onto the threshold exactly, then back above
        ("crosses_below", 105, (101, 102), False),
        ("crosses_above", 95, (105, 104), True),
        ("crosses_above", 95, (100, 99), True),
        ("crosses_above", 95, (99, 98), False),
    ],
)
def test_a_crossing_in_any_step_since_the_last_run_fires(db, user, condition, judged, then, fires):
    # Fetches can outpace the evaluator (a slow run, runs that queue behind one another): every step
    # since the symbol was last judged counts, not only the last one.
    quote(db, "ACME", judged, datetime.now(UTC) - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition=condition, threshold_price=Decimal(100))
    quote_now(db, judged)
    assert run(db, now=datetime.now(UTC)).triggered == 0
    for price in then:
        quote_now(db, price)
    assert run(db, now=datetime.now(UTC)).triggered == int(fires)


def test_a_crossing_since_the_last_run_but_before_the_alert_changed_does_not_fire(db, user):
    from tickerwatch.alerts import update_alert

    quote(db, "ACME", 105, datetime.now(UTC) - timedelta(minutes=1))
    a = alert(db, user, alert_type="threshold", condition="crosses_below", threshold_price=Decimal(100))
    quote_now(db, 105)
    assert run(db, now=datetime.now(UTC)).triggered == 0
    quote_now(db, 95)  # crossed 100 and 99,
    update_alert(db, user, a.id, {"threshold_price": Decimal(99)})  # but the owner changed it since
    quote_now(db, 96)
    assert run(db, now=datetime.now(UTC)).triggered == 0


def test_a_recurring_crossing_alert_rearms_below_and_fires_on_the_next_crossing(db, user):
    quote(db, "ACME", 103, datetime.now(UTC) - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="crosses_above", threshold_price=Decimal(100), recurring=True)
    quote_now(db, 95)
    assert run(db, now=datetime.now(UTC)).triggered == 0
    quote_now(db, 101)
    assert run(db, now=datetime.now(UTC)).triggered == 1
    quote_now(db, 99)
    assert run(db, now=datetime.now(UTC)).rearmed == 1
    quote_now(db, 102)
    assert run(db, now=datetime.now(UTC)).triggered == 1
    assert triggers(db) == 2


def test_a_downward_crossing_before_the_alert_existed_does_not_fire(db, user):
    now = datetime.now(UTC)
    quote(db, "ACME", 101, now - timedelta(minutes=60))
    quote(db, "ACME", 99, now - timedelta(minutes=30))
    alert(db, user, alert_type="threshold", condition="crosses_below", threshold_price=Decimal(100))
    assert run(db, now=datetime.now(UTC)).triggered == 0


def test_a_downward_crossing_before_a_change_does_not_fire_but_the_next_one_does(db, user):
    from tickerwatch.alerts import update_alert

    now = datetime.now(UTC)
    quote(db, "ACME", 101, now - timedelta(minutes=60))
    a = alert(db, user, alert_type="threshold", condition="crosses_below", threshold_price=Decimal(100))
    quote(db, "ACME", 99, datetime.now(UTC))  # crosses 100 and 99.5,
    update_alert(db, user, a.id, {"threshold_price": Decimal("99.5")})  # but the owner changed it since
    assert run(db, now=datetime.now(UTC)).triggered == 0
    quote(db, "ACME", 100, datetime.now(UTC))
    time.sleep(0.01)
    quote(db, "ACME", 99, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == 1


# ---------------------------------------------------------------- duration


def test_duration_fires_when_every_quote_in_the_span_holds(db, user):
    series(db, "ACME", [(120, 99), (90, 100), (60, 101), (30, 100), (0, 102)], WED_3PM)
    alert(db, user, alert_type="duration", condition="above", threshold_price=Decimal(100), duration_minutes=60)
    assert run(db).triggered == 1  # 100 counts as above: at the threshold holds


def test_duration_broken_by_one_quote_does_not_fire(db, user):
    series(db, "ACME", [(90, 101), (60, 101), (30, 99.5), (0, 102)], WED_3PM)
    alert(db, user, alert_type="duration", condition="above", threshold_price=Decimal(100), duration_minutes=60)
    assert run(db).triggered == 0


def test_duration_not_yet_long_enough(db, user):
    series(db, "ACME", [(90, 99), (45, 101), (0, 102)], WED_3PM)
    alert(db, user, alert_type="duration", condition="above", threshold_price=Decimal(100), duration_minutes=60)
    assert run(db).triggered == 0  # the quote in force 60 minutes ago was 99


def test_duration_span_with_a_gap_in_the_quotes_is_not_covered(db, user):
    # Given quotes at 10:00 and 15:00 only: five trading hours with no evidence in between,
    series(db, "ACME", [(300, 101), (0, 102)], WED_3PM)
    alert(db, user, alert_type="duration", condition="above", threshold_price=Decimal(100), duration_minutes=60)
    # then the span is not covered and nothing fires,
    assert run(db).triggered == 0
    # and once quotes have arrived steadily for an hour after the gap (15:00 to 16:00), it does.
    for minutes in (30, 20, 10, 0):
        quote(db, "ACME", 103, WED_3PM + timedelta(minutes=60 - minutes))
    assert run(db, now=WED_3PM + timedelta(minutes=61)).triggered == 1


def test_duration_below_broken_by_one_quote_does_not_fire(db, user):
    series(db, "ACME", [(75, 49), (40, 50.5), (0, 48)], WED_3PM)
    alert(db, user, alert_type="duration", condition="below", threshold_price=Decimal(50), duration_minutes=60)
    assert run(db).triggered == 0


def test_duration_below(db, user):
    series(db, "ACME", [(75, 49), (40, 50), (0, 48)], WED_3PM)
    alert(db, user, alert_type="duration", condition="below", threshold_price=Decimal(50), duration_minutes=60)
    assert run(db).triggered == 1


# ---------------------------------------------------------------- percent change


@pytest.mark.parametrize(
    ("condition", "start", "end", "fires"),
    [
        ("up", 100, 105, True),
        ("up", 100, 104.99, False),
        ("down", 100, 95, True),
        ("down", 100, 95.01, False),
        ("up", 100, 90, False),
        ("down", 100, 110, False),  # a rise is not a fall
    ],
)
def test_percent_change_within_window(db, user, condition, start, end, fires):
    series(db, "ACME", [(90, 100), (60, start), (30, (start + end) / 2), (0, end)], WED_3PM)
    alert(db, user, alert_type="percent_change", condition=condition, percent=Decimal(5), window_minutes=60)
    assert run(db).triggered == int(fires)


@pytest.mark.parametrize(("condition", "end"), [("up", 110), ("down", 90)])
def test_percent_change_across_a_gap_in_the_quotes_does_not_fire(db, user, condition, end):
    # Given the quote in force an hour ago is from five trading hours ago, with nothing since,
    series(db, "ACME", [(300, 100), (0, end)], WED_3PM)
    alert(db, user, alert_type="percent_change", condition=condition, percent=Decimal(5), window_minutes=60)
    # then the 10% move is not evidence of a move within the hour, and nothing fires.
    assert run(db).triggered == 0


# ---------------------------------------------------------------- staleness (market time)


def test_stale_price_never_triggers_and_is_reported(db, user):
    quote(db, "ACME", 150, ny(2024, 5, 13, 10))  # Monday morning; "now" is Wednesday afternoon
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    summary = run(db)
    assert (summary.evaluated, summary.skipped_stale, summary.triggered) == (1, 1, 0)


@pytest.mark.parametrize(
    ("now", "fresh"),
    [
        (ny(2024, 5, 18, 12), True),  # Saturday noon: no trading since Friday's close
        (ny(2024, 5, 20, 9, 0), True),  # Monday before the open
        (ny(2024, 5, 20, 11, 30), True),  # exactly 120 market minutes
        (ny(2024, 5, 20, 11, 31), False),
    ],
)
def test_last_close_stays_fresh_until_the_market_has_been_open_long_enough(db, user, now, fresh):
    quote(db, "ACME", 150, ny(2024, 5, 17, 16))  # Friday's close
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    summary = run(db, now=now)
    assert summary.triggered == int(fresh)
    assert summary.skipped_stale == int(not fresh)


# ---------------------------------------------------------------- recurring and expiry


def test_recurring_alert_rearms_after_cooldown_once_false_again(db, user):
    t0 = WED_3PM
    quote(db, "ACME", 101, t0 - timedelta(minutes=1))
    a = alert(
        db,
        user,
        alert_type="threshold",
        condition="above",
        threshold_price=Decimal(100),
        recurring=True,
        cooldown_minutes=10,
    )
    assert run(db, now=t0).triggered == 1
    assert run(db, now=t0 + timedelta(minutes=15)).triggered == 0  # still true: not re-armed
    quote(db, "ACME", 99, t0 + timedelta(minutes=4))
    assert run(db, now=t0 + timedelta(minutes=5)).rearmed == 0  # false again, but inside the cooldown
    assert run(db, now=t0 + timedelta(minutes=16)).rearmed == 1  # false and cooled down: re-armed
    quote(db, "ACME", 101, t0 + timedelta(minutes=18))
    assert run(db, now=t0 + timedelta(minutes=20)).triggered == 1
    assert triggers(db) == 2
    assert status(db, a.id) == "active"


@pytest.mark.parametrize(
    ("after", "rearmed"), [(timedelta(minutes=10), 1), (timedelta(minutes=10) - timedelta(microseconds=1), 0)]
)
def test_cooldown_ends_exactly_at_its_length(db, user, after, rearmed):
    t0 = WED_3PM
    quote(db, "ACME", 101, t0 - timedelta(minutes=1))
    alert(
        db,
        user,
        alert_type="threshold",
        condition="above",
        threshold_price=Decimal(100),
        recurring=True,
        cooldown_minutes=10,
    )
    assert run(db, now=t0).triggered == 1
    quote(db, "ACME", 99, t0 + timedelta(minutes=2))
    # Given it fired at t0 with a 10-minute cooldown and is false again, it re-arms at t0 + 10 min, not before.
    assert run(db, now=t0 + after).rearmed == rearmed


def test_a_stale_price_does_not_rearm(db, user):
    t0 = WED_3PM
    quote(db, "ACME", 101, t0 - timedelta(minutes=1))
    alert(
        db,
        user,
        alert_type="threshold",
        condition="above",
        threshold_price=Decimal(100),
        recurring=True,
        cooldown_minutes=10,
    )
    assert run(db, now=t0).triggered == 1
    quote(db, "ACME", 99, t0 + timedelta(minutes=2))  # false again, but this price goes stale:
    later = ny(2024, 5, 16, 15)  # the next afternoon, with no quote since
    assert run(db, now=later).rearmed == 0


def test_expired_alert_is_not_evaluated_and_shows_expired(db, user):
    now = datetime.now(UTC)
    quote(db, "ACME", 150, now)
    a = alert(
        db,
        user,
        alert_type="threshold",
        condition="above",
        threshold_price=Decimal(100),
        expires_at=now + timedelta(hours=1),
    )
    later = now + timedelta(hours=2)
    quote(db, "ACME", 151, later)
    summary = run(db, now=later)
    assert (summary.evaluated, summary.triggered) == (0, 0)
    db.run(
        lambda conn: conn.execute("UPDATE alerts SET expires_at = now() - interval '1 second' WHERE id = %s", (a.id,))
    )
    from tickerwatch.alerts import get_alert

    shown = get_alert(db, user, a.id)
    assert (shown.status, shown.is_active) == ("expired", False)


# ---------------------------------------------------------------- concurrency


def test_eight_overlapping_runs_fire_each_alert_once_and_send_each_email_once(db, user, database_url):
    from tickerwatch.data.users import insert_user

    users = [user] + [
        db.run(lambda conn, i=i: insert_user(conn, f"u{i}", f"u{i}", f"u{i}@example.com", "x")).id for i in range(4)
    ]
    for i in range(10):
        quote(db, f"S{i}", 200, WED_3PM - timedelta(minutes=2))
    expected = 0
    for u in users:
        for i in range(10):
            alert(db, u, symbol=f"S{i}", alert_type="threshold", condition="above", threshold_price=Decimal(100))
            expected += 1
    sender = RecordingSender(delay=0.002)

    def evaluator():
        own = Database(database_url)  # its own connection, like a separate Lambda
        try:
            return run(own, sender)
        finally:
            own.close_all()

    summaries, errors = run_together(evaluator, 8)
    assert not errors
    assert sum(s.triggered for s in summaries) == expected
    assert triggers(db) == expected
    assert sum(s.emails_sent for s in summaries) == expected
    assert len(sender.sent) == expected
    assert len({(e.to, e.subject) for e in sender.sent}) == len(users) * 10


# ---------------------------------------------------------------- notifications


def test_failed_email_stays_pending_with_error_and_is_retried_with_backoff(db, user):
    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    sender = RecordingSender(fail_times=1)
    first = run(db, sender)
    assert (first.triggered, first.emails_sent, first.emails_failed) == (1, 0, 1)
    row = db.run(
        lambda conn: conn.execute("SELECT status, last_error, attempts, next_attempt_at FROM notifications").fetchone()
    )
    assert row["status"] == "pending" and "451" in row["last_error"] and row["attempts"] == 1
    assert row["next_attempt_at"] == WED_3PM + timedelta(minutes=1)
    # not yet due: nothing is sent
    assert run(db, sender, now=WED_3PM + timedelta(seconds=30)).emails_sent == 0
    # due: sent once, and never again
    assert run(db, sender, now=WED_3PM + timedelta(minutes=2)).emails_sent == 1
    assert run(db, sender, now=WED_3PM + timedelta(minutes=10)).emails_sent == 0
    assert len(sender.sent) == 1
    email = sender.sent[0]
    assert "ACME" in email.subject and "150.00" in email.text and "at or above 100.00" in email.text
    assert "<html>" in email.html and "2024-05-15" in email.text


def test_gives_up_after_max_attempts(db, user):
    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    sender = RecordingSender(fail_times=99)
    for minutes in (0, 2, 10, 60):
        run(db, sender, now=WED_3PM + timedelta(minutes=minutes))
    row = db.run(lambda conn: conn.execute("SELECT status, attempts FROM notifications").fetchone())
    assert (row["status"], row["attempts"]) == ("failed", 3)


def test_no_email_when_notifications_are_off(db, user):
    db.run(lambda conn: conn.execute("UPDATE users SET email_notifications = false"))
    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    sender = RecordingSender()
    summary = run(db, sender)
    assert summary.triggered == 1 and summary.emails_sent == 0 and not sender.sent
    assert db.run(lambda conn: conn.execute("SELECT status FROM notifications").fetchone()["status"]) == "skipped"


def test_an_email_claimed_by_a_run_that_died_is_sent_at_once_unless_it_was_handed_over(db, user):
    from tickerwatch.data import evaluation, outbox
    from tickerwatch.notifications import LEASE

    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(110))
    db.run(lambda conn: evaluation.claim_triggers(conn, WED_3PM, 120))
    # Given a run claimed both emails for sending, handed one to the provider and died,
    claimed = db.run(lambda conn: outbox.claim_notifications(conn, WED_3PM, 10, LEASE))
    assert len(claimed) == 2
    gone = claimed[0]
    assert db.one(lambda conn: outbox.hand_over(conn, gone.id, gone.attempts))
    sender = RecordingSender()
    # then the next run sends the one never handed over at once,
    assert run(db, sender, now=WED_3PM + timedelta(seconds=1)).emails_sent == 1
    # while the one that may have gone waits for its lease,
    assert run(db, sender, now=WED_3PM + LEASE - timedelta(seconds=1)).emails_sent == 0
    # and once the lease has run out, the next run sends it, once.
    assert run(db, sender, now=WED_3PM + LEASE + timedelta(seconds=1)).emails_sent == 1
    assert run(db, sender, now=WED_3PM + LEASE + timedelta(minutes=10)).emails_sent == 0
    assert len(sender.sent) == 2
    # A dispatcher that lost its lock and still holds the earlier claim cannot hand it over again.
    assert not db.one(lambda conn: outbox.hand_over(conn, gone.id, gone.attempts))


def test_a_notification_claimed_again_cannot_be_handed_over_by_its_earlier_claim(db, user):
    """Fencing: a dispatcher that lost its lock (its connection dropped while it ran on) and still holds
    an earlier claim cannot send what the next dispatcher has claimed since."""
    from tickerwatch.data import evaluation, outbox
    from tickerwatch.notifications import LEASE

    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    db.run(lambda conn: evaluation.claim_triggers(conn, WED_3PM, 120))
    [first] = db.run(lambda conn: outbox.claim_notifications(conn, WED_3PM, 10, LEASE))
    [again] = db.run(lambda conn: outbox.claim_notifications(conn, WED_3PM, 10, LEASE))  # never handed over
    assert again.attempts == first.attempts + 1
    assert not db.one(lambda conn: outbox.hand_over(conn, first.id, first.attempts))
    assert db.one(lambda conn: outbox.hand_over(conn, again.id, again.attempts))
    assert not db.one(lambda conn: outbox.hand_over(conn, again.id, again.attempts))  # once per claim


def test_a_run_that_waited_for_another_reads_its_clock_after_the_wait(db, user, database_url):
    """What commits while a run waits for an overlapping one (here an alert) is judged by it, and
    stamped after it was made, not with the moment the run began waiting."""
    import psycopg

    from tickerwatch.data.evaluation import EVALUATION_LOCK_KEY

    quote(db, "ACME", 150, datetime.now(UTC) - timedelta(seconds=5))
    other_run = psycopg.connect(database_url)
    other_run.execute("SELECT pg_advisory_xact_lock(%s)", (EVALUATION_LOCK_KEY,))
    summary = {}
    waiting = threading.Thread(target=lambda: summary.setdefault("run", run(db, now=None)))
    waiting.start()
    waits = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    deadline = time.monotonic() + 30
    while not other_run.execute(waits).fetchone()[0]:  # the run is queued behind the other one
        assert time.monotonic() < deadline, "the run never waited for the lock"
        time.sleep(0.02)
    made = alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    other_run.rollback()
    other_run.close()
    waiting.join(30)
    assert summary["run"].triggered == 1
    trigger = db.run(lambda conn: conn.execute("SELECT triggered_at FROM alert_triggers").fetchone())
    assert trigger["triggered_at"] >= made.created_at


# ---------------------------------------------------------------- change-driven evaluation


def test_a_run_judges_only_what_changed(db, user):
    quote(db, "ACME", 99, WED_3PM - timedelta(minutes=5))
    quote(db, "OTHER", 50, WED_3PM - timedelta(minutes=5))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    alert(db, user, symbol="OTHER", alert_type="threshold", condition="below", threshold_price=Decimal(40))
    first = run(db)
    assert (first.symbols_changed, first.evaluated, first.triggered) == (2, 2, 0)  # both new
    # Given nothing moved, a run judges nothing,
    again = run(db, now=WED_3PM + timedelta(minutes=1))
    assert (again.symbols_changed, again.evaluated) == (0, 0)
    # and when one price moves past a threshold, only that symbol's reached alerts are judged.
    quote(db, "ACME", 101, WED_3PM)
    moved = run(db, now=WED_3PM + timedelta(minutes=2))
    assert (moved.symbols_changed, moved.evaluated, moved.triggered) == (1, 1, 1)


def test_a_corrected_price_at_the_same_time_is_judged_again(db, user):
    quote(db, "ACME", 99, WED_3PM - timedelta(minutes=5))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    assert run(db).triggered == 0
    quote(db, "ACME", 101, WED_3PM - timedelta(minutes=5))  # the provider corrects that quote
    assert run(db, now=WED_3PM + timedelta(minutes=1)).triggered == 1


def test_a_changed_alert_is_judged_on_the_next_run_without_a_new_price(db, user):
    from tickerwatch.alerts import update_alert

    quote(db, "ACME", 120, WED_3PM - timedelta(minutes=5))
    a = alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(150))
    assert run(db).triggered == 0
    update_alert(db, user, a.id, {"threshold_price": Decimal(110)})
    assert run(db, now=WED_3PM + timedelta(minutes=1)).triggered == 1


def test_a_resumed_alert_is_judged_on_the_next_run_without_a_new_price(db, user):
    from tickerwatch.alerts import set_paused

    quote(db, "ACME", 99, WED_3PM - timedelta(minutes=5))
    a = alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    assert run(db, now=WED_3PM - timedelta(minutes=4)).triggered == 0  # judged once, on 99
    set_paused(db, user, a.id, True)
    quote(db, "ACME", 120, WED_3PM - timedelta(minutes=3))
    assert run(db).triggered == 0  # paused: the move is judged for nobody
    set_paused(db, user, a.id, False)
    assert run(db, now=WED_3PM + timedelta(minutes=1)).triggered == 1


@pytest.mark.parametrize(
    ("fields", "before", "after", "fires"),
    [
        ({"alert_type": "threshold", "condition": "above", "threshold_price": Decimal(100)}, 95, 100, True),
        ({"alert_type": "threshold", "condition": "above", "threshold_price": Decimal(100)}, 95, 99.99, False),
        ({"alert_type": "threshold", "condition": "below", "threshold_price": Decimal(100)}, 105, 100, True),
        ({"alert_type": "threshold", "condition": "below", "threshold_price": Decimal(100)}, 105, 100.01, False),
        ({"alert_type": "threshold", "condition": "crosses_above", "threshold_price": Decimal(100)}, 99.99, 100, True),
        ({"alert_type": "threshold", "condition": "crosses_above", "threshold_price": Decimal(100)}, 100, 101, False),
        ({"alert_type": "threshold", "condition": "crosses_below", "threshold_price": Decimal(100)}, 100.01, 100, True),
        ({"alert_type": "threshold", "condition": "crosses_below", "threshold_price": Decimal(100)}, 100, 99, False),
    ],
)
def test_a_price_move_reaches_exactly_the_alerts_at_its_edges(db, user, fields, before, after, fires):
    # Given an alert already judged on an earlier price (so only the move can reach it),
    quote(db, "ACME", before, WED_3PM - timedelta(minutes=10))
    alert(db, user, **fields)
    assert run(db, now=WED_3PM - timedelta(minutes=9)).triggered == 0
    # when the price moves to the edge,
    time.sleep(0.01)
    quote(db, "ACME", after, datetime.now(UTC))
    # then the move fires it exactly when the rule says so.
    assert run(db, now=datetime.now(UTC)).triggered == int(fires)


@pytest.mark.parametrize(
    ("condition", "held", "last", "fires"),
    [("above", 100, 100, True), ("above", 100, 99.99, False), ("below", 100, 100, True), ("below", 100, 100.01, False)],
)
def test_a_duration_reached_by_a_move(db, user, condition, held, last, fires):
    series(db, "ACME", [(120, 200 if condition == "below" else 50)], WED_3PM)  # the other side, long ago
    alert(db, user, alert_type="duration", condition=condition, threshold_price=Decimal(100), duration_minutes=60)
    assert run(db, now=WED_3PM - timedelta(minutes=119)).triggered == 0
    series(db, "ACME", [(90, held), (60, held), (30, held), (0, last)], WED_3PM)
    assert run(db).triggered == int(fires)


@pytest.mark.parametrize(
    ("condition", "end", "fires"),
    [("up", 105, True), ("up", 104.99, False), ("down", 95, True), ("down", 95.01, False)],
)
def test_a_percent_change_reached_by_a_move(db, user, condition, end, fires):
    series(db, "ACME", [(90, 100), (60, 100)], WED_3PM)
    alert(db, user, alert_type="percent_change", condition=condition, percent=Decimal(5), window_minutes=60)
    assert run(db, now=WED_3PM - timedelta(minutes=59)).triggered == 0
    series(db, "ACME", [(30, 100), (0, end)], WED_3PM)
    assert run(db).triggered == int(fires)


# ---------------------------------------------------------------- sending at the provider's rate


def fired(db, user, count: int) -> None:
    """``count`` alerts fired, each with its email due."""
    for i in range(count):
        quote(db, f"S{i:03d}", 200, WED_3PM - timedelta(minutes=2))
        alert(db, user, symbol=f"S{i:03d}", alert_type="threshold", condition="above", threshold_price=Decimal(100))
    from tickerwatch.data import evaluation

    assert db.run(lambda conn: evaluation.claim_triggers(conn, WED_3PM, 120))["triggered"] == count


def test_emails_go_out_concurrently_at_the_configured_rate_each_once(db, user):
    from tickerwatch.notifications import dispatch_notifications

    fired(db, user, 40)
    sender = RecordingSender(delay=0.05)  # 50 ms a send, like SES
    started = time.monotonic()
    sent, failed = dispatch_notifications(db, sender, max_attempts=3, now=WED_3PM, rate_per_second=100)
    elapsed = time.monotonic() - started
    assert (sent, failed) == (40, 0)
    assert len({e.subject for e in sender.sent}) == 40 == len(sender.sent)
    # one at a time would take 2 s; at 100 a second, 40 take about 0.4 s
    assert 0.38 <= elapsed < 1.2, elapsed


CRASHING_DISPATCHER = """
import sys, time
from datetime import datetime
from tickerwatch.db import Database
from tickerwatch.notifications import dispatch_notifications

class FileSender:
    def send(self, email):
        time.sleep(0.02)
        with open(sys.argv[2], "a") as log:
            log.write(email.subject + "\\n")
        return "m"

dispatch_notifications(Database(sys.argv[1]), FileSender(), max_attempts=3,
                       now=datetime.fromisoformat(sys.argv[3]), rate_per_second=50, concurrency=4)
"""


def test_a_dispatcher_killed_mid_send_loses_nothing(db, user, database_url, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    from tickerwatch.notifications import LEASE, dispatch_notifications

    fired(db, user, 30)
    log = tmp_path / "sent.txt"
    # Given a dispatcher process killed (SIGKILL) while sending,
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_DISPATCHER, database_url, str(log), WED_3PM.isoformat()],
        env={**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"},
    )
    deadline = time.monotonic() + 30
    while (not log.exists() or len(log.read_text().splitlines()) < 10) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(10)
    before = log.read_text().splitlines()
    assert 10 <= len(before) < 30
    everything = {f"tickerwatch alert: S{i:03d} at or above 100.00" for i in range(30)}
    # when the next run comes at once, it sends every email the killed one never handed over, none twice;
    sender = RecordingSender()
    dispatch_notifications(db, sender, max_attempts=3, now=WED_3PM + timedelta(seconds=1))
    at_once = [e.subject for e in sender.sent]
    assert not set(before) & set(at_once) and len(at_once) == len(set(at_once))
    assert len(everything - set(before) - set(at_once)) <= 4  # at most those in flight at the kill (4 senders)
    # and a run after the lease of those in flight sends what is left: only they could go twice.
    dispatch_notifications(db, sender, max_attempts=3, now=WED_3PM + LEASE + timedelta(seconds=1))
    after = [e.subject for e in sender.sent]
    assert set(before) | set(after) == everything
    assert len(set(before) & set(after)) <= 4
    statuses = db.run(
        lambda conn: conn.execute("SELECT status, count(*) AS n FROM notifications GROUP BY 1").fetchall()
    )
    assert [(r["status"], r["n"]) for r in statuses] == [("sent", 30)]


def test_the_claim_never_fires_a_disarmed_alert_even_when_handed_one(db, user):
    """The last guard of exactly-once: whatever list of candidates reaches the claim (a run that
    found them before another disarmed them), it re-checks arming on the locked row."""
    from tickerwatch.data import evaluation

    quote(db, "ACME", 101, WED_3PM - timedelta(minutes=1))
    a = alert(
        db,
        user,
        alert_type="threshold",
        condition="above",
        threshold_price=Decimal(100),
        recurring=True,
        cooldown_minutes=60,
    )
    assert run(db).triggered == 1  # fired: now disarmed, cooling down

    def claim_again(conn):
        params = {"now": WED_3PM, "max_age": 120, "ids": [a.id], "symbols": [], "quoted": [], "prices": []}
        return conn.execute(evaluation.CLAIM_TRIGGERS, params).fetchone()

    assert db.run(claim_again)["triggered"] == 0
    assert triggers(db) == 1


def test_each_run_reports_how_long_the_oldest_unsent_email_has_waited(db, user):
    from tickerwatch.observability import METRIC_OLDEST_PENDING_NOTIFICATION_AGE, metrics

    def reported() -> float:
        values = metrics.metric_set[METRIC_OLDEST_PENDING_NOTIFICATION_AGE]["Value"]
        metrics.clear_metrics()
        return values[-1]

    # Given an email that the provider has refused for twenty minutes,
    quote(db, "ACME", 150, WED_3PM - timedelta(minutes=1))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal(100))
    metrics.clear_metrics()
    run(db, RecordingSender(fail_times=1))
    assert reported() < 60
    db.run(lambda conn: conn.execute("UPDATE notifications SET created_at = now() - interval '20 minutes'"))
    # when the next run cannot send it either, the metric says how long it has waited (the alarm: 15 minutes),
    run(db, RecordingSender(fail_times=1), now=WED_3PM + timedelta(minutes=2))
    assert 20 * 60 <= reported() < 21 * 60
    # and once it is sent, nothing waits.
    run(db, RecordingSender(), now=WED_3PM + timedelta(minutes=10))
    assert reported() == 0


def test_the_claims_statements_are_planned_for_each_runs_parameters(db, user, database_url):
    # Given an evaluator whose connection has run the claim often enough for its statements to be prepared,
    from tickerwatch.data import evaluation

    evaluator = Database(database_url)
    quote(db, "ACME", 99.0, WED_3PM - timedelta(minutes=31))
    alert(db, user, alert_type="threshold", condition="above", threshold_price=Decimal("1000"))
    try:
        for minute in range(12):
            quote(db, "ACME", 100.0 + minute, WED_3PM - timedelta(minutes=30 - minute))
            evaluator.run(lambda conn, m=minute: evaluation.claim_triggers(conn, WED_3PM + timedelta(seconds=m), 120))
        # then Postgres planned them for the run's own parameters each time, never with a generic plan
        # that quiet runs made look cheap.
        plans = evaluator.one(
            lambda conn: conn.execute(
                "SELECT count(*) AS n, coalesce(sum(generic_plans), 0) AS generic FROM pg_prepared_statements"
                " WHERE statement NOT LIKE '%%pg_advisory_xact_lock%%'"
            ).fetchone()
        )
        assert plans["n"] >= 2
        assert plans["generic"] == 0
    finally:
        evaluator.close_all()
