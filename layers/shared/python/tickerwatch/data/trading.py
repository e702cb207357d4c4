"""Data access for paper trading: accounts, positions, orders, fills, and the matching of resting
orders against changed quotes. A fill is one call of the SQL function ``paper_fill`` (migration
0012), the one place that moves cash, position and order together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from psycopg.rows import class_row

from tickerwatch.data import sql
from tickerwatch.db import Connection, paged


@dataclass(frozen=True)
class AccountRow:
    user_id: int
    starting_cash: Decimal
    cash: Decimal
    realized_pl: Decimal  # since the last reset
    created_at: datetime
    reset_at: datetime


@dataclass(frozen=True)
class PositionRow:
    symbol: str
    qty: Decimal
    cost_basis: Decimal
    last_price: Decimal | None
    price_time: datetime | None


@dataclass(frozen=True)
class QuoteRow:
    price: Decimal
    quoted_at: datetime
    age_minutes: Decimal  # in market minutes


@dataclass(frozen=True)
class OrderRow:
    id: int
    client_order_id: str | None
    symbol: str
    side: str
    qty: Decimal
    order_type: str
    limit_price: Decimal | None
    stop_price: Decimal | None
    time_in_force: str
    webhook_id: int | None
    status: str
    reserved_cash: Decimal
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    submitted_at: datetime
    expires_at: datetime | None
    filled_at: datetime | None
    canceled_at: datetime | None
    expired_at: datetime | None
    reject_reason: str | None


@dataclass(frozen=True)
class FillRow:
    symbol: str
    side: str
    qty: Decimal
    notional: Decimal
    filled_at: datetime


def _rows(conn: Connection, row_type: type):
    return conn.cursor(row_factory=class_row(row_type))


ORDER_COLUMNS = """
id, client_order_id, symbol, side, qty, order_type, limit_price, stop_price, time_in_force, webhook_id, status,
reserved_cash, filled_qty, filled_avg_price, submitted_at, expires_at, filled_at, canceled_at, expired_at,
reject_reason"""


# ---------------------------------------------------------------- account


ACCOUNT_COLUMNS = "user_id, starting_cash, cash, realized_pl, created_at, reset_at"


def lock_account(conn: Connection, user_id: int, starting_cash: Decimal) -> AccountRow:
    """The user's account, created on first use, locked for the rest of the transaction: every
    writer takes this lock first, so one user's orders, fills, cancels and resets are serialised."""
    open_account(conn, user_id, starting_cash)
    return (
        _rows(conn, AccountRow)
        .execute(f"SELECT {ACCOUNT_COLUMNS} FROM paper_accounts WHERE user_id = %s FOR UPDATE", (user_id,))
        .fetchone()
    )


def one_snapshot(conn: Connection) -> None:
    """Every read of this transaction sees one moment: cash, reservations and positions that agree,
    even while a fill commits in between. First statement of the transaction."""
    conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def open_account(conn: Connection, user_id: int, starting_cash: Decimal) -> AccountRow | None:
    """The user's account, created on first use; not locked (readers do not wait for a matching run)."""
    conn.execute(
        "INSERT INTO paper_accounts (user_id, starting_cash, cash, created_at, reset_at)"
        " VALUES (%s, %s, %s, now(), now()) ON CONFLICT DO NOTHING",
        (user_id, starting_cash, starting_cash),
    )
    return account(conn, user_id)


def account(conn: Connection, user_id: int) -> AccountRow | None:
    return (
        _rows(conn, AccountRow)
        .execute(f"SELECT {ACCOUNT_COLUMNS} FROM paper_accounts WHERE user_id = %s", (user_id,))
        .fetchone()
    )


def reservations(conn: Connection, user_id: int, symbol: str | None = None) -> tuple[Decimal, Decimal]:
    """(cash open buys hold back, shares of ``symbol`` open sells hold back)."""
    row = conn.execute(
        """SELECT coalesce(sum(reserved_cash), 0) AS cash,
                  coalesce(sum(qty) FILTER (WHERE side = 'sell' AND symbol = %(symbol)s), 0) AS shares
             FROM paper_orders WHERE user_id = %(user)s AND status = 'open'""",
        {"user": user_id, "symbol": symbol},
    ).fetchone()
    return row["cash"], row["shares"]


def position_qty(conn: Connection, user_id: int, symbol: str) -> Decimal:
    row = conn.execute(
        "SELECT qty FROM paper_positions WHERE user_id = %s AND symbol = %s", (user_id, symbol)
    ).fetchone()
    return row["qty"] if row else Decimal(0)


def positions(conn: Connection, user_id: int) -> list[PositionRow]:
    return (
        _rows(conn, PositionRow)
        .execute(
            """SELECT p.symbol, p.qty, p.cost_basis, s.current_price AS last_price, s.price_time
             FROM paper_positions p JOIN stocks s ON s.symbol = p.symbol
            WHERE p.user_id = %s ORDER BY p.symbol""",
            (user_id,),
        )
        .fetchall()
    )


def reset_account(conn: Connection, user_id: int, now: datetime) -> int:
    """Back to the starting cash with no positions; open orders canceled; orders and fills kept."""
    canceled = conn.execute(
        """UPDATE paper_orders SET status = 'canceled', canceled_at = %(now)s, reserved_cash = 0,
                  reject_reason = 'Canceled by an account reset.'
            WHERE user_id = %(user)s AND status = 'open'""",
        {"user": user_id, "now": now},
    ).rowcount
    conn.execute("DELETE FROM paper_positions WHERE user_id = %s", (user_id,))
    conn.execute(
        "UPDATE paper_accounts SET cash = starting_cash, realized_pl = 0, reset_at = %s WHERE user_id = %s",
        (now, user_id),
    )
    # Two resets at one instant (a double click landing in one clock tick) are one reset in the history.
    conn.execute("INSERT INTO paper_resets (user_id, reset_at) VALUES (%s, %s) ON CONFLICT DO NOTHING", (user_id, now))
    return canceled


# ---------------------------------------------------------------- quotes


def order_quote(conn: Connection, symbol: str, now: datetime) -> QuoteRow | None:
    """The symbol's latest quote and its age in market minutes. FOR SHARE holds a concurrent
    fetch's new quote back until this order is committed, so the evaluator that judges that quote
    sees the order: no quote slips between an order's arrival check and its matching."""
    return (
        _rows(conn, QuoteRow)
        .execute(
            """SELECT current_price AS price, price_time AS quoted_at,
                  market_minutes_between(price_time, %s) AS age_minutes
             FROM stocks WHERE symbol = %s AND price_time IS NOT NULL FOR SHARE""",
            (now, symbol),
        )
        .fetchone()
    )


# ---------------------------------------------------------------- orders


def insert_order(conn: Connection, user_id: int, fields: dict[str, Any]) -> OrderRow:
    return (
        _rows(conn, OrderRow)
        .execute(
            f"""INSERT INTO paper_orders (user_id, client_order_id, symbol, side, qty, order_type, limit_price,
                                      stop_price, time_in_force, webhook_id, status, reserved_cash,
                                      submitted_at, expires_at, arrival_quote_at, arrival_price)
            VALUES (%(user)s, %(client_order_id)s, %(symbol)s, %(side)s, %(qty)s, %(order_type)s,
                    %(limit_price)s, %(stop_price)s, %(time_in_force)s, %(webhook_id)s, 'open',
                    %(reserved_cash)s, %(submitted_at)s, %(expires_at)s, %(arrival_quote_at)s,
                    %(arrival_price)s)
            RETURNING {ORDER_COLUMNS}""",
            {"user": user_id, **fields},
        )
        .fetchone()
    )


def order_by_client_id(conn: Connection, user_id: int, client_order_id: str) -> OrderRow | None:
    return (
        _rows(conn, OrderRow)
        .execute(
            f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE user_id = %s AND client_order_id = %s",
            (user_id, client_order_id),
        )
        .fetchone()
    )


def get_order(conn: Connection, user_id: int, order_id: int) -> OrderRow | None:
    return (
        _rows(conn, OrderRow)
        .execute(f"SELECT {ORDER_COLUMNS} FROM paper_orders WHERE user_id = %s AND id = %s", (user_id, order_id))
        .fetchone()
    )


_STATUS_FILTER = {
    "open": "status = 'open'",
    "closed": "status <> 'open'",
    "all": "true",
}


def list_orders(
    conn: Connection, user_id: int, status: str, symbol: str | None, limit: int, offset: int
) -> tuple[int, list[OrderRow]]:
    where = f"user_id = %(user)s AND {_STATUS_FILTER[status]} AND (%(symbol)s::text IS NULL OR symbol = %(symbol)s)"
    params = {"user": user_id, "symbol": symbol, "limit": limit, "offset": offset}
    total, rows = paged(
        conn,
        f"""SELECT {ORDER_COLUMNS}, count(*) OVER () AS _total FROM paper_orders WHERE {where}
             ORDER BY submitted_at DESC, id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        params,
        f"SELECT count(*) AS n FROM paper_orders WHERE {where}",
        offset,
    )
    return total, [OrderRow(**row) for row in rows]


def cancel_order(conn: Connection, user_id: int, order_id: int, now: datetime) -> tuple[OrderRow | None, bool]:
    """(the order, whether this canceled it): canceled if still open (the caller holds the account
    lock, as a fill does), else as it is."""
    canceled = (
        _rows(conn, OrderRow)
        .execute(
            f"""UPDATE paper_orders SET status = 'canceled', canceled_at = %(now)s, reserved_cash = 0
             WHERE user_id = %(user)s AND id = %(id)s AND status = 'open' RETURNING {ORDER_COLUMNS}""",
            {"user": user_id, "id": order_id, "now": now},
        )
        .fetchone()
    )
    return (canceled, True) if canceled else (get_order(conn, user_id, order_id), False)


def fill(conn: Connection, order_id: int, price: Decimal, quoted_at: datetime, now: datetime, notify: bool) -> str:
    """Settle one open order at a price (``paper_fill``); returns 'filled', 'canceled' or None."""
    return conn.execute(
        "SELECT paper_fill(%s, %s, %s, %s, %s) AS outcome", (order_id, price, quoted_at, now, notify)
    ).fetchone()["outcome"]


# ---------------------------------------------------------------- matching (the evaluator's run)

# The matching statement and why it is written so: match_resting_orders.sql beside this module.
MATCH_RESTING_ORDERS = sql.load(Path(__file__).resolve().parent, "match_resting_orders.sql")


def match_resting_orders(
    conn: Connection,
    symbols: list[str],
    quoted: list[datetime],
    prices: list[Decimal],
    since: list[datetime | None],
    now: datetime,
) -> dict[str, int]:
    if not symbols:
        return {"filled": 0, "canceled": 0, "outcomes": []}
    return conn.execute(
        MATCH_RESTING_ORDERS, {"symbols": symbols, "quoted": quoted, "prices": prices, "since": since, "now": now}
    ).fetchone()


# A day order can fill on quotes up to its session's close, which a fetch may write after the close:
# it expires once a quote at or after the close has been judged for its symbol, or this long after
# the close when none comes (a halted stock).
CLOSING_QUOTE_WAIT_MINUTES = 30


def expire_day_orders(conn: Connection, now: datetime) -> list[dict]:
    """Day orders still open after their session's close, once its closing quote had its chance:
    each expired one's id, owner and symbol."""
    return conn.execute(
        """UPDATE paper_orders o SET status = 'expired', expired_at = %(now)s, reserved_cash = 0
            WHERE status = 'open' AND expires_at <= %(now)s
              AND (expires_at <= %(now)s - make_interval(mins => %(wait)s)
                   OR EXISTS (SELECT 1 FROM evaluation_cursors c
                               WHERE c.symbol = o.symbol AND c.quoted_at >= o.expires_at))
        RETURNING o.id AS order_id, o.user_id, o.symbol, 'expired' AS outcome""",
        {"now": now, "wait": CLOSING_QUOTE_WAIT_MINUTES},
    ).fetchall()


# ---------------------------------------------------------------- history


def ledger(conn: Connection, user_id: int) -> tuple[list[FillRow], list[datetime]]:
    """Every fill and every reset, oldest first: what the equity history is replayed from."""
    fills = (
        _rows(conn, FillRow)
        .execute(
            "SELECT symbol, side, qty, notional, filled_at FROM paper_fills WHERE user_id = %s ORDER BY filled_at, id",
            (user_id,),
        )
        .fetchall()
    )
    resets = [
        r["reset_at"]
        for r in conn.execute("SELECT reset_at FROM paper_resets WHERE user_id = %s ORDER BY reset_at", (user_id,))
    ]
    return fills, resets


def daily_closes(conn: Connection, symbols: list[str], start, end) -> dict[tuple[str, Any], float]:
    rows = conn.execute(
        "SELECT symbol, day, close FROM price_bars WHERE symbol = ANY(%s) AND day BETWEEN %s AND %s",
        (symbols, start, end),
    ).fetchall()
    return {(r["symbol"], r["day"]): r["close"] for r in rows}
