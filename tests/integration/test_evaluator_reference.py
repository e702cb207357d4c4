"""The alert evaluator against its reference (tests/reference/evaluator.py): hypothesis draws alerts of
every kind and rule (thresholds, crossings, durations, percent moves, moving averages, forecasts;
one-time and recurring with cooldowns, pauses, expiry) over three symbols, then a sequence of quotes,
waits (into staleness, across nights and weekends) and runs of the real job. Both judge the same
quotes; after every run they must have fired the same alerts, at the same quotes, and agree on
every alert's status and whether it is armed. Alerts are judged many times, long after they were
made, so a rule that only holds for an alert's first judgement shows."""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from fakes import RecordingSender
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st
from reference.calendar import NEW_YORK, has_session
from reference.evaluator import Alert, Evaluator, Market

from tickerwatch.alerts import AlertDefinition, create_alert, set_paused, update_alert
from tickerwatch.data import prices
from tickerwatch.data.users import insert_user
from tickerwatch.errors import Conflict
from tickerwatch.market_data import PriceBar, Quote, StockInfo
from tickerwatch.processing import process_prices

SYMBOLS = ("EA", "EB", "EC")
MAX_AGE = 120
GRID = [Decimal(98) + Decimal("0.5") * i for i in range(9)]  # 98.0 .. 102.0: prices land on thresholds


def first_session_after_today() -> datetime:
    """Alerts are stamped with the real time when made: the test's market opens after it."""
    day = datetime.now(UTC).astimezone(NEW_YORK).date() + timedelta(days=2)
    while day.weekday() != 0:
        day += timedelta(days=1)
    return datetime.combine(day, time(9, 30), tzinfo=NEW_YORK).astimezone(UTC)


START = first_session_after_today()
BAR_DAYS = [START.date() + timedelta(days=d) for d in range(-60, 15) if has_session(START.date() + timedelta(days=d))]


def spec_of(seed: int) -> tuple[dict, dict, int | None]:
    """An alert of any kind and rule, drawn evenly from a seed: (definition, recurrence, expires in minutes)."""
    rng = random.Random(seed)
    symbol, threshold = rng.choice(SYMBOLS), rng.choice(GRID)
    kind = rng.choice(["threshold", "threshold", "duration", "percent_change", "indicator", "forecast"])
    definition = {"symbol": symbol, "alert_type": kind}
    if kind == "threshold":
        definition |= {"condition": rng.choice(STATES_AND_CROSSINGS), "threshold_price": threshold}
    elif kind == "duration":
        definition |= {"condition": rng.choice(["above", "below"]), "threshold_price": threshold}
        definition["duration_minutes"] = rng.choice([1, 5, 30])
    elif kind == "percent_change":
        definition |= {"condition": rng.choice(["up", "down"]), "window_minutes": rng.choice([5, 15, 60])}
        definition["percent"] = rng.choice([Decimal("0.5"), Decimal(1), Decimal("2.5")])
    elif kind == "indicator":
        first = (rng.choice(["sma", "ema"]), rng.choice([2, 3, 5]))
        definition |= {"condition": rng.choice(STATES_AND_CROSSINGS), "indicator": first[0]}
        definition["period"] = first[1]
        if rng.random() < 0.4:  # against a second average
            definition |= {"other_indicator": rng.choice(["sma", "ema"]), "other_period": rng.choice([4, 8])}
    elif rng.random() < 0.3:
        definition["condition"] = "outside_band"
    else:
        definition |= {"condition": rng.choice(["forecast_above", "forecast_below"]), "threshold_price": threshold}
        definition["horizon"] = rng.randint(1, 5)
    recurring = {"recurring": True, "cooldown_minutes": rng.choice([0, 5, 60])} if rng.random() < 0.5 else {}
    return definition, recurring, rng.choice([None, None, 45, 300])


STATES_AND_CROSSINGS = ["above", "below", "crosses_above", "crosses_below"]
# Each step is drawn as a seed and spelled out by a plain generator (``step_of``): hypothesis still
# chooses, shortens and shrinks the script step by step, but a list of drawn tuples came out mostly
# alike (the same step over and over), and its alerts seldom fired: about one trigger an example.
STEP_KINDS = ["fetch"] * 8 + ["run"] * 5 + ["wait", "pause", "resume", "correct", "change"]
steps = st.lists(st.integers(0, 2**64 - 1), min_size=30, max_size=80)


def step_of(seed: int) -> tuple:
    rng = random.Random(seed)

    def move() -> Decimal:  # up or down by a fair coin, onto the thresholds' grid
        return rng.choice([Decimal("0.5"), Decimal(1)]) * rng.choice([1, -1])

    kind = rng.choice(STEP_KINDS)
    if kind == "fetch":  # every symbol's price walks from where it was
        return ("fetch", tuple(move() for _ in SYMBOLS), rng.choice([1, 30, 60, 300, 900]))
    if kind == "wait":  # into staleness, across a night or a weekend, or not
        return ("wait", rng.choice([61, 121, 390, 1440, 3 * 1440]))
    if kind in ("pause", "resume"):
        return (kind, rng.randrange(1000))
    if kind == "correct":  # a provider's correction: the latest quote again, at its own time, another price
        return ("correct", rng.choice(SYMBOLS), move())
    if kind == "change":  # the owner moves a threshold: a new condition, judged afresh
        return ("change", rng.randrange(1000), move())
    return ("run",)


def seed_market(db, seed: int) -> Market:
    """Daily bars from two months before the test's first session through its last, each day's
    forecast, and a first quote per symbol: the same in the database and in the reference."""
    rng = random.Random(seed)
    market = Market()
    bars, forecasts = [], []
    for symbol in SYMBOLS:
        closes = {day: rng.choice(GRID) for day in BAR_DAYS}
        market.closes[symbol] = closes
        market.forecasts[symbol] = {}
        for day, close in closes.items():
            steps = [
                {
                    "day": str(day + timedelta(days=k + 1)),
                    "close": float(close + Decimal(rng.randint(-6, 6)) / 2),
                    "low_95": float(close - Decimal(rng.randint(1, 8)) / 2),
                    "high_95": float(close + Decimal(rng.randint(1, 8)) / 2),
                }
                for k in range(5)
            ]
            market.forecasts[symbol][day] = steps
            forecasts.append((symbol, day, json.dumps(steps)))
        bars += [PriceBar(symbol, d, float(c), float(c), float(c), float(c), float(c), 1000) for d, c in closes.items()]

    def write(conn):
        prices.upsert_stocks(conn, [StockInfo(s, s, None) for s in SYMBOLS])
        prices.write_bars(conn, bars)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO forecasts (symbol, as_of, horizon, steps) VALUES (%s, %s, 5, %s)", forecasts)

    db.run(write)
    return market


def write_quote(db, market: Market, symbol: str, price: Decimal, at: datetime) -> None:
    db.run(lambda conn: prices.record_quotes(conn, [Quote(symbol, price, at)]))
    market.quote(symbol, at, price)


def run_example(clock, empty_tables, seed, specs, script) -> Evaluator:
    empty_tables()
    db = clock.db
    now = clock.set(START - timedelta(minutes=30))
    user = db.run(lambda conn: insert_user(conn, "eve", "eve", "eve@example.com", "x")).id
    market = seed_market(db, seed)
    reference = Evaluator(market, MAX_AGE)
    for symbol in SYMBOLS:
        write_quote(db, market, symbol, Decimal(100), now)
    specs = [spec_of(seed) for seed in specs]
    for definition, recurring, expires_in in specs:
        fields = {**definition, **recurring}
        if expires_in:
            fields["expires_at"] = now + timedelta(minutes=expires_in)
        try:
            made = create_alert(db, user, AlertDefinition(**fields))
        except Conflict:  # the same alert twice: refused, as it should be
            continue
        events_after = db.run(
            lambda conn, i=made.id: conn.execute("SELECT events_after FROM alerts WHERE id = %s", (i,)).fetchone()
        )["events_after"]
        reference.alerts[made.id] = Alert(id=made.id, events_after=events_after, **fields)
    ids = sorted(reference.alerts)
    script = [step_of(seed) for seed in script]
    for step in script:
        kind = step[0]
        if kind == "fetch":
            _, symbol_moves, seconds = step
            now = clock.set(now + timedelta(seconds=seconds))
            for symbol, move in zip(SYMBOLS, symbol_moves, strict=True):
                price = min(max(market.latest(symbol)[1] + move, GRID[0] - 5), GRID[-1] + 5)
                write_quote(db, market, symbol, price, now)
        elif kind == "correct":
            _, symbol, move = step
            at, price = market.latest(symbol)
            write_quote(db, market, symbol, price + move, at)
        elif kind == "change" and ids:
            alert_id = ids[step[1] % len(ids)]
            mine = reference.alerts[alert_id]
            if mine.threshold_price is None:
                continue
            try:
                update_alert(db, user, alert_id, {"threshold_price": mine.threshold_price + step[2]})
            except Conflict:  # now the same as another of the owner's alerts
                continue
            reference.change(alert_id, now, threshold_price=mine.threshold_price + step[2])
        elif kind == "wait":
            now = clock.set(now + timedelta(minutes=step[1]))
        elif kind in ("pause", "resume") and ids:
            alert_id = ids[step[1] % len(ids)]
            set_paused(db, user, alert_id, kind == "pause")
            if kind == "pause":
                reference.pause(alert_id)
            else:
                reference.resume(alert_id, now)
        elif kind == "run":
            now = clock.set(now + timedelta(seconds=1))
            process_prices(db, RecordingSender(), max_price_age_minutes=MAX_AGE, max_attempts=3)
            reference.run(now)
            try:
                compare(db, reference, now)
            except AssertionError as failed:  # the example as drawn (shrinking is off under make mutants)
                raise AssertionError(f"{failed}\nseed={seed}\nspecs={specs!r}\nscript={script!r}") from None
    return reference


def compare(db, reference: Evaluator, now: datetime) -> None:
    def read(conn):
        fired = conn.execute("SELECT alert_id, sequence, price, quoted_at FROM alert_triggers").fetchall()
        alerts = conn.execute("SELECT id, status, armed, trigger_count FROM alerts").fetchall()
        return fired, alerts

    fired, alerts = db.run(read)
    assert sorted((t["alert_id"], t["sequence"], t["price"], t["quoted_at"]) for t in fired) == sorted(
        reference.triggers
    ), f"triggers differ at {now.astimezone(NEW_YORK)}"
    assert {a["id"]: (a["status"], a["armed"], a["trigger_count"]) for a in alerts} == {
        a.id: (a.status, a.armed, a.trigger_count) for a in reference.alerts.values()
    }, f"alert states differ at {now.astimezone(NEW_YORK)}"


def test_the_evaluator_does_what_its_reference_does(clock, empty_tables):
    # Under `make mutants` a failure is all that counts: no shrinking. Examples are drawn afresh in every run
    # (each mutant also has a deterministic killer, listed first, so no kill is left to a draw).
    mutation_run = bool(os.environ.get("TICKERWATCH_MUTATION_RUN"))
    phases = [Phase.explicit, Phase.generate] if mutation_run else list(Phase)

    @settings(
        max_examples=int(os.environ.get("REFERENCE_EXAMPLES", 15)),
        deadline=None,
        phases=phases,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(seed=st.integers(0, 2**32), specs=st.lists(st.integers(0, 2**64 - 1), min_size=4, max_size=12), script=steps)
    def differential(seed, specs, script):
        reference = run_example(clock, empty_tables, seed, specs, script)
        for alert_id, sequence, _, _ in reference.triggers:  # what the example exercised
            a = reference.alerts[alert_id]
            event(f"fired: {a.alert_type} {a.condition}{' again' if sequence > 1 else ''}")

    differential()
