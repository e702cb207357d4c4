"""Data access for stocks, daily price bars and quotes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from tickerwatch.db import Connection
from tickerwatch.market_data import PriceBar, Quote, StockInfo
from tickerwatch.progress import Progress


@dataclass(frozen=True)
class StockRow:
    symbol: str
    name: str | None
    exchange: str | None
    current_price: Decimal | None
    price_time: datetime | None
    change_pct: float | None


def tracked_symbols(conn: Connection) -> list[str]:
    return [r["symbol"] for r in conn.execute("SELECT symbol FROM stocks ORDER BY symbol")]


def last_bar_days(conn: Connection, symbols: list[str]) -> dict[str, date]:
    rows = conn.execute(
        "SELECT symbol, max(day) AS last_day FROM price_bars WHERE symbol = ANY(%s) GROUP BY symbol",
        (symbols,),
    )
    return {r["symbol"]: r["last_day"] for r in rows}


def upsert_stocks(conn: Connection, infos: list[StockInfo]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO stocks (symbol, name, exchange) VALUES (%s, %s, %s)"
            " ON CONFLICT (symbol) DO UPDATE SET name = COALESCE(EXCLUDED.name, stocks.name),"
            " exchange = COALESCE(EXCLUDED.exchange, stocks.exchange)",
            [(i.symbol, i.name, i.exchange) for i in infos],
        )


BAR_COPY_TYPES = ("text", "date", "float8", "float8", "float8", "float8", "float8", "int8")


def write_bars(conn: Connection, bars: list[PriceBar]) -> int:
    """Idempotent bulk write: binary COPY into a temporary table, then upsert by (symbol, day).

    Rows that match what is stored are left alone, so a re-run writes nothing. A provider may send
    one day twice (the last one wins), deduplicated here rather than by sorting a million rows in SQL.
    """
    latest = {(b.symbol, b.day): b for b in bars}
    if not latest:
        return 0
    conn.execute("CREATE TEMP TABLE incoming_bars (LIKE price_bars INCLUDING DEFAULTS) ON COMMIT DROP")
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY incoming_bars (symbol, day, open, high, low, close, adj_close, volume) FROM STDIN (FORMAT BINARY)"
        ) as copy,
        Progress(len(latest), "writing bars") as bar,
    ):
        copy.set_types(BAR_COPY_TYPES)
        for done, b in enumerate(latest.values(), start=1):
            copy.write_row((b.symbol, b.day, b.open, b.high, b.low, b.close, b.adj_close, b.volume))
            if done % 50_000 == 0:
                bar.advance(50_000)
        bar.advance(len(latest) % 50_000)
    # The moving averages cached for indicator alerts that used a bar written here are dropped (a
    # revised close changes them); a new bar after the rest leaves them be.
    written = conn.execute(
        "WITH written AS ("
        " INSERT INTO price_bars SELECT * FROM incoming_bars"
        " ON CONFLICT (symbol, day) DO UPDATE SET open = EXCLUDED.open, high = EXCLUDED.high,"
        " low = EXCLUDED.low, close = EXCLUDED.close, adj_close = EXCLUDED.adj_close, volume = EXCLUDED.volume"
        " WHERE (price_bars.open, price_bars.high, price_bars.low, price_bars.close, price_bars.adj_close,"
        " price_bars.volume) IS DISTINCT FROM (EXCLUDED.open, EXCLUDED.high, EXCLUDED.low, EXCLUDED.close,"
        " EXCLUDED.adj_close, EXCLUDED.volume)"
        " RETURNING symbol, day),"
        " stale_averages AS (DELETE FROM moving_averages m USING"
        " (SELECT symbol, min(day) AS first_day FROM written GROUP BY symbol) w"
        " WHERE m.symbol = w.symbol AND m.through_day >= w.first_day)"
        " SELECT count(*) AS n FROM written"
    ).fetchone()["n"]
    conn.execute("DROP TABLE incoming_bars")
    return written


def record_quotes(conn: Connection, quotes: list[Quote]) -> list[str]:
    """Store each quote and make it the stock's current price unless a newer one is there; returns
    the symbols whose current price moved on."""
    if not quotes:
        return []
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO quotes (symbol, quoted_at, price) VALUES (%s, %s, %s)"
            " ON CONFLICT (symbol, quoted_at) DO UPDATE SET price = EXCLUDED.price",
            [(q.symbol, q.time, q.price) for q in quotes],
        )
    changed = conn.execute(
        """
        UPDATE stocks s SET current_price = q.price, price_time = q.quoted_at,
               previous_close = (SELECT b.close FROM price_bars b
                                  WHERE b.symbol = s.symbol
                                    AND b.day < (q.quoted_at AT TIME ZONE 'America/New_York')::date
                                  ORDER BY b.day DESC LIMIT 1)
          FROM (SELECT DISTINCT ON (symbol) symbol, quoted_at, price
                  FROM unnest(%s::text[], %s::timestamptz[], %s::numeric[]) AS u(symbol, quoted_at, price)
                 ORDER BY symbol, quoted_at DESC) AS q
         WHERE s.symbol = q.symbol AND (s.price_time IS NULL OR s.price_time <= q.quoted_at)
           AND (s.price_time IS DISTINCT FROM q.quoted_at OR s.current_price IS DISTINCT FROM q.price)
     RETURNING s.symbol
        """,
        ([q.symbol for q in quotes], [q.time for q in quotes], [q.price for q in quotes]),
    ).fetchall()
    return sorted(r["symbol"] for r in changed)


def prune_quotes(conn: Connection, older_than: datetime) -> int:
    """Delete quotes older than the cutoff, keeping each symbol's newest two (a crossing needs the
    quote before the latest, however old)."""
    return conn.execute(
        """DELETE FROM quotes q
            WHERE q.quoted_at < %s
              AND q.quoted_at < (SELECT min(k.quoted_at)
                                   FROM (SELECT quoted_at FROM quotes WHERE symbol = q.symbol
                                          ORDER BY quoted_at DESC LIMIT 2) k)""",
        (older_than,),
    ).rowcount


def mark_backfilled(conn: Connection, symbols: list[str]) -> None:
    if symbols:
        conn.execute("UPDATE stocks SET backfilled_at = now() WHERE symbol = ANY(%s)", (symbols,))


_STOCK_SELECT = """
    SELECT symbol, name, exchange, current_price, price_time,
           CASE WHEN previous_close > 0
                THEN round(((current_price - previous_close) / previous_close * 100)::numeric, 4) END AS change_pct
      FROM stocks"""


def _stock(r: dict) -> StockRow:
    change = float(r["change_pct"]) if r["change_pct"] is not None else None
    return StockRow(r["symbol"], r["name"], r["exchange"], r["current_price"], r["price_time"], change)


def list_stocks(conn: Connection) -> list[StockRow]:
    return [_stock(r) for r in conn.execute(_STOCK_SELECT + " ORDER BY symbol")]


def backfilled_stock(conn: Connection, symbol: str) -> StockRow | None:
    """The stock if it is tracked and its history has been backfilled."""
    row = conn.execute(_STOCK_SELECT + " WHERE symbol = %s AND backfilled_at IS NOT NULL", (symbol,)).fetchone()
    return _stock(row) if row else None


def is_tracked(conn: Connection, symbol: str) -> bool:
    return conn.execute("SELECT 1 FROM stocks WHERE symbol = %s", (symbol,)).fetchone() is not None


def bars_between(conn: Connection, symbol: str, start: date | None, end: date | None) -> list[PriceBar]:
    rows = conn.execute(
        "SELECT symbol, day, open, high, low, close, adj_close, volume FROM price_bars"
        " WHERE symbol = %s AND (%s::date IS NULL OR day >= %s) AND (%s::date IS NULL OR day <= %s)"
        " ORDER BY day",
        (symbol, start, start, end, end),
    )
    return [PriceBar(**r) for r in rows]


def closes(conn: Connection, symbol: str) -> tuple[list[date], list[float]]:
    rows = conn.execute("SELECT day, close FROM price_bars WHERE symbol = %s ORDER BY day", (symbol,)).fetchall()
    return [r["day"] for r in rows], [r["close"] for r in rows]


def warm_moving_averages(conn: Connection, symbols: list[str]) -> int:
    """Compute the averages the symbols' indicator alerts will be judged on, through their newest bar,
    when the bars land rather than in the first evaluation of the next session."""
    return conn.execute(
        """INSERT INTO moving_averages (symbol, kind, period, through_day, value)
           SELECT n.symbol, n.kind, n.period, b.through, moving_average(n.symbol, n.kind, n.period, b.through)
             FROM (SELECT DISTINCT a.symbol, v.kind, v.period
                     FROM alerts a
                     CROSS JOIN LATERAL (VALUES (a.indicator, a.period), (a.other_indicator, a.other_period))
                          AS v(kind, period)
                    WHERE a.symbol = ANY(%s) AND a.alert_type = 'indicator' AND a.status = 'active'
                      AND v.kind IS NOT NULL) n
             CROSS JOIN LATERAL (SELECT max(day) AS through FROM price_bars WHERE symbol = n.symbol) b
            WHERE b.through IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM moving_averages m
                               WHERE m.symbol = n.symbol AND m.kind = n.kind AND m.period = n.period
                                 AND m.through_day = b.through)
           ON CONFLICT DO NOTHING""",
        (list(symbols),),
    ).rowcount


def daily_close_count(conn: Connection, symbol: str) -> int:
    return conn.execute("SELECT count(*) AS n FROM price_bars WHERE symbol = %s", (symbol,)).fetchone()["n"]


def current_price(conn: Connection, symbol: str) -> tuple[bool, float | None]:
    row = conn.execute("SELECT current_price FROM stocks WHERE symbol = %s", (symbol,)).fetchone()
    if row is None:
        return False, None
    return True, float(row["current_price"]) if row["current_price"] is not None else None
