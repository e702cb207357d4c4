"""Paper trading: a simulated brokerage account per user, with play money.

Orders fill whole. A market order fills at once at the latest quote (when it passes the alerts'
staleness rule); a limit or stop order fills at once at the quote when marketable on arrival, else it
rests and is matched by the alert evaluator's run (``match_resting_orders``) against every quote
since it was last judged: a limit fills at its limit price once a quote reaches it, a stop at the
first quote at or through its stop; a day order on quotes up to its session's close. There is no
margin and no short selling: an open buy reserves qty x its limit or stop price (rounded up to the
cent) from buying power, an open sell reserves its shares. Money is exact decimals from the request
to the database; a fill settles to the cent against the account, as a broker rounds: a buy's cost
up, a sale's proceeds down, so no sequence of orders makes money from rounding.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from tickerwatch import live, stocks
from tickerwatch.data import clock
from tickerwatch.data import prices as price_store
from tickerwatch.data import trading as store
from tickerwatch.data import webhooks as webhook_store
from tickerwatch.db import Database
from tickerwatch.errors import Conflict, InvalidInput, NotFound, Unprocessable
from tickerwatch.market_data import MarketData, normalise_symbol
from tickerwatch.market_time import NEW_YORK, close_time, is_trading_day, session_close_after
from tickerwatch.observability import logger, metrics

CENT = Decimal("0.01")
MAX_QTY = 1_000_000_000
MAX_PRICE = 1_000_000
QTY_PLACES, PRICE_PLACES = 6, 4
PRICE_SHOWN = Decimal("0.000001")  # fill and average prices, as the fills store them (numeric(18, 6))
MAX_HISTORY_DAYS = 5 * 366


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def settlement(side: str, qty: Decimal, price: Decimal) -> Decimal:
    """What a fill moves: a buy's cost rounded up to the cent, a sale's proceeds down (as ``paper_fill``
    settles it, migration 0013)."""
    return (qty * price).quantize(CENT, rounding=ROUND_CEILING if side == "buy" else ROUND_FLOOR)


def amount(value: Decimal) -> str:
    """12345.6 -> "12,345.60", as the error messages show money."""
    return f"{money(value):,.2f}"


def quantity(value: Decimal) -> str:
    """Shares without trailing zeros: 1.500000 -> "1.5"."""
    return f"{value.normalize():f}"


@dataclass(frozen=True)
class OrderRequest:
    symbol: str
    side: str
    qty: Decimal
    order_type: str = "market"
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: str = "day"
    client_order_id: str | None = None
    webhook_id: int | None = None

    def same_order_as(self, row: store.OrderRow) -> bool:
        """Whether a stored order was submitted with this body (an idempotent retry)."""
        mine = asdict(self) | {"symbol": normalise_symbol(self.symbol)}
        return all(getattr(row, name) == mine[name] for name in mine if name != "client_order_id")


def check_order(order: OrderRequest) -> None:
    """The rules between fields; each field's own shape is the HTTP contract's."""
    problems: dict[str, list[str]] = {}
    if order.order_type == "limit" and order.limit_price is None:
        problems["limit_price"] = ["A limit order needs a limit_price."]
    if order.order_type == "stop" and order.stop_price is None:
        problems["stop_price"] = ["A stop order needs a stop_price."]
    if order.order_type != "limit" and order.limit_price is not None:
        problems["limit_price"] = [f"A {order.order_type} order takes no limit_price."]
    if order.order_type != "stop" and order.stop_price is not None:
        problems["stop_price"] = [f"A {order.order_type} order takes no stop_price."]
    if problems:
        raise InvalidInput(problems)


def marketable(side: str, order_type: str, trigger: Decimal | None, price: Decimal) -> bool:
    """Whether a quote at ``price`` fills the order: a buy limit at or under its limit, a sell limit
    at or over, a buy stop at or over its stop, a sell stop at or under."""
    if order_type == "market":
        return True
    assert trigger is not None
    if (side, order_type) in (("buy", "limit"), ("sell", "stop")):
        return price <= trigger
    return price >= trigger


def _track(db: Database, provider: MarketData, symbol: str) -> None:
    """An untracked but real symbol is tracked first, as POST /api/v1/stocks/ does; unknown: 404."""
    if not db.one(lambda conn: price_store.is_tracked(conn, symbol)):
        stocks.track_stock(db, provider, symbol)


def _replay(order: OrderRequest, existing: store.OrderRow) -> store.OrderRow:
    if not order.same_order_as(existing):
        raise Conflict(
            f"client_order_id '{order.client_order_id}' was used for order {existing.id} with a different body.",
            {"client_order_id": ["This client_order_id was used for a different order."]},
        )
    return existing


def place_order(
    db: Database,
    provider: MarketData,
    user_id: int,
    order: OrderRequest,
    *,
    starting_cash: Decimal,
    max_price_age_minutes: int,
    publisher: live.Publisher | None = None,
) -> tuple[store.OrderRow, bool]:
    """Submit an order; returns (order, created). The same client_order_id with the same body
    returns the first order (created False); with another body, 409."""
    check_order(order)
    symbol = normalise_symbol(order.symbol)
    if order.client_order_id is not None:
        earlier = db.one(lambda conn: store.order_by_client_id(conn, user_id, order.client_order_id))
        if earlier is not None:
            return _replay(order, earlier), False
    _track(db, provider, symbol)

    def work(conn) -> tuple[store.OrderRow, bool]:
        now = clock.database_now(conn)
        account = store.lock_account(conn, user_id, starting_cash)
        if order.client_order_id is not None:  # again, under the lock: two retries racing
            earlier = store.order_by_client_id(conn, user_id, order.client_order_id)
            if earlier is not None:
                return _replay(order, earlier), False
        if order.webhook_id is not None and not webhook_store.owns_webhook(conn, user_id, order.webhook_id):
            raise InvalidInput({"webhook_id": ["You have no webhook with this id."]})
        quote = store.order_quote(conn, symbol, now)
        fresh = quote is not None and quote.age_minutes <= max_price_age_minutes
        if order.order_type == "market" and not fresh:
            age = "none" if quote is None else f"{quote.age_minutes:,} market minutes old"
            raise Conflict(
                f"No fresh quote for {symbol} (latest: {age}; at most {max_price_age_minutes} allowed); "
                "a market order fills only at a fresh quote. A limit order can rest until the price moves."
            )
        trigger = order.limit_price if order.order_type == "limit" else order.stop_price
        fills_now = fresh and marketable(order.side, order.order_type, trigger, quote.price)
        reserved_cash = Decimal(0)
        held_cash, held_shares = store.reservations(conn, user_id, symbol)
        if order.side == "buy":
            if fills_now:
                needs = settlement("buy", order.qty, quote.price)
            else:
                needs = reserved_cash = (order.qty * trigger).quantize(CENT, rounding=ROUND_CEILING)
            has = account.cash - held_cash
            if needs > has:
                raise Unprocessable(f"Insufficient buying power: needs {amount(needs)}, has {amount(has)}.")
        else:
            has = store.position_qty(conn, user_id, symbol) - held_shares
            if order.qty > has:
                raise Unprocessable(
                    f"Insufficient shares of {symbol}: needs {quantity(order.qty)}, has {quantity(has)}."
                )
        row = store.insert_order(
            conn,
            user_id,
            {
                "client_order_id": order.client_order_id,
                "symbol": symbol,
                "side": order.side,
                "qty": order.qty,
                "order_type": order.order_type,
                "limit_price": order.limit_price,
                "stop_price": order.stop_price,
                "time_in_force": order.time_in_force,
                "webhook_id": order.webhook_id,
                "reserved_cash": reserved_cash,
                "submitted_at": now,
                "expires_at": session_close_after(now) if order.time_in_force == "day" else None,
                "arrival_quote_at": quote.quoted_at if quote is not None else None,
                "arrival_price": quote.price if quote is not None else None,
            },
        )
        if fills_now:
            store.fill(conn, row.id, quote.price, quote.quoted_at, now, notify=False)
            row = store.get_order(conn, user_id, row.id)
        return row, True

    # Under the account lock a retry finds its first order above; (user_id, client_order_id) is unique too.
    placed, created = db.run(work)
    if created:
        metrics.add_metric(name="OrderPlaced", unit="Count", value=1)
        logger.info("order placed", extra={"order_id": placed.id, "status": placed.status})
        outcome = [{"order_id": placed.id, "user_id": user_id, "symbol": placed.symbol, "outcome": placed.status}]
        # committed: a filled order, or cash and shares now held back for an open one
        events = live.order_events(outcome) or [live.user_event(user_id, live.PORTFOLIO_CHANGED)]
        (publisher or live.NullPublisher()).publish(events)
    return placed, created


def get_order(db: Database, user_id: int, order_id: int) -> store.OrderRow:
    found = db.one(lambda conn: store.get_order(conn, user_id, order_id))
    if found is None:
        raise NotFound("Order not found.")
    return found


def list_orders(
    db: Database, user_id: int, status: str, symbol: str | None, limit: int, offset: int
) -> tuple[int, list[store.OrderRow]]:
    wanted = normalise_symbol(symbol) if symbol else None
    return db.one(lambda conn: store.list_orders(conn, user_id, status, wanted, limit, offset))


def cancel_order(
    db: Database, user_id: int, order_id: int, starting_cash: Decimal, publisher: live.Publisher | None = None
) -> store.OrderRow:
    """Cancel an open order, releasing its reservation. Under the account lock, so a cancel racing
    a fill ends as exactly one of the two."""

    def work(conn) -> store.OrderRow:
        now = clock.database_now(conn)
        store.lock_account(conn, user_id, starting_cash)
        found, canceled = store.cancel_order(conn, user_id, order_id, now)
        if found is None:
            raise NotFound("Order not found.")
        if not canceled:
            raise Unprocessable(f"Order {order_id} is {found.status}; only an open order can be canceled.")
        return found

    canceled = db.run(work)
    outcome = {"order_id": canceled.id, "user_id": user_id, "symbol": canceled.symbol, "outcome": "canceled"}
    (publisher or live.NullPublisher()).publish(live.order_events([outcome]))
    return canceled


# ---------------------------------------------------------------- the account


def _open(db: Database, user_id: int, starting_cash: Decimal) -> None:
    """Opens the account on first use, in its own transaction: inside a REPEATABLE READ snapshot, two
    first requests at once (the client loads the portfolio and its history together) would conflict."""
    db.run(lambda conn: store.open_account(conn, user_id, starting_cash))


def portfolio(db: Database, user_id: int, starting_cash: Decimal) -> dict:
    def work(conn) -> dict:
        store.one_snapshot(conn)
        held_cash, _ = store.reservations(conn, user_id)
        return {
            "account": store.account(conn, user_id),
            "held_cash": held_cash,
            "positions": store.positions(conn, user_id),
        }

    _open(db, user_id, starting_cash)
    found = db.run(work)
    account = found["account"]
    positions, market_total, unrealized_total = [], Decimal(0), Decimal(0)
    for p in found["positions"]:
        value = money(p.qty * p.last_price) if p.last_price is not None else p.cost_basis
        unrealized = value - p.cost_basis
        market_total += value
        unrealized_total += unrealized
        positions.append(
            {
                "symbol": p.symbol,
                "qty": p.qty,
                "avg_price": (p.cost_basis / p.qty).quantize(PRICE_SHOWN, rounding=ROUND_HALF_UP),
                "cost_basis": p.cost_basis,
                "last_price": p.last_price,
                "price_time": p.price_time,
                "market_value": value,
                "unrealized_pl": unrealized,
            }
        )
    return {
        "cash": account.cash,
        "buying_power": account.cash - found["held_cash"],
        "equity": account.cash + market_total,
        "starting_cash": account.starting_cash,
        "realized_pl": account.realized_pl,
        "unrealized_pl": unrealized_total,
        "positions": positions,
        "reset_at": account.reset_at,
    }


def reset(db: Database, user_id: int, starting_cash: Decimal, publisher: live.Publisher | None = None) -> dict:
    def work(conn) -> int:
        store.lock_account(conn, user_id, starting_cash)
        return store.reset_account(conn, user_id, clock.database_now(conn))

    canceled = db.run(work)
    logger.info("paper account reset", extra={"orders_canceled": canceled})
    (publisher or live.NullPublisher()).publish([live.user_event(user_id, live.PORTFOLIO_CHANGED)])
    return portfolio(db, user_id, starting_cash)


def equity_history(db: Database, user_id: int, starting_cash: Decimal) -> list[dict]:
    """The account's equity at each trading day's close since it was opened (today: at the latest
    quotes), replayed from the fills and resets over the daily bars."""

    def work(conn):
        store.one_snapshot(conn)
        fills, resets = store.ledger(conn, user_id)
        held = store.positions(conn, user_id)
        return store.account(conn, user_id), fills, resets, held, clock.database_now(conn)

    _open(db, user_id, starting_cash)
    account, fills, resets, held, now = db.run(work)
    today = now.astimezone(NEW_YORK).date()
    first = max(account.created_at.astimezone(NEW_YORK).date(), today - timedelta(days=MAX_HISTORY_DAYS))
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    days = [d for d in days if is_trading_day(d) or d == today]  # today: at the latest quotes
    symbols = sorted({f.symbol for f in fills})
    closes = db.one(lambda conn: store.daily_closes(conn, symbols, first - timedelta(days=10), today))
    latest = {p.symbol: p.last_price for p in held if p.last_price is not None}

    events = sorted([(f.filled_at, 1, f) for f in fills] + [(r, 0, None) for r in resets], key=lambda e: e[:2])
    cash, shares = account.starting_cash, {}
    last_close: dict[str, Decimal] = {}
    for (symbol, day), close in sorted(closes.items(), key=lambda item: item[0][1]):
        if day < first:  # the close in force on the first day, should it have no bar
            last_close[symbol] = Decimal(str(close))
    points, i = [], 0
    for day in days:
        end = close_time(day) if day != today else now
        while i < len(events) and events[i][0] <= end:
            _, kind, fill = events[i]
            i += 1
            if kind == 0:
                cash, shares = account.starting_cash, {}
                continue
            sign = 1 if fill.side == "buy" else -1
            cash -= sign * fill.notional
            shares[fill.symbol] = shares.get(fill.symbol, Decimal(0)) + sign * fill.qty
            last_close.setdefault(fill.symbol, fill.notional / fill.qty)
        for symbol in symbols:
            close = closes.get((symbol, day))
            if close is not None:
                last_close[symbol] = Decimal(str(close))
        value = cash
        for symbol, qty in shares.items():
            price = latest.get(symbol) if day == today else None
            value += money(qty * (price if price is not None else last_close.get(symbol, Decimal(0))))
        points.append({"date": day, "equity": money(value)})
    return points
