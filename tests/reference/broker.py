"""The paper broker as the README states its rules, in plain Python with exact decimals.

One account. Orders fill whole. A market order fills at the latest quote when it is fresh (at most
``max_age`` market minutes old), else it is refused (409). A limit or stop order fills at once at
the quote when the quote is fresh and reaches it, else it rests. Resting orders are matched when the
evaluator runs: each symbol whose latest quote changed since the last run, if that quote is fresh,
walks every quote since the symbol was last judged (the latest alone the first time); an order is
reached by the first of them after the quote it was placed on, or that one corrected (for a day
order, up to and including its session's close), that touches its price: a limit fills at its limit
price, a stop at that quote.
The orders reached fill in the order they were reached, then placed, and hold no cash back from one
another. Then day orders whose close has come expire, once a quote at or after the close was judged
for their symbol or 30 minutes after it.

Money: a buy costs qty x price rounded up to the cent, a sale pays it rounded down; a resting buy
reserves qty x its price rounded up; a sale's cost is its share of the position's cost basis (the
whole basis when the position closes), rounded half up. No margin, no short selling. (A fill is
never stamped before its order or the last reset; time only moves on here, so that rule is tested
apart.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext

from reference.calendar import first_close_after, market_minutes

CENT = Decimal("0.01")
CLOSING_QUOTE_WAIT = timedelta(minutes=30)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cents_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_CEILING)


def cents_down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def shown(value: Decimal) -> str:
    return f"{cents(value):,.2f}"


def shares(value: Decimal) -> str:
    return f"{value.normalize():f}"


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Order:
    id: int
    symbol: str
    side: str
    qty: Decimal
    type: str
    price: Decimal | None  # the limit or stop price
    time_in_force: str
    client_order_id: str | None
    submitted_at: datetime
    expires_at: datetime | None
    arrival: tuple[datetime, Decimal] | None = None  # the latest quote when it was placed (time, price)
    status: str = "open"
    reserved: Decimal = Decimal(0)
    fill_price: Decimal | None = None
    filled_at: datetime | None = None
    reason: str | None = None

    def body(self) -> tuple:
        return (self.symbol, self.side, self.qty, self.type, self.price, self.time_in_force)

    def reached_by(self, price: Decimal) -> bool:
        if self.type == "market":
            return True
        if (self.side, self.type) in (("buy", "limit"), ("sell", "stop")):
            return price <= self.price
        return price >= self.price


@dataclass
class Broker:
    starting_cash: Decimal
    max_age: int
    cash: Decimal = Decimal(0)
    realized: Decimal = Decimal(0)
    positions: dict[str, tuple[Decimal, Decimal]] = field(default_factory=dict)  # symbol: (qty, cost basis)
    orders: dict[int, Order] = field(default_factory=dict)
    quotes: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)  # the latest per symbol
    history: dict[str, dict[datetime, Decimal]] = field(default_factory=dict)  # every quote, by time
    judged: dict[str, tuple[Decimal, datetime]] = field(default_factory=dict)  # what the last run saw

    def __post_init__(self) -> None:
        self.cash = self.starting_cash

    # ------------------------------------------------------------ what the account shows

    def held_cash(self) -> Decimal:
        return sum((o.reserved for o in self.orders.values() if o.status == "open"), Decimal(0))

    def held_shares(self, symbol: str) -> Decimal:
        return sum(
            (o.qty for o in self.orders.values() if o.status == "open" and o.side == "sell" and o.symbol == symbol),
            Decimal(0),
        )

    def buying_power(self) -> Decimal:
        return self.cash - self.held_cash()

    def equity(self) -> Decimal:
        return self.cash + sum((cents(q * self.quotes[s][0]) for s, (q, _) in self.positions.items()), Decimal(0))

    def fresh(self, symbol: str, now: datetime) -> bool:
        quoted = self.quotes.get(symbol)
        return quoted is not None and market_minutes(quoted[1], now) <= self.max_age

    # ------------------------------------------------------------ what the user does

    def quote(self, symbol: str, price: Decimal, at: datetime) -> None:
        self.quotes[symbol] = (price, at)
        self.history.setdefault(symbol, {})[at] = price

    def place(self, now: datetime, order: Order) -> tuple[Order, bool]:
        """(the order, whether it is new); raises Refused."""
        if order.client_order_id is not None:
            earlier = next((o for o in self.orders.values() if o.client_order_id == order.client_order_id), None)
            if earlier is not None:
                if earlier.body() != order.body():
                    raise Refused(409, f"client_order_id '{order.client_order_id}' was used for order {earlier.id}")
                return earlier, False
        fresh = self.fresh(order.symbol, now)
        if order.type == "market" and not fresh:
            raise Refused(409, f"No fresh quote for {order.symbol}")
        price = self.quotes[order.symbol][0] if fresh else None
        fills_now = fresh and order.reached_by(price)
        if order.side == "buy":
            needs = cents_up(order.qty * (price if fills_now else order.price))
            has = self.buying_power()
            if needs > has:
                raise Refused(422, f"Insufficient buying power: needs {shown(needs)}, has {shown(has)}.")
            if not fills_now:
                order.reserved = needs
        else:
            has = self.positions.get(order.symbol, (Decimal(0), Decimal(0)))[0] - self.held_shares(order.symbol)
            if order.qty > has:
                raise Refused(
                    422, f"Insufficient shares of {order.symbol}: needs {shares(order.qty)}, has {shares(has)}."
                )
        order.submitted_at = now
        latest = self.quotes.get(order.symbol)
        order.arrival = (latest[1], latest[0]) if latest is not None else None
        order.expires_at = first_close_after(now) if order.time_in_force == "day" else None
        self.orders[order.id] = order
        if fills_now:
            self._fill(order, price, now)
        return order, True

    def cancel(self, order_id: int) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise Refused(404, "Order not found.")
        if order.status != "open":
            raise Refused(422, f"Order {order_id} is {order.status}; only an open order can be canceled.")
        order.status, order.reserved = "canceled", Decimal(0)
        return order

    def reset(self) -> None:
        for order in self.orders.values():
            if order.status == "open":
                order.status, order.reserved, order.reason = "canceled", Decimal(0), "Canceled by an account reset."
        self.cash, self.realized, self.positions = self.starting_cash, Decimal(0), {}

    # ------------------------------------------------------------ the evaluator's run

    def run(self, now: datetime) -> None:
        paths = {}
        for symbol, latest in self.quotes.items():
            before = self.judged.get(symbol)
            if before != latest:
                self.judged[symbol] = latest
                if self.fresh(symbol, now):
                    since = before[1] if before is not None else None
                    walked = sorted(self.history[symbol].items())
                    paths[symbol] = [q for q in walked if since is not None and since < q[0] < latest[1]]
                    paths[symbol].append((latest[1], latest[0]))
        reached = []
        for order in self.orders.values():
            if order.status != "open" or order.symbol not in paths:
                continue
            hit = next(
                (
                    (at, price)
                    for at, price in paths[order.symbol]
                    if (order.arrival is None or ((at, price) != order.arrival and at >= order.arrival[0]))
                    and (order.expires_at is None or at <= order.expires_at)
                    and order.reached_by(price)
                ),
                None,
            )
            if hit is not None:
                reached.append((hit[0], order.submitted_at, order.id, order.price if order.type == "limit" else hit[1]))
        together = {r[2] for r in reached}
        for _, _, order_id, price in sorted(reached):
            self._fill(self.orders[order_id], price, now, released=together)
        for order in self.orders.values():
            if order.status == "open" and order.expires_at is not None and order.expires_at <= now:
                judged = self.judged.get(order.symbol)
                if now - order.expires_at >= CLOSING_QUOTE_WAIT or (judged and judged[1] >= order.expires_at):
                    order.status, order.reserved = "expired", Decimal(0)

    def _fill(self, order: Order, price: Decimal, now: datetime, released: frozenset | set = frozenset()) -> None:
        if order.side == "buy":
            notional = cents_up(order.qty * price)
            order.reserved = Decimal(0)
            has = self.cash - sum(
                (o.reserved for o in self.orders.values() if o.status == "open" and o.id not in released), Decimal(0)
            )
            if notional > has:
                order.status = "canceled"
                order.reason = f"Insufficient buying power at fill: needs {shown(notional)}, has {shown(has)}"
                return
            held, basis = self.positions.get(order.symbol, (Decimal(0), Decimal(0)))
            self.cash -= notional
            self.positions[order.symbol] = (held + order.qty, basis + notional)
        else:
            notional = cents_down(order.qty * price)
            held, basis = self.positions.get(order.symbol, (Decimal(0), Decimal(0)))
            if held < order.qty:
                order.status = "canceled"
                order.reason = f"Insufficient shares at fill: needs {order.qty}, has {held}"
                return
            with localcontext() as exact:
                exact.prec = 60
                sold = basis if held == order.qty else cents(basis * order.qty / held)
            self.cash += notional
            self.realized += notional - sold
            if held == order.qty:
                del self.positions[order.symbol]
            else:
                self.positions[order.symbol] = (held - order.qty, basis - sold)
        order.status, order.fill_price, order.filled_at = "filled", price, now
