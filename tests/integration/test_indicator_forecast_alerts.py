"""Indicator alerts (the price or an average against a moving average of daily closes) and forecast
alerts (the model's forecast close against a price; the price outside the forecast band), judged by
the evaluator in SQL on hand-made bars and quotes, and the forecast_alerts job on real histories."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from market import NY, WED_3PM, quote

from tickerwatch.alerts import AlertDefinition, create_alert, get_alert, set_paused
from tickerwatch.data import prices
from tickerwatch.errors import InvalidInput, Unprocessable
from tickerwatch.market_data import PriceBar, StockInfo
from tickerwatch.processing import process_prices

ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = ROOT.parent / "shared" / "data"
TUESDAY = date(2024, 5, 14)  # the last completed bar before WED_3PM


@pytest.fixture
def user(db):
    from tickerwatch.data.users import insert_user

    return db.run(lambda conn: insert_user(conn, "alice", "alice", "alice@example.com", "x")).id


def weekdays_back(last: date, count: int) -> list[date]:
    days, day = [], last
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    return days[::-1]


def bars(db, symbol: str, closes: list[float], last: date = TUESDAY) -> None:
    """Daily bars with these closes, oldest first, on the weekdays ending ``last``."""
    days = weekdays_back(last, len(closes))
    rows = [PriceBar(symbol, d, c, c, c, c, c, 1000) for d, c in zip(days, closes, strict=True)]

    def work(conn):
        prices.upsert_stocks(conn, [StockInfo(symbol, symbol, None)])
        prices.write_bars(conn, rows)

    db.run(work)


def live_clock() -> tuple[datetime, date]:
    """Now, and the last weekday before today in New York: crossings count only on quotes newer than
    the alert, which is stamped with the database's clock, so those tests run on real time."""
    now = datetime.now(UTC)
    return now, weekdays_back(now.astimezone(NY).date() - timedelta(days=1), 1)[0]


def run(db, now=WED_3PM):
    from fakes import RecordingSender

    return process_prices(db, RecordingSender(), max_price_age_minutes=120, max_attempts=3, now=now)


def alert(db, user, **fields):
    fields.setdefault("symbol", "ACME")
    return create_alert(db, user, AlertDefinition(**fields))


def last_trigger(db) -> dict:
    return db.run(lambda conn: conn.execute("SELECT * FROM alert_triggers ORDER BY id DESC LIMIT 1").fetchone())


def fired_triggers(db) -> dict[int, dict]:
    rows = db.run(lambda conn: conn.execute("SELECT * FROM alert_triggers").fetchall())
    return {r["alert_id"]: r for r in rows}


def sql_average(db, symbol, kind, period, before) -> float | None:
    """The average in force for a quote on the day ``before``: of the closes before it."""
    return db.run(
        lambda conn: conn.execute(
            "SELECT moving_average(%s, %s, %s, %s) AS v", (symbol, kind, period, before - timedelta(days=1))
        ).fetchone()["v"]
    )


# ---------------------------------------------------------------- the averages


def tsla_closes() -> list[float]:
    with open(SHARED_DATA / "TSLA.csv") as f:
        return [float(r["Close"]) for r in csv.DictReader(f) if r["Close"] not in ("", "null")]


def full_history_ema(closes: list[float], period: int) -> float:
    alpha = 2 / (period + 1)
    value = sum(closes[:period]) / period
    for c in closes[period:]:
        value = alpha * c + (1 - alpha) * value
    return value


@pytest.mark.parametrize("period", [2, 20, 50, 200, 400])
def test_sql_averages_match_their_definitions_on_a_real_history(db, period):
    closes = tsla_closes()[-1500:]
    bars(db, "TSLA", closes)
    tomorrow = TUESDAY + timedelta(days=1)
    assert sql_average(db, "TSLA", "sma", period, tomorrow) == pytest.approx(sum(closes[-period:]) / period, rel=1e-9)
    # The EMA looks back 4 x period closes, not the whole history: within 0.1% of a full-history EMA.
    assert sql_average(db, "TSLA", "ema", period, tomorrow) == pytest.approx(full_history_ema(closes, period), rel=1e-3)
    # Only closes before the given day count (the day in progress is not a completed bar).
    assert sql_average(db, "TSLA", "sma", period, TUESDAY) == pytest.approx(
        sum(closes[-period - 1 : -1]) / period, rel=1e-9
    )


def test_an_ema_over_exactly_its_period_is_the_sma_and_too_few_closes_give_none(db):
    bars(db, "ACME", [10, 20, 30])
    tomorrow = TUESDAY + timedelta(days=1)
    assert sql_average(db, "ACME", "ema", 3, tomorrow) == pytest.approx(20)
    assert sql_average(db, "ACME", "ema", 2, tomorrow) == pytest.approx(2 / 3 * 30 + 1 / 3 * 15)
    assert sql_average(db, "ACME", "sma", 4, tomorrow) is None


# ---------------------------------------------------------------- price against an average


@pytest.mark.parametrize(
    ("condition", "price", "fires"),
    [("above", 100, True), ("above", 99.99, False), ("below", 100, True), ("below", 100.01, False)],
)
def test_price_against_its_average_including_exactly_at_it(db, user, condition, price, fires):
    bars(db, "ACME", [90, 100, 110])  # SMA(3) = 100
    quote(db, "ACME", price, WED_3PM - timedelta(minutes=5))
    a = alert(db, user, alert_type="indicator", condition=condition, indicator="sma", period=3)
    assert run(db).triggered == int(fires)
    if fires:
        t = last_trigger(db)
        assert (t["indicator"], t["period"]) == ("sma", 3)
        assert t["observed_value"] == Decimal(str(price)) and t["reference_value"] == 100
        assert get_alert(db, user, a.id).status == "triggered"


def test_the_bar_of_the_quotes_own_day_is_not_in_its_average(db, user):
    # Wednesday's bar (200) has landed; a Wednesday quote is still judged on the closes before it.
    bars(db, "ACME", [90, 100, 110, 200], last=WED_3PM.date())
    quote(db, "ACME", 100, WED_3PM)
    alert(db, user, alert_type="indicator", condition="above", indicator="sma", period=3)
    assert run(db).triggered == 1
    assert last_trigger(db)["reference_value"] == 100


@pytest.mark.parametrize(
    ("condition", "before", "after", "fires"),
    [
        ("crosses_above", 99, 101, True),
        ("crosses_above", 99, 100, True),  # lands exactly on the average
        ("crosses_above", 100, 101, False),  # was at, not below, it
        ("crosses_above", 101, 102, False),  # already above: a state, not a crossing
        ("crosses_below", 101, 99, True),
        ("crosses_below", 99, 98, False),
    ],
)
def test_price_crossing_its_average_between_evaluations(db, user, condition, before, after, fires):
    now, last_bar = live_clock()
    bars(db, "ACME", [90, 100, 110], last=last_bar)
    quote(db, "ACME", before, now - timedelta(minutes=30))
    alert(db, user, alert_type="indicator", condition=condition, indicator="sma", period=3)
    assert run(db, now=datetime.now(UTC)).triggered == 0  # judged on the first quote: no crossing
    quote(db, "ACME", after, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == int(fires)


def test_an_alert_judged_again_compares_the_latest_quote_with_the_one_just_before_it(db, user):
    now, last_bar = live_clock()
    bars(db, "ACME", [90, 100, 110], last=last_bar)
    quote(db, "ACME", 101, now - timedelta(minutes=30))  # above the average (100), before the alert
    alert(db, user, alert_type="indicator", condition="crosses_above", indicator="sma", period=3)
    quote(db, "ACME", 99, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == 0  # 101 -> 99: a crossing, but downward
    quote(db, "ACME", 101, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == 1  # 99 -> 101, whatever the first quote was


def test_a_new_alert_judged_on_a_quote_after_it_needs_the_previous_quote_on_the_other_side(db, user):
    now, last_bar = live_clock()
    bars(db, "ACME", [90, 100, 110], last=last_bar)
    quote(db, "ACME", 101, now - timedelta(minutes=30))
    alert(db, user, alert_type="indicator", condition="crosses_above", indicator="sma", period=3)
    quote(db, "ACME", 102, datetime.now(UTC))  # after the alert, but above the average on both quotes
    assert run(db, now=datetime.now(UTC)).triggered == 0


def test_a_crossing_before_the_alert_existed_does_not_count(db, user):
    bars(db, "ACME", [90, 100, 110])
    quote(db, "ACME", 99, WED_3PM - timedelta(minutes=60))
    quote(db, "ACME", 101, WED_3PM - timedelta(minutes=30))
    alert(db, user, alert_type="indicator", condition="crosses_above", indicator="sma", period=3)
    assert run(db).triggered == 0


def at_3pm(day: date) -> datetime:
    return datetime.combine(day, time(15), NY).astimezone(UTC)


def test_the_average_moving_past_a_steady_price_is_a_crossing(db, user):
    _, last_bar = live_clock()
    # The last session's quote of 100 was under the average of the closes before it (101);
    bars(db, "ACME", [101, 101, 101], last=weekdays_back(last_bar - timedelta(days=1), 1)[0])
    quote(db, "ACME", 100, at_3pm(last_bar))
    a = alert(db, user, alert_type="indicator", condition="crosses_above", indicator="sma", period=3)
    # that session's bar closes at 95, so today the average is 99 and the same price is above it.
    bars(db, "ACME", [95], last=last_bar)
    quote(db, "ACME", 100, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == 1
    t = last_trigger(db)
    assert t["alert_id"] == a.id and float(t["reference_value"]) == pytest.approx(99)


def test_golden_and_death_crosses_of_two_averages(db, user):
    _, last_bar = live_clock()
    # SMA(2) against SMA(4): before the last session 12, 12, 10, 8 (9 under 10.5); then 12, 10, 8, 16.
    bars(db, "ACME", [12, 12, 10, 8], last=weekdays_back(last_bar - timedelta(days=1), 1)[0])
    quote(db, "ACME", 12, at_3pm(last_bar))
    golden = alert(
        db,
        user,
        alert_type="indicator",
        condition="crosses_above",
        indicator="sma",
        period=2,
        other_indicator="sma",
        other_period=4,
    )
    death = alert(
        db,
        user,
        alert_type="indicator",
        condition="crosses_below",
        indicator="sma",
        period=2,
        other_indicator="sma",
        other_period=4,
    )
    above = alert(
        db,
        user,
        alert_type="indicator",
        condition="above",
        indicator="ema",
        period=2,
        other_indicator="sma",
        other_period=4,
    )
    assert run(db, now=at_3pm(last_bar) + timedelta(minutes=1)).triggered == 0  # EMA(2) 8.89 under 10.5
    bars(db, "ACME", [16], last=last_bar)  # SMA(2) 12 over SMA(4) 11.5: the golden cross; EMA(2) 13.63
    quote(db, "ACME", 12, datetime.now(UTC))
    assert run(db, now=datetime.now(UTC)).triggered == 2
    fired = fired_triggers(db)
    assert (float(fired[golden.id]["observed_value"]), float(fired[golden.id]["reference_value"])) == (12, 11.5)
    ema = 2 / 3 * 16 + 1 / 3 * (2 / 3 * 8 + 1 / 3 * (2 / 3 * 10 + 1 / 3 * 12))
    assert float(fired[above.id]["observed_value"]) == pytest.approx(ema, abs=1e-6)
    assert get_alert(db, user, death.id).status == "active"
    assert get_alert(db, user, above.id).status == "triggered"


def test_each_average_is_computed_once_per_symbol_and_day_whatever_the_number_of_alerts(db, user):
    from tickerwatch.data.users import insert_user

    bars(db, "ACME", [90, 100, 110])
    quote(db, "ACME", 95, WED_3PM - timedelta(minutes=5))
    for n in range(30):
        owner = db.run(lambda conn, n=n: insert_user(conn, f"u{n}", f"u{n}", f"u{n}@example.com", "x")).id
        alert(db, owner, alert_type="indicator", condition="above", indicator="sma", period=3)
    run(db)
    cached = db.run(lambda conn: conn.execute("SELECT * FROM moving_averages").fetchall())
    assert [(r["kind"], r["period"], r["through_day"], r["value"]) for r in cached] == [("sma", 3, TUESDAY, 100.0)]
    # a revised bar drops the averages that used it: the next run computes them from the new closes
    bars(db, "ACME", [80], last=TUESDAY)
    assert db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM moving_averages").fetchone()["n"]) == 0
    quote(db, "ACME", 96, WED_3PM)
    assert run(db, now=WED_3PM + timedelta(minutes=1)).triggered == 30  # SMA(3) is now 90


def test_averages_are_computed_when_the_bars_land_and_kept_when_a_newer_bar_follows(db, user, tsla):
    from tickerwatch.ingest import fetch_prices

    def cached():
        rows = db.run(lambda conn: conn.execute("SELECT * FROM moving_averages ORDER BY period").fetchall())
        return [(r["kind"], r["period"], r["through_day"]) for r in rows]

    last_day = db.run(lambda conn: conn.execute("SELECT max(day) AS d FROM price_bars").fetchone()["d"])
    alert(
        db,
        user,
        symbol="TSLA",
        alert_type="indicator",
        condition="above",
        indicator="sma",
        period=50,
        other_indicator="ema",
        other_period=200,
    )
    assert cached() == []
    fetch_prices(db, StaticHistory(last_day + timedelta(days=1)), ["TSLA"])  # a new bar lands
    assert cached() == [("sma", 50, last_day + timedelta(days=1)), ("ema", 200, last_day + timedelta(days=1))]
    expected = sql_average(db, "TSLA", "sma", 50, last_day + timedelta(days=2))
    assert db.run(lambda conn: conn.execute("SELECT value FROM moving_averages WHERE period = 50").fetchone())[
        "value"
    ] == pytest.approx(expected)
    fetch_prices(db, StaticHistory(last_day + timedelta(days=2)), ["TSLA"])  # and another: both days kept
    assert len(cached()) == 4


class StaticHistory:
    """A provider with one bar (close 100) and its quote on ``day``."""

    name = "static"

    def __init__(self, day: date):
        self.day = day

    def history(self, symbols, start, end):
        from tickerwatch.market_data import History, Quote

        bar = PriceBar(symbols[0], self.day, 100, 100, 100, 100, 100, 1)
        return History(bars={symbols[0]: [bar]}, quotes={symbols[0]: Quote(symbols[0], 100, at_3pm(self.day))})

    def info(self, symbol):
        return None

    def describe(self):
        return "static"


def test_a_recurring_indicator_alert_rearms_once_the_condition_is_false_again(db, user):
    bars(db, "ACME", [90, 100, 110])
    quote(db, "ACME", 105, WED_3PM - timedelta(minutes=20))
    alert(db, user, alert_type="indicator", condition="above", indicator="sma", period=3, recurring=True)
    assert run(db, now=WED_3PM - timedelta(minutes=19)).triggered == 1
    quote(db, "ACME", 106, WED_3PM - timedelta(minutes=10))
    assert run(db, now=WED_3PM - timedelta(minutes=9)).triggered == 0  # still above: not re-armed
    quote(db, "ACME", 95, WED_3PM - timedelta(minutes=5))
    summary = run(db, now=WED_3PM - timedelta(minutes=4))
    assert (summary.triggered, summary.rearmed) == (0, 1)
    quote(db, "ACME", 101, WED_3PM)
    assert run(db).triggered == 1


def test_too_little_history_for_the_period_is_refused_saying_how_much_is_needed(db, user):
    bars(db, "ACME", [100] * 120)
    quote(db, "ACME", 100, WED_3PM)
    with pytest.raises(Unprocessable) as refused:
        alert(
            db,
            user,
            alert_type="indicator",
            condition="above",
            indicator="sma",
            period=50,
            other_indicator="sma",
            other_period=200,
        )
    assert refused.value.fields == {
        "other_period": ["ACME has 120 daily closes; a 200-day simple moving average needs 200 (80 more)."]
    }
    alert(db, user, alert_type="indicator", condition="above", indicator="ema", period=120)  # exactly enough


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"indicator": "sma"}, "period"),
        ({"period": 20}, "indicator"),
        ({"indicator": "wma", "period": 20}, "indicator"),
        ({"indicator": "sma", "period": 1}, "period"),
        ({"indicator": "sma", "period": 401}, "period"),
        ({"indicator": "sma", "period": 20, "other_indicator": "sma"}, "other_period"),
        ({"indicator": "sma", "period": 20, "other_indicator": "sma", "other_period": 20}, "other_period"),
        ({"indicator": "sma", "period": 20, "threshold_price": Decimal(100)}, "threshold_price"),
        ({"indicator": "sma", "period": 20, "horizon": 3}, "horizon"),
    ],
)
def test_bad_indicator_definitions_name_the_field(db, user, fields, field):
    bars(db, "ACME", [100] * 30)
    quote(db, "ACME", 100, WED_3PM)
    with pytest.raises(InvalidInput) as refused:
        alert(db, user, alert_type="indicator", condition="above", **fields)
    assert field in refused.value.fields


# ---------------------------------------------------------------- forecast alerts


def store_forecast(db, symbol: str, as_of: date, steps: list[dict]) -> None:
    db.run(
        lambda conn: conn.execute(
            "INSERT INTO forecasts (symbol, as_of, horizon, steps) VALUES (%s, %s, %s, %s)",
            (symbol, as_of, len(steps), json.dumps(steps)),
        )
    )


@pytest.mark.parametrize(("price", "fires", "edge"), [(111, True, 110), (89, True, 90), (110, False, None)])
def test_outside_band_judges_the_price_against_the_band_forecast_from_the_previous_bar(db, user, price, fires, edge):
    bars(db, "ACME", [100] * 5, last=WED_3PM.date())  # Wednesday's bar has landed too
    store_forecast(db, "ACME", TUESDAY, [{"day": "2024-05-15", "close": 100, "low_95": 90, "high_95": 110}])
    # Wednesday's own forecast (from a bar not yet complete when the quote came) must not be used
    store_forecast(db, "ACME", WED_3PM.date(), [{"day": "2024-05-16", "close": 100, "low_95": 50, "high_95": 500}])
    quote(db, "ACME", 100, WED_3PM - timedelta(minutes=10))
    alert(db, user, alert_type="forecast", condition="outside_band")
    assert run(db, now=WED_3PM - timedelta(minutes=9)).triggered == 0
    quote(db, "ACME", price, WED_3PM)
    assert run(db).triggered == int(fires)
    if fires:
        assert last_trigger(db)["reference_value"] == edge


def test_forecast_thresholds_judge_the_newest_bars_forecast_at_the_horizon(db, user):
    bars(db, "ACME", [100] * 5)
    quote(db, "ACME", 100, WED_3PM)
    steps = [{"day": f"2024-05-{15 + i}", "close": 100 + 5 * i, "low_95": 1, "high_95": 999} for i in range(3)]
    store_forecast(db, "ACME", TUESDAY, steps)
    reached = alert(
        db, user, alert_type="forecast", condition="forecast_above", horizon=3, threshold_price=Decimal(110)
    )
    short = alert(db, user, alert_type="forecast", condition="forecast_above", horizon=2, threshold_price=Decimal(110))
    below = alert(db, user, alert_type="forecast", condition="forecast_below", horizon=1, threshold_price=Decimal(100))
    assert run(db).triggered == 2
    assert get_alert(db, user, reached.id).status == "triggered"
    assert get_alert(db, user, short.id).status == "active"  # 105 two days ahead
    assert get_alert(db, user, below.id).status == "triggered"  # at the threshold counts


@pytest.fixture
def tsla(db):
    from tickerwatch.ingest import fetch_prices
    from tickerwatch.runtime import get_market_data

    fetch_prices(db, get_market_data(), ["TSLA"], backfill=True)
    return db.run(lambda conn: conn.execute("SELECT * FROM stocks WHERE symbol = 'TSLA'").fetchone())


def test_the_job_forecasts_once_per_bar_only_for_symbols_with_forecast_alerts_and_the_evaluator_judges_it(
    db, user, tsla
):
    from tickerwatch.forecast_alerts import refresh_forecasts
    from tickerwatch.runtime import get_forecasters

    model = get_forecasters()
    announced = []
    assert refresh_forecasts(db, model, on_forecasts=announced.append).forecast == []  # no forecast alerts
    price = tsla["current_price"]
    up = alert(
        db,
        user,
        symbol="TSLA",
        alert_type="forecast",
        condition="forecast_above",
        horizon=5,
        threshold_price=(price / 2).quantize(Decimal("0.01")),
    )
    down = alert(
        db,
        user,
        symbol="TSLA",
        alert_type="forecast",
        condition="forecast_below",
        horizon=2,
        threshold_price=(price / 2).quantize(Decimal("0.01")),
    )
    assert get_alert(db, user, up.id, max_age=10**9).state == "no_forecast"
    assert run(db, now=tsla["price_time"] + timedelta(minutes=1)).triggered == 0  # judged: nothing to judge on
    assert refresh_forecasts(db, model, on_forecasts=announced.append).forecast == ["TSLA"]
    assert announced == [["TSLA"]]
    assert refresh_forecasts(db, model).forecast == []  # once per bar
    stored = db.run(lambda conn: conn.execute("SELECT * FROM forecasts").fetchone())
    assert stored["horizon"] == 5 and len(stored["steps"]) == 5  # the longest horizon asked for

    summary = run(db, now=tsla["price_time"] + timedelta(minutes=1))
    assert summary.triggered == 1
    t = last_trigger(db)
    assert t["alert_id"] == up.id and t["horizon"] == 5
    assert float(t["observed_value"]) == pytest.approx(stored["steps"][4]["close"])
    assert get_alert(db, user, down.id, max_age=10**9).state == "waiting"


def test_a_symbol_that_cannot_be_forecast_says_why_on_its_alerts(db, user):
    from tickerwatch.forecast_alerts import refresh_forecasts
    from tickerwatch.runtime import get_forecasters

    bars(db, "ACME", [100] * 40)
    quote(db, "ACME", 100, WED_3PM)
    a = alert(db, user, alert_type="forecast", condition="outside_band")
    assert "ACME" in refresh_forecasts(db, get_forecasters()).failed
    shown = get_alert(db, user, a.id, max_age=10**9)
    assert shown.state == "no_forecast" and "daily closes" in shown.forecast_error
    assert refresh_forecasts(db, get_forecasters()).failed == {}  # not retried until the next bar


def test_a_paused_forecast_alert_is_not_forecast_for(db, user, tsla):
    from tickerwatch.forecast_alerts import refresh_forecasts
    from tickerwatch.runtime import get_forecasters

    a = alert(db, user, symbol="TSLA", alert_type="forecast", condition="outside_band")
    set_paused(db, user, a.id, True)
    assert refresh_forecasts(db, get_forecasters()).forecast == []


def test_the_evaluator_never_loads_numpy():
    code = (
        "import sys; from tickerwatch.local import load_function; load_function('process_prices'); "
        "import tickerwatch.alerts, tickerwatch.processing, tickerwatch.data.alerts, tickerwatch.data.evaluation; "
        "print('numpy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=os.environ, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "False", out.stderr


# ---------------------------------------------------------------- over the API


def test_indicator_and_forecast_alerts_over_the_api(api, users, db):
    _, last_bar = live_clock()
    bars(db, "ACME", [100] * 60, last=last_bar)
    quote(db, "ACME", 100, datetime.now(UTC))
    auth = users.signed_in()

    def create(**body):
        body = {"stock_symbol": "ACME"} | body
        return api.request("POST", "/api/v1/alerts/", json_body=body, headers=auth)

    golden = create(
        alert_type="indicator",
        condition="crosses_above",
        indicator="sma",
        period=20,
        other_indicator="sma",
        other_period=50,
    )
    assert golden.status_code == 201, golden.content
    shown = golden.json()
    assert (shown["indicator"], shown["period"], shown["other_indicator"], shown["other_period"]) == (
        "sma",
        20,
        "sma",
        50,
    )
    too_long = create(alert_type="indicator", condition="above", indicator="ema", period=200)
    assert too_long.status_code == 422
    assert too_long.json()["period"] == [
        "ACME has 60 daily closes; a 200-day exponential moving average needs 200 (140 more)."
    ]
    half = create(alert_type="indicator", condition="above", indicator="sma", other_period=50, period=20)
    assert half.status_code == 400 and "other_indicator" in half.json()
    band = create(alert_type="forecast", condition="outside_band")
    assert band.status_code == 201, band.content
    assert band.json()["state"] == "no_forecast" and band.json()["horizon"] is None
    level = create(alert_type="forecast", condition="forecast_above", horizon=5)
    assert level.status_code == 400 and level.json()["threshold_price"] == [
        "This field is required for forecast alerts."
    ]
    wrong = create(alert_type="forecast", condition="outside_band", horizon=5)
    assert wrong.status_code == 400 and wrong.json()["horizon"] == ["This field does not apply to outside_band alerts."]
    listed = api.request("GET", "/api/v1/alerts/", params={"alert_type": "indicator"}, headers=auth).json()
    assert [a["id"] for a in listed["results"]] == [shown["id"]]
