"""The fetch_prices job through its Lambda handler, on the real database and the csv provider."""

from __future__ import annotations

from datetime import date

import pytest

from tickerwatch.events import LocalContext, scheduled_event
from tickerwatch.ingest import fetch_prices
from tickerwatch.local import load_function
from tickerwatch.market_data import History, PriceBar, Quote, StockInfo, close_time


@pytest.fixture(scope="module")
def job():
    return load_function("fetch_prices").handler


def count(db, sql: str) -> int:
    return db.run(lambda conn: conn.execute(sql).fetchone()["n"])


def test_backfill_by_direct_invocation_reports_each_ticker(db, job):
    result = job({"tickers": ["goog", "TSLA", "NOPE", "bad symbol!"], "backfill": True}, LocalContext("fetch_prices"))
    assert sorted(result["succeeded"]) == ["GOOG", "TSLA"]
    assert result["failed"] == {"NOPE": "unknown symbol", "bad symbol!": "invalid symbol"}
    # ten years back from each file's newest bar: all of GOOG's 8.5 years, TSLA's last ten
    assert count(db, "SELECT count(*) AS n FROM price_bars WHERE symbol = 'GOOG'") == 2148
    tsla = db.run(lambda conn: conn.execute("SELECT min(day) AS d FROM price_bars WHERE symbol = 'TSLA'").fetchone())
    assert tsla["d"] >= date(2012, 3, 24)
    assert result["bars_written"] == count(db, "SELECT count(*) AS n FROM price_bars")


def test_rerunning_never_duplicates(db, job):
    job({"tickers": ["GOOG"], "backfill": True}, LocalContext("fetch_prices"))
    before = count(db, "SELECT count(*) AS n FROM price_bars")
    again = job({"tickers": ["GOOG"], "backfill": True}, LocalContext("fetch_prices"))
    scheduled = job({}, LocalContext("fetch_prices"))  # what a scheduled run in a session does
    assert again["bars_written"] == 0 and scheduled["bars_written"] == 0
    assert scheduled["succeeded"] == ["GOOG"]
    assert count(db, "SELECT count(*) AS n FROM price_bars") == before


def test_scheduled_run_updates_latest_price(db, job):
    job({"tickers": ["GOOG"]}, LocalContext("fetch_prices"))
    row = db.run(lambda conn: conn.execute("SELECT current_price, price_time, previous_close FROM stocks").fetchone())
    assert float(row["current_price"]) == pytest.approx(806.19)
    assert float(row["previous_close"]) == pytest.approx(801.2)
    assert row["price_time"] == close_time(date(2013, 3, 1))


class FlakyProvider:
    """One ticker fails at the provider; the other's bars must still be written."""

    name = "fake"

    def history(self, symbols, start, end):
        bar = PriceBar("GOOD", date(2024, 1, 2), 1, 2, 0.5, 1.5, 1.5, 10)
        return History(
            bars={"GOOD": [bar]},
            quotes={"GOOD": Quote("GOOD", 1.5, close_time(bar.day))},
            failures={"BAD": "HTTP 500 from provider"},
        )

    def info(self, symbol):
        return None


def test_one_ticker_failing_loses_nothing_of_the_others(db):
    result = fetch_prices(db, FlakyProvider(), ["GOOD", "BAD"])
    assert result.succeeded == ["GOOD"]
    assert result.failed == {"BAD": "HTTP 500 from provider"}
    assert count(db, "SELECT count(*) AS n FROM price_bars WHERE symbol = 'GOOD'") == 1


def test_each_run_reports_the_share_of_tickers_it_failed_on(db):
    from tickerwatch.observability import METRIC_FETCH_FAILED_SHARE, metrics

    metrics.clear_metrics()
    fetch_prices(db, FlakyProvider(), ["GOOD", "BAD"])  # one of two failed: the alarm looks at this share
    assert metrics.metric_set[METRIC_FETCH_FAILED_SHARE]["Value"] == [50.0]
    assert metrics.metric_set[METRIC_FETCH_FAILED_SHARE]["Unit"] == "Percent"
    metrics.clear_metrics()


def test_invalid_event_is_reported_not_raised(job):
    result = job({"tickers": "GOOG"}, LocalContext("fetch_prices"))
    assert result["error"] == "invalid event"


class RecordingProvider:
    """Remembers each call's symbols and start; BROKEN never returns data; DOWN makes the call fail."""

    name = "recording"

    def __init__(self, down: bool = False):
        self.calls: list[tuple[list[str], date | None]] = []
        self.down = down

    def history(self, symbols, start, end):
        self.calls.append((list(symbols), start))
        if self.down:
            raise ConnectionError("provider unreachable")
        result = History()
        for symbol in symbols:
            if symbol == "BROKEN":
                result.failures[symbol] = "no data returned"
                continue
            bar = PriceBar(symbol, date(2024, 1, 5), 1, 2, 0.5, 1.5, 1.5, 10)
            result.bars[symbol] = [bar]
            result.quotes[symbol] = Quote(symbol, 1.5, close_time(bar.day))
        return result

    def info(self, symbol):
        return None


def test_a_symbol_without_bars_does_not_make_everyone_backfill(db):
    fetch_prices(db, RecordingProvider(), ["AAA", "BBB"], backfill=True)
    db.run(lambda conn: conn.execute("INSERT INTO stocks (symbol) VALUES ('BROKEN')"))
    provider = RecordingProvider()
    result = fetch_prices(db, provider, None)  # the scheduled run over every tracked stock
    assert sorted(provider.calls, key=lambda c: c[0]) == [(["AAA", "BBB"], date(2023, 12, 31)), (["BROKEN"], None)]
    assert result.succeeded == ["AAA", "BBB"] and result.failed == {"BROKEN": "no data returned"}


def test_provider_outage_is_reported_per_ticker_not_raised(db):
    result = fetch_prices(db, RecordingProvider(down=True), ["AAA", "BBB"])
    assert result.succeeded == []
    assert set(result.failed) == {"AAA", "BBB"}
    assert "provider unreachable" in result.failed["AAA"]


def test_old_quotes_are_pruned_but_each_symbols_newest_two_kept(db):
    from datetime import UTC, datetime, timedelta

    from market import quote

    now = datetime.now(UTC)
    for days in (90, 60, 45):
        quote(db, "OLD", 10 + days, now - timedelta(days=days))  # only old quotes: the newest two stay
    for days in (40, 20, 1):
        quote(db, "NEW", 10 + days, now - timedelta(days=days))  # the 40-day-old one goes
    result = fetch_prices(db, RecordingProvider(), ["AAA"])
    assert result.quotes_pruned == 2
    left = db.run(
        lambda conn: conn.execute("SELECT symbol, count(*) AS n FROM quotes GROUP BY symbol ORDER BY 1").fetchall()
    )
    assert [(r["symbol"], r["n"]) for r in left] == [("AAA", 1), ("NEW", 2), ("OLD", 2)]


def test_an_older_quote_never_replaces_a_newer_current_price(db):
    from datetime import UTC, datetime, timedelta

    from tickerwatch.data import prices

    newer = datetime(2024, 5, 15, 19, 0, tzinfo=UTC)
    older = newer - timedelta(minutes=30)

    def stock():
        return db.run(lambda conn: conn.execute("SELECT current_price, price_time FROM stocks").fetchone())

    # Given a stock whose latest quote is 20.00 at 15:00,
    db.run(lambda conn: prices.upsert_stocks(conn, [StockInfo("ACME", None, None)]))
    db.run(lambda conn: prices.record_quotes(conn, [Quote("ACME", 20.0, newer)]))
    # when a quote from 14:30 arrives late, alone or in one batch with the newer one,
    db.run(lambda conn: prices.record_quotes(conn, [Quote("ACME", 10.0, older)]))
    assert (float(stock()["current_price"]), stock()["price_time"]) == (20.0, newer)
    db.run(lambda conn: prices.record_quotes(conn, [Quote("ACME", 21.0, newer), Quote("ACME", 11.0, older)]))
    # then the current price stays the newest one, and both quotes are kept for the alerts.
    assert (float(stock()["current_price"]), stock()["price_time"]) == (21.0, newer)
    assert count(db, "SELECT count(*) AS n FROM quotes WHERE symbol = 'ACME'") == 2


def test_the_incremental_fetch_starts_before_the_stalest_symbols_last_bar(db):
    # Given AAA's newest bar is 2024-01-05 and BBB's is 2024-01-19,
    class DatedProvider(RecordingProvider):
        def __init__(self, day):
            super().__init__()
            self.day = day

        def history(self, symbols, start, end):
            self.calls.append((list(symbols), start))
            bars = {s: [PriceBar(s, self.day, 1, 2, 0.5, 1.5, 1.5, 10)] for s in symbols}
            return History(bars=bars, quotes={s: Quote(s, 1.5, close_time(self.day)) for s in symbols})

    fetch_prices(db, DatedProvider(date(2024, 1, 5)), ["AAA"], backfill=True)
    fetch_prices(db, DatedProvider(date(2024, 1, 19)), ["BBB"], backfill=True)
    # when the scheduled run fetches both in one call,
    provider = DatedProvider(date(2024, 1, 22))
    fetch_prices(db, provider, None, today=date(2024, 1, 22))
    # then it asks from five days before AAA's last bar, so AAA misses nothing.
    assert provider.calls == [(["AAA", "BBB"], date(2023, 12, 31))]


def test_a_day_sent_twice_is_stored_once_and_a_revised_bar_replaces_the_old(db):
    class RepeatingProvider:
        """Providers repeat a day now and then (yfinance's last row, during the session), and revise bars."""

        name = "fake"

        def __init__(self, closes):
            self.closes = closes

        def history(self, symbols, start, end):
            bars = [PriceBar("ACME", date(2024, 1, 2 + i), c, c, c, c, c, 10) for i, c in enumerate(self.closes)]
            bars.append(PriceBar("ACME", bars[-1].day, 9.0, 9.0, 9.0, 9.0, 9.0, 11))  # the last day, again
            return History(bars={"ACME": bars}, quotes={"ACME": Quote("ACME", 9.0, close_time(bars[-1].day))})

        def info(self, symbol):
            return None

    def closes():
        rows = db.run(lambda conn: conn.execute("SELECT day, close FROM price_bars ORDER BY day").fetchall())
        return [(r["day"].day, r["close"]) for r in rows]

    # Given a provider that sends its last day twice (the later copy is the newer),
    first = fetch_prices(db, RepeatingProvider([5.0, 6.0, 7.0]), ["ACME"], backfill=True)
    # then each day is stored once, with the later copy's values,
    assert (first.succeeded, first.bars_written) == (["ACME"], 3)
    assert closes() == [(2, 5.0), (3, 6.0), (4, 9.0)]
    # and when it later revises one close, only that bar is rewritten.
    revised = fetch_prices(db, RepeatingProvider([5.0, 6.5, 7.0]), ["ACME"], backfill=True)
    assert revised.bars_written == 1
    assert closes() == [(2, 5.0), (3, 6.5), (4, 9.0)]


@pytest.mark.parametrize(
    ("in_session", "in_aws", "fetches"), [(False, True, False), (True, True, True), (False, False, True)]
)
def test_a_scheduled_run_in_aws_outside_a_session_fetches_nothing(db, monkeypatch, in_session, in_aws, fetches):
    from tickerwatch import ingest
    from tickerwatch.local import load_function

    module = load_function("fetch_prices")
    monkeypatch.setattr(ingest, "prices_move", lambda now: in_session)
    monkeypatch.setattr(ingest, "fetch_repeatedly", lambda fetch_once, every: [fetch_once()])
    monkeypatch.setattr(
        module, "settings", module.settings.model_copy(update={"lambda_function_name": "x" if in_aws else None})
    )
    module.handler({"tickers": ["GOOG"]}, LocalContext("fetch_prices"))  # tracked, directly: never gated
    result = module.handler(scheduled_event("fetch_prices"), LocalContext("fetch_prices"))
    assert ("skipped" not in result) is fetches, result
    if fetches:
        assert result["succeeded"] == ["GOOG"]
