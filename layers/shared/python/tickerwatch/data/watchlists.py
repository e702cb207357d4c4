"""Data access for watchlists and their symbols."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from tickerwatch.db import Connection, paged


@dataclass(frozen=True)
class WatchedStock:
    symbol: str
    name: str | None
    current_price: Decimal | None
    price_time: datetime | None
    change_pct: Decimal | None  # since the previous close


@dataclass(frozen=True)
class WatchlistRow:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    symbols: list[WatchedStock]  # in display order


class DuplicateName(Exception):
    pass


_LISTS = """
SELECT w.id, w.name, w.created_at, w.updated_at, count(*) OVER () AS _total
  FROM watchlists w
 WHERE w.user_id = %(user)s AND (%(id)s::bigint IS NULL OR w.id = %(id)s)
 ORDER BY w.id
 LIMIT %(limit)s OFFSET %(offset)s"""

# Each list's symbols with the stock's latest price and the change since the previous close.
_SYMBOLS = """
SELECT ws.watchlist_id, s.symbol, s.name, s.current_price, s.price_time,
       CASE WHEN s.previous_close > 0
            THEN round(((s.current_price - s.previous_close) / s.previous_close * 100)::numeric, 4) END
           AS change_pct
  FROM watchlist_symbols ws JOIN stocks s ON s.symbol = ws.symbol
 WHERE ws.watchlist_id = ANY(%s)
 ORDER BY ws.watchlist_id, ws.position"""


def list_watchlists(
    conn: Connection, user_id: int, limit: int, offset: int, watchlist_id: int | None = None
) -> tuple[int, list[WatchlistRow]]:
    params = {"user": user_id, "id": watchlist_id, "limit": limit, "offset": offset}
    total, rows = paged(
        conn,
        _LISTS,
        params,
        "SELECT count(*) AS n FROM watchlists WHERE user_id = %(user)s AND (%(id)s::bigint IS NULL OR id = %(id)s)",
        offset,
    )
    symbols: dict[int, list[WatchedStock]] = {row["id"]: [] for row in rows}
    for item in conn.execute(_SYMBOLS, (list(symbols),)):
        symbols[item.pop("watchlist_id")].append(WatchedStock(**item))
    return total, [WatchlistRow(**row, symbols=symbols[row["id"]]) for row in rows]


def get_watchlist(conn: Connection, user_id: int, watchlist_id: int) -> WatchlistRow | None:
    _, rows = list_watchlists(conn, user_id, 1, 0, watchlist_id)
    return rows[0] if rows else None


def count_watchlists(conn: Connection, user_id: int) -> int:
    return conn.execute("SELECT count(*) AS n FROM watchlists WHERE user_id = %s", (user_id,)).fetchone()["n"]


def _replace_symbols(conn: Connection, watchlist_id: int, symbols: list[str]) -> None:
    conn.execute("DELETE FROM watchlist_symbols WHERE watchlist_id = %s", (watchlist_id,))
    if symbols:
        conn.execute(
            "INSERT INTO watchlist_symbols (watchlist_id, position, symbol)"
            " SELECT %s, p, s FROM unnest(%s::text[]) WITH ORDINALITY AS u(s, p)",
            (watchlist_id, symbols),
        )


def _guard_name(fn):
    def wrapper(conn: Connection, *args, **kwargs):
        try:
            with conn.transaction():
                return fn(conn, *args, **kwargs)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "watchlists_user_name":
                raise DuplicateName from None
            raise

    return wrapper


@_guard_name
def insert_watchlist(conn: Connection, user_id: int, name: str, symbols: list[str]) -> int:
    watchlist_id = conn.execute(
        "INSERT INTO watchlists (user_id, name) VALUES (%s, %s) RETURNING id", (user_id, name)
    ).fetchone()["id"]
    _replace_symbols(conn, watchlist_id, symbols)
    return watchlist_id


@_guard_name
def update_watchlist(
    conn: Connection, user_id: int, watchlist_id: int, name: str | None, symbols: list[str] | None
) -> bool:
    row = conn.execute(
        "UPDATE watchlists SET name = coalesce(%s, name), updated_at = now() WHERE id = %s AND user_id = %s"
        " RETURNING id",
        (name, watchlist_id, user_id),
    ).fetchone()
    if row is None:
        return False
    if symbols is not None:
        _replace_symbols(conn, watchlist_id, symbols)
    return True


def delete_watchlist(conn: Connection, user_id: int, watchlist_id: int) -> bool:
    return conn.execute("DELETE FROM watchlists WHERE id = %s AND user_id = %s", (watchlist_id, user_id)).rowcount == 1


def untracked(conn: Connection, symbols: list[str]) -> list[str]:
    """The symbols not tracked yet, or tracked without their backfilled history."""
    rows = conn.execute(
        "SELECT u.s AS symbol FROM unnest(%s::text[]) AS u(s)"
        " WHERE NOT EXISTS (SELECT 1 FROM stocks WHERE symbol = u.s AND backfilled_at IS NOT NULL)",
        (symbols,),
    ).fetchall()
    return [r["symbol"] for r in rows]
