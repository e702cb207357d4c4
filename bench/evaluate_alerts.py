"""evaluate_alerts at scale: 1,000,000 armed alerts over 5,000 tickers, already judged on the current
prices; then every price moves (half up 5%, half down 5%) so that 1% of the alerts fire.

Prints, in one run:
- the run after all 5,000 prices changed (judging, claiming 10,000 firings with their trigger and
  outbox rows) beside the per-alert query loop (the ORM way) over 10,000 alerts, and their ratio;
- a run in which no price changed;
- evidence that untouched alerts are not read: the plan's index scans, and pg_stat_user_tables'
  sequential scans and rows fetched from `alerts` during the run;
- the latency from a quote being written to its trigger and outbox row being committed, through
  fetch_prices and the prices.changed event (in process, as the local server wires it);
- the outbox sending 10,000 emails with a fake sender that takes 50 ms each at 100 a second;
- indicator alerts: 100,000 over 5,000 more tickers with a year of daily bars, judged when all their
  prices change (the first run of a day computes the averages, later runs read them from the cache),
  beside 100,000 threshold alerts over another 5,000 tickers in the same run;
- forecast alerts: 100,000 over 5,000 tickers judged on stored forecasts, when every price changes
  (outside_band) and when every symbol has a new forecast (forecast_above/below), and the
  forecast_alerts job's time per symbol (the LSTM forecast with its calibrated bands).

    .venv/bin/python bench/evaluate_alerts.py [--alerts N] [--emails N] [--side-alerts N]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from datetime import UTC, datetime, timedelta

from _common import bench_database, copy_market, out, record

TICKERS = 5000
USERS = 1000
FIRE_EVERY = 100  # 1% of alerts fire
LOOP_ALERTS = 10_000


def symbol_of(i: int) -> str:
    return f"B{i:04d}"


def direction(i: int) -> int:
    return 1 if i % 2 == 0 else -1  # even tickers rise 5%, odd ones fall 5%


def seed(db, alerts: int) -> datetime:
    """Alerts judged on the prices at t0 (cursors at t0, nothing pending); returns t0."""
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    base = {i: 20.0 + (i % 480) for i in range(TICKERS)}

    def work(conn):
        prices = {symbol_of(i): p for i, p in base.items()}
        copy_market(conn, [f"bench{u}" for u in range(USERS)], prices, t0, (91, 61, 31, 0))
        first_user = conn.execute("SELECT min(id) AS id FROM users").fetchone()["id"]
        created = t0 - timedelta(hours=2)
        columns = (
            "user_id, symbol, alert_type, condition, threshold_price, duration_minutes, percent, window_minutes,"
            " created_at, events_after, needs_judging, judged_at"
        )
        with conn.cursor() as cur, cur.copy(f"COPY alerts ({columns}) FROM STDIN") as copy:
            for k in range(alerts):
                user = first_user + (k // (alerts // USERS or 1)) % USERS
                i = (k * 7919) % TICKERS
                p, up = base[i], direction(i) > 0
                fires = k % FIRE_EVERY == 0
                kind = k % 10
                # Firing alerts sit where this move reaches; the rest where no 5% move does.
                if kind < 3:
                    row = (
                        "threshold",
                        "above" if up else "below",
                        round(p * (1.03 if up else 0.97), 4),
                        None,
                        None,
                        None,
                    )
                    if not fires:
                        row = ("threshold", row[1], round(p * (1.5 if up else 0.5), 4), None, None, None)
                elif kind < 5:
                    row = (
                        "threshold",
                        "crosses_above" if up else "crosses_below",
                        round(p * (1.03 if up else 0.97), 4),
                    )
                    row += (None, None, None)
                    if not fires:
                        row = ("threshold", row[1], round(p * (1.5 if up else 0.5), 4), None, None, None)
                elif kind < 7:
                    row = (
                        "threshold",
                        "below" if up else "above",
                        round(p * (0.5 if up else 1.5), 4),
                        None,
                        None,
                        None,
                    )
                    if fires:  # the other direction's state alerts: reached only by the opposite move
                        row = ("threshold", "above" if up else "below", round(p * (1.02 if up else 0.98), 4))
                        row += (None, None, None)
                elif kind < 9:
                    threshold = p * (0.9 if up else 1.1) if fires else p * (1.5 if up else 0.5)
                    row = ("duration", "above" if up else "below", round(threshold, 4), 60, None, None)
                else:
                    row = ("percent_change", "up" if up else "down", None, None, 1 if fires else 50, 60)
                copy.write_row((user, symbol_of(i), *row, created, created, False, t0))

    db.run(work)
    # What autovacuum does after a bulk load: statistics, and the visibility map that lets the
    # evaluator read index entries without visiting the table.
    db.one(lambda conn: conn.execute("VACUUM ANALYZE"))
    return t0


def move_all_prices(db, t1: datetime) -> None:
    from tickerwatch.data import prices
    from tickerwatch.market_data import Quote

    quotes = [Quote(symbol_of(i), round((20.0 + (i % 480)) * (1 + 0.05 * direction(i)), 4), t1) for i in range(TICKERS)]
    db.run(lambda conn: prices.record_quotes(conn, quotes))


def per_alert_loop(db, limit: int) -> tuple[float, int]:
    """The ORM way: one query per alert for its price, the decision in Python, one write per firing.
    Unprepared, as Django runs it (its psycopg cursors bind parameters client-side and never prepare):
    our own connections prepare a statement on its fifth run, which made this loop faster than the ORM
    it stands for (10,000 alerts in 1.03-1.13 s, against 1.44 s unprepared the night before)."""

    def work(conn):
        rows = conn.execute(
            "SELECT id, symbol, condition, threshold_price FROM alerts"
            " WHERE status = 'active' AND alert_type = 'threshold' AND condition IN ('above', 'below')"
            " ORDER BY id LIMIT %s",
            (limit,),
        ).fetchall()
        for alert in rows:
            stock = conn.execute(
                "SELECT current_price, price_time FROM stocks WHERE symbol = %s", (alert["symbol"],), prepare=False
            ).fetchone()
            price = stock["current_price"]
            hit = (
                price >= alert["threshold_price"]
                if alert["condition"] == "above"
                else price <= alert["threshold_price"]
            )
            if hit:
                conn.execute(
                    "UPDATE alerts SET status = 'triggered', armed = false WHERE id = %s", (alert["id"],), prepare=False
                )
        conn.rollback()  # leave the data as it was
        return len(rows)

    started = time.perf_counter()
    n = db.run(work)
    return time.perf_counter() - started, n


def table_reads(db) -> dict:
    def work(conn):
        conn.execute("SELECT pg_stat_force_next_flush()")
        return conn.execute(
            "SELECT seq_scan, coalesce(seq_tup_read, 0) AS seq_tup_read, coalesce(idx_tup_fetch, 0) AS idx_tup_fetch"
            " FROM pg_stat_user_tables WHERE relname = 'alerts'"
        ).fetchone()

    db.run(lambda conn: None)
    time.sleep(1.2)  # statistics reach the shared counters when a session has been idle for a moment
    return db.one(work)


# What the firings must write, and nothing else: each alert disarmed, its trigger row and its outbox row,
# in one statement, for alerts already known to fire (nothing found, nothing judged).
WRITES_ALONE = """
WITH fired AS (
    UPDATE alerts SET armed = false, status = CASE WHEN recurring THEN 'active' ELSE 'triggered' END,
                      trigger_count = trigger_count + 1, last_triggered_at = %(now)s, updated_at = %(now)s,
                      judged_at = %(now)s
     WHERE id = ANY(%(ids)s)
 RETURNING id, user_id, trigger_count, symbol, alert_type, condition, threshold_price
),
triggers AS (
    INSERT INTO alert_triggers (alert_id, user_id, sequence, symbol, alert_type, condition, threshold_price, price,
                                quoted_at, triggered_at)
    SELECT id, user_id, trigger_count, symbol, alert_type, condition, threshold_price, threshold_price, %(now)s,
           %(now)s
      FROM fired
 RETURNING id, user_id
)
INSERT INTO notifications (trigger_id, user_id, channel, recipient, status, next_attempt_at)
SELECT t.id, t.user_id, 'email', u.email, 'pending', %(now)s FROM triggers t JOIN users u ON u.id = t.user_id
"""


def checkpoint(db) -> None:
    """As a run meets one in production: the schedule's 5 minutes is checkpoint_timeout's default (RDS too),
    so each page a run changes is written to the WAL whole once (a full-page image)."""
    db.one(lambda conn: conn.execute("CHECKPOINT"))


def writes_alone(db, now: datetime, ids: list[int]) -> tuple[float, int]:
    """The floor under a change run: the writes its firings must make, on the alerts it fired, timed after a
    checkpoint (as the run was) and rolled back, then vacuumed away."""
    import psycopg
    from psycopg.rows import dict_row

    checkpoint(db)
    with psycopg.connect(db.url, row_factory=dict_row) as conn:
        started = time.perf_counter()
        written = conn.execute(WRITES_ALONE, {"now": now, "ids": ids}).rowcount
        elapsed = time.perf_counter() - started
        conn.rollback()
    with psycopg.connect(db.url, autocommit=True) as conn:
        conn.execute("VACUUM alerts, alert_triggers, notifications")
    return elapsed, written


def explain_found(db, now: datetime) -> list[str]:
    from tickerwatch.data import evaluation

    sql = "EXPLAIN WITH " + evaluation.CHANGED + " SELECT count(*) FROM to_judge"
    plan = db.run(lambda conn: conn.execute(sql, {"now": now, "max_age": 120}).fetchall())
    return [r["QUERY PLAN"] for r in plan if "alerts" in r["QUERY PLAN"] or "Scan" in r["QUERY PLAN"]]


def latency(db, t: datetime) -> list[float]:
    """From the commit of fetch_prices' quotes to the commit of the triggers they fire, via the event."""
    from tickerwatch import bus
    from tickerwatch.data import evaluation
    from tickerwatch.ingest import fetch_prices
    from tickerwatch.market_data import History, PriceBar, Quote

    results: list[float] = []
    quote_committed = {}

    def evaluator(event):
        db.run(lambda conn: evaluation.claim_triggers(conn, quote_committed["now"], 120))  # sending is measured apart
        results.append(time.perf_counter() - quote_committed["at"])

    class OneTicker:
        name = "bench"

        def __init__(self, price: float, when: datetime):
            self.price, self.when = price, when

        def history(self, symbols, start, end):
            bar = PriceBar(symbols[0], self.when.date(), self.price, self.price, self.price, self.price, self.price, 1)
            return History(bars={symbols[0]: [bar]}, quotes={symbols[0]: Quote(symbols[0], self.price, self.when)})

        def info(self, symbol):
            return None

        def describe(self):
            return "bench"

    bus.subscribe(bus.PRICES_CHANGED, evaluator)

    def announce(symbols):
        quote_committed["at"] = time.perf_counter()
        bus.publish_prices_changed(symbols, None)

    try:
        for step in range(7):
            when = t + timedelta(minutes=step + 1)
            quote_committed["now"] = when + timedelta(seconds=1)
            price = 20.0 * (1.10 if step % 2 == 0 else 1.0)  # B0000 (20.00) jumps 10% and back: its alerts move
            fetch_prices(db, OneTicker(price, when), ["B0000"], on_changed=announce)
    finally:
        bus.clear_subscribers()
    return results


def dispatch(db, count: int, delay: float, rate: float) -> tuple[float, int, int]:
    from tickerwatch.notifications import dispatch_notifications

    sent_ids: list[str] = []
    lock = threading.Lock()

    class SlowSender:
        def send(self, email):
            time.sleep(delay)
            with lock:
                sent_ids.append(email.subject + email.to)
            return "m"

    db.run(lambda conn: conn.execute("DELETE FROM notifications"))
    db.run(
        lambda conn: conn.execute(
            "INSERT INTO notifications (trigger_id, user_id, recipient, status, next_attempt_at)"
            " SELECT id, user_id, 'u' || id || '@example.com', 'pending', now() FROM alert_triggers"
            " ORDER BY id LIMIT %s",
            (count,),
        )
    )
    queued = db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM notifications").fetchone()["n"])
    started = time.perf_counter()
    sent, failed = dispatch_notifications(db, SlowSender(), max_attempts=3, rate_per_second=rate)
    elapsed = time.perf_counter() - started
    assert failed == 0
    left = db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM notifications WHERE status <> 'sent'"))
    assert left.fetchone()["n"] == 0 and len(set(sent_ids)) == len(sent_ids) == queued
    return elapsed, sent, len(sent_ids) - len(set(sent_ids))


# ---------------------------------------------------------------- indicator and forecast alerts

SIDE_BARS = 260  # a year of daily bars per indicator ticker: enough for a 200-day average
INDICATOR_KINDS = (  # (condition when the ticker fires, when it does not, indicator, period, other, other period)
    ("above", "below", "sma", 20, None, None),
    ("crosses_above", "crosses_below", "ema", 20, None, None),
    ("above", "below", "sma", 50, None, None),
    ("above", "below", "sma", 50, "sma", 200),
    ("crosses_above", "crosses_below", "ema", 12, "sma", 26),
)


def side_symbol(prefix: str, i: int) -> str:
    return f"{prefix}{i:04d}"


def seed_side(db, t: datetime, alerts: int) -> None:
    """Three more sets of 5,000 tickers, each with ``alerts`` alerts judged on a quote 30 minutes before
    ``t``: I (indicator alerts, a year of bars rising 10%, so short averages sit above long ones),
    T (threshold alerts), F (forecast alerts on stored forecasts). 1% of the tickers' alerts fire."""
    from tickerwatch.market_time import NEW_YORK

    base = {i: 20.0 + (i % 480) for i in range(TICKERS)}
    before = t - timedelta(minutes=30)
    days = []
    # Bars up to the day before the quotes' day in New York (the evaluator's day): by the UTC date, in the
    # hours when UTC is a day ahead, the newest bar would be today's and the warmed averages one day late.
    day = t.astimezone(NEW_YORK).date() - timedelta(days=1)
    while len(days) < SIDE_BARS:
        if day.weekday() < 5:
            days.append(day)
        day -= timedelta(days=1)
    days.reverse()
    first_user = db.run(lambda conn: conn.execute("SELECT min(id) AS id FROM users").fetchone()["id"])
    per_ticker = alerts // TICKERS

    def work(conn):
        with conn.cursor() as cur:
            with cur.copy("COPY stocks (symbol, current_price, price_time) FROM STDIN") as copy:
                for prefix in "ITF":
                    for i, p in base.items():
                        start = p * 0.8 if prefix == "I" else p  # the last judged quote: under every average
                        copy.write_row((side_symbol(prefix, i), start, before))
            with cur.copy("COPY evaluation_cursors (symbol, quoted_at, price, judged_at) FROM STDIN") as copy:
                for prefix in "ITF":
                    for i, p in base.items():
                        copy.write_row((side_symbol(prefix, i), before, p * 0.8 if prefix == "I" else p, before))
            with cur.copy("COPY quotes (symbol, quoted_at, price) FROM STDIN") as copy:
                for prefix in "ITF":
                    for i, p in base.items():
                        copy.write_row((side_symbol(prefix, i), before, p * 0.8 if prefix == "I" else p))
            with cur.copy(
                "COPY price_bars (symbol, day, open, high, low, close, adj_close, volume) FROM STDIN"
            ) as copy:
                for i, p in base.items():
                    for k, d in enumerate(days):
                        c = p * (0.9 + 0.1 * k / (SIDE_BARS - 1))
                        copy.write_row((side_symbol("I", i), d, c, c, c, c, c, 1000))
                    for d in days[-2:]:
                        copy.write_row((side_symbol("F", i), d, p, p, p, p, p, 1000))
            with cur.copy("COPY forecasts (symbol, as_of, horizon, steps) FROM STDIN") as copy:
                import json

                for i, p in base.items():
                    for d in days[-2:]:
                        steps = [
                            {
                                "day": str(d),
                                "close": round(p * (1 + 0.01 * h), 4),
                                "low_95": round(p * 0.97, 4),
                                "high_95": round(p * 1.03, 4),
                            }
                            for h in range(1, 6)
                        ]
                        copy.write_row((side_symbol("F", i), d, 5, json.dumps(steps)))
        columns = (
            "user_id, symbol, alert_type, condition, threshold_price, indicator, period, other_indicator,"
            " other_period, horizon, events_after, needs_judging, judged_at"
        )
        created = t - timedelta(hours=2)

        def alert_row(user, symbol, alert_type, condition, threshold=None, averages=(None,) * 4, horizon=None):
            return (user, symbol, alert_type, condition, threshold, *averages, horizon, created, False, before)

        with conn.cursor() as cur, cur.copy(f"COPY alerts ({columns}) FROM STDIN") as copy:
            for i, p in base.items():
                fires = i % FIRE_EVERY == 0
                for n in range(per_ticker):
                    user = first_user + (i * per_ticker + n) % USERS
                    fire_cond, calm_cond, *averages = INDICATOR_KINDS[n % len(INDICATOR_KINDS)]
                    condition = fire_cond if fires else calm_cond
                    copy.write_row(alert_row(user, side_symbol("I", i), "indicator", condition, averages=averages))
                    threshold = round(p * (1.03 if fires else 1.5), 4)
                    copy.write_row(alert_row(user, side_symbol("T", i), "threshold", "above", threshold))
                    if n % 2:
                        copy.write_row(alert_row(user, side_symbol("F", i), "forecast", "outside_band"))
                    else:
                        level = round(p * (1.04 if fires else 1.5), 4)  # the 5-day forecast is 1.05 p
                        copy.write_row(
                            alert_row(user, side_symbol("F", i), "forecast", "forecast_above", level, horizon=5)
                        )

    db.run(work)
    db.one(lambda conn: conn.execute("VACUUM ANALYZE"))


def move_side(db, prefix: str, t: datetime, factor_firing: float, factor_calm: float) -> None:
    from tickerwatch.data import prices
    from tickerwatch.market_data import Quote

    quotes = [
        Quote(
            side_symbol(prefix, i),
            round((20.0 + (i % 480)) * (factor_firing if i % FIRE_EVERY == 0 else factor_calm), 4),
            t,
        )
        for i in range(TICKERS)
    ]
    db.run(lambda conn: prices.record_quotes(conn, quotes))


def timed_claim(db, now: datetime) -> tuple[float, dict]:
    from tickerwatch.data import evaluation

    started = time.perf_counter()
    counts = db.run(lambda conn: evaluation.claim_triggers(conn, now, 120))
    return time.perf_counter() - started, counts


def side_cases(db, t: datetime, alerts: int) -> dict[str, float]:
    started = time.perf_counter()
    seed_side(db, t, alerts)
    out(
        f"seeded {alerts:,} indicator, {alerts:,} threshold and {alerts:,} forecast alerts over 3 x {TICKERS:,}"
        f" more tickers ({SIDE_BARS} daily bars each for the indicator ones) in {time.perf_counter() - started:.0f} s"
    )
    figures = {}
    rows = []
    from tickerwatch.data import prices

    def warm_the_averages():
        """What fetch_prices does when the day's bars land: compute the averages for the next session.
        Then the indicator alerts are re-armed and their prices put back under the averages, so that the
        next move fires as many as the cold run did."""
        symbols = [side_symbol("I", i) for i in range(TICKERS)]
        db.run(lambda conn: conn.execute("DELETE FROM moving_averages"))
        db.run(
            lambda conn: conn.execute(
                "UPDATE alerts SET armed = true, status = 'active' WHERE alert_type = 'indicator'"
            )
        )
        move_side(db, "I", t + timedelta(milliseconds=500), 0.8, 0.8)
        started = time.perf_counter()
        warmed = db.run(lambda conn: prices.warm_moving_averages(conn, symbols))
        seconds = time.perf_counter() - started
        rows.append((f"(fetch_prices warming {warmed:,} averages as the bars land)", seconds, None))
        figures["indicator_warm_ms"] = seconds * 1000

    cases = (
        ("threshold, all 5,000 prices changed", "T", 1.05, 1.05, "threshold_100k_ms", None),
        (
            "indicator, all 5,000 prices changed, averages computed in the run (cold cache)",
            "I",
            1.05,
            1.05,
            "indicator_100k_cold_ms",
            None,
        ),
        (
            "indicator, all 5,000 prices changed again, averages warmed when the bars landed",
            "I",
            1.06,
            1.06,
            "indicator_100k_cached_ms",
            warm_the_averages,
        ),
        (
            "forecast, all 5,000 prices changed (outside_band: 1% leave the band)",
            "F",
            1.05,
            1.01,
            "forecast_100k_prices_ms",
            None,
        ),
    )
    for label, prefix, up_firing, up_calm, key, before in cases:
        if before:
            before()
        t = t + timedelta(seconds=1)
        move_side(db, prefix, t, up_firing, up_calm)
        seconds, counts = timed_claim(db, t + timedelta(seconds=1))
        rows.append((label, seconds, counts))
        figures[key] = seconds * 1000
    db.run(
        lambda conn: conn.execute(
            "UPDATE alerts SET needs_judging = true WHERE alert_type = 'forecast' AND armed AND status = 'active'"
            " AND condition = 'forecast_above'"
        )
    )
    seconds, counts = timed_claim(db, t + timedelta(seconds=2))
    rows.append(("forecast, new forecasts for all 5,000 symbols (forecast_above marked to judge)", seconds, counts))
    figures["forecast_100k_new_forecasts_ms"] = seconds * 1000
    for label, seconds, counts in rows:
        judged = f", {counts['evaluated']:,} judged, {counts['triggered']:,} fired" if counts else ""
        out(f"  {label}: {seconds * 1000:,.0f} ms{judged}")
    warmed = figures["indicator_100k_cached_ms"] / figures["threshold_100k_ms"]
    cold = figures["indicator_100k_cold_ms"] / figures["threshold_100k_ms"]
    out(f"  indicator / threshold run: {warmed:.1f}x with the averages warmed, {cold:.1f}x with a cold cache")
    averages = db.run(lambda conn: conn.execute("SELECT count(*) AS n FROM moving_averages").fetchone()["n"])
    out(f"  averages cached: {averages:,} (per symbol, kind, period and last bar; not per alert)")
    return figures


def forecast_job(db, symbols: int) -> list[float]:
    """The forecast_alerts job on synthetic 400-day random walks: seconds per symbol forecast."""
    import random

    from tickerwatch.data import prices
    from tickerwatch.forecast_alerts import refresh_forecasts
    from tickerwatch.market_data import PriceBar, StockInfo
    from tickerwatch.runtime import get_forecasters

    model = get_forecasters()
    rng = random.Random(7)
    last = datetime.now(UTC).date() - timedelta(days=1)
    days = []
    while len(days) < 400:
        if last.weekday() < 5:
            days.append(last)
        last -= timedelta(days=1)
    days.reverse()
    first_user = db.run(lambda conn: conn.execute("SELECT min(id) AS id FROM users").fetchone()["id"])
    times = []
    for n in range(symbols):
        symbol = f"J{n:04d}"
        price, rows = 100.0, []
        for d in days:
            price *= 1 + rng.gauss(0, 0.02)
            rows.append(PriceBar(symbol, d, price, price, price, price, price, 1000))

        def work(conn, symbol=symbol, rows=rows):
            prices.upsert_stocks(conn, [StockInfo(symbol, symbol, None)])
            prices.write_bars(conn, rows)
            conn.execute(
                "INSERT INTO alerts (user_id, symbol, alert_type, condition)"
                " VALUES (%s, %s, 'forecast', 'outside_band')",
                (first_user, symbol),
            )

        db.run(work)
        started = time.perf_counter()
        made = refresh_forecasts(db, model)
        times.append(time.perf_counter() - started)
        assert made.forecast == [symbol], made.as_dict()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=1_000_000)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--side-alerts", type=int, default=100_000, help="indicator/threshold/forecast alerts each")
    parser.add_argument("--forecast-symbols", type=int, default=20)
    args = parser.parse_args()

    bench_database("tickerwatch_bench_alerts")
    from tickerwatch.data import evaluation
    from tickerwatch.runtime import get_database

    db = get_database()
    started = time.perf_counter()
    t0 = seed(db, args.alerts)
    out(
        f"seeded {args.alerts:,} armed, judged alerts over {TICKERS:,} tickers in {time.perf_counter() - started:.0f} s"
    )

    loop_seconds, loop_n = per_alert_loop(db, LOOP_ALERTS)
    loop_rate = loop_n / loop_seconds
    out(f"per-alert loop (one price query per alert): {loop_n:,} alerts in {loop_seconds:.2f} s = {loop_rate:,.0f}/s")

    t1 = t0 + timedelta(minutes=1)
    move_all_prices(db, t1)
    for line in explain_found(db, t1 + timedelta(seconds=5)):
        out(f"  plan: {line.strip()}")
    fired_ids = db.one(
        lambda conn: conn.execute(
            evaluation.FIND_CANDIDATES, {"now": t1 + timedelta(seconds=5), "max_age": 120}
        ).fetchone()["ids"]
    )
    checkpoint(db)
    before = table_reads(db)
    started = time.perf_counter()
    counts = db.run(lambda conn: evaluation.claim_triggers(conn, t1 + timedelta(seconds=5), 120))
    changed_seconds = time.perf_counter() - started
    after = table_reads(db)
    out(
        f"run after all {counts['symbols_changed']:,} prices changed: {counts['evaluated']:,} alerts judged,"
        f" {counts['triggered']:,} fired (trigger + outbox rows) in {changed_seconds * 1000:.0f} ms"
        f" = {args.alerts / changed_seconds:,.0f} alerts covered a second"
    )
    out(
        f"  alerts read during the run: {after['seq_scan'] - before['seq_scan']} sequential scans,"
        f" {after['seq_tup_read'] - before['seq_tup_read']:,} rows by sequential scan,"
        f" {after['idx_tup_fetch'] - before['idx_tup_fetch']:,} rows by index (of {args.alerts:,})"
    )
    out(f"ratio to the per-alert loop: {args.alerts / changed_seconds / loop_rate:,.0f}x")
    floor_seconds, floor_rows = writes_alone(db, t1 + timedelta(seconds=5), fired_ids)
    out(
        f"  the writes alone, for the same firings ({floor_rows:,} alert updates, trigger and outbox rows; nothing"
        f" found or judged; after a checkpoint, rolled back): {floor_seconds * 1000:.0f} ms,"
        f" {floor_seconds / changed_seconds:.0%} of the run"
    )
    quiet = []
    for k in range(20):
        started = time.perf_counter()
        none = db.run(lambda conn, k=k: evaluation.claim_triggers(conn, t1 + timedelta(seconds=10 + k), 120))
        quiet.append(time.perf_counter() - started)
        assert none["triggered"] == 0 and none["symbols_changed"] == 0
    out(
        f"run in which no price changed: median {statistics.median(quiet) * 1000:.1f} ms,"
        f" max {max(quiet) * 1000:.1f} ms (n=20)"
    )

    waits = latency(db, t1 + timedelta(minutes=1))
    out(
        f"quote written -> its triggers and outbox rows committed (fetch_prices, event, process_prices):"
        f" median {statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms (n={len(waits)})"
    )

    figures = {
        "alerts": args.alerts,
        "changed_run_seconds": changed_seconds,
        "changed_run_writes_alone_seconds": floor_seconds,
        "quiet_run_ms": statistics.median(quiet) * 1000,
    }
    if args.emails:
        elapsed, sent, duplicates = dispatch(db, args.emails, delay=0.05, rate=100)
        out(
            f"outbox: {sent:,} emails, 50 ms a send, rate 100/s: {elapsed:.1f} s ({sent / elapsed:.0f}/s),"
            f" each sent once ({duplicates} twice)"
        )
        figures["emails_per_second"] = sent / elapsed
    if args.side_alerts:
        figures |= side_cases(db, t1 + timedelta(minutes=20), args.side_alerts)
    if args.forecast_symbols:
        times = forecast_job(db, args.forecast_symbols)
        out(
            f"forecast_alerts job, one symbol's forecast (LSTM, 5 days, calibrated bands): median"
            f" {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms (n={len(times)})"
        )
        figures["forecast_job_ms_per_symbol"] = statistics.median(times) * 1000
    record("evaluate_alerts", **figures)


if __name__ == "__main__":
    main()
