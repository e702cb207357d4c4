"""Live updates: what is pushed to open clients, on which channel, and who may listen.

Channels (AWS AppSync Events): ``/prices/{symbol}`` for every signed-in user, ``/users/{id}`` for
that user alone. Events are published only after the transaction that made the change committed
(so a rolled-back change publishes nothing); a lost event loses nothing either, because a client
that (re)connects reloads its state over HTTP. Fan-out is AppSync's (locally, ``local_events``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

PRICES, USERS = "prices", "users"
NAMESPACES = (PRICES, USERS)
SEGMENT = re.compile(r"^[A-Za-z0-9-]{1,50}$")  # AppSync Events: a channel segment's characters

# Per-user event types, one definition (the client's toasts and reloads key on them).
ALERT_TRIGGERED = "alert.triggered"
NOTIFICATION_SENT, NOTIFICATION_FAILED = "notification.sent", "notification.failed"
ORDER_FILLED, ORDER_CANCELED, ORDER_EXPIRED = "order.filled", "order.canceled", "order.expired"
PORTFOLIO_CHANGED = "portfolio.changed"
PRICE = "price"
ORDER_OUTCOMES = {"filled": ORDER_FILLED, "canceled": ORDER_CANCELED, "expired": ORDER_EXPIRED}


def symbol_segment(symbol: str) -> str:
    """A ticker as a channel segment: letters and digits as they are, any other character as
    ``-`` and its two hex digits (``BRK.B`` -> ``BRK-2EB``, ``^GSPC`` -> ``-5EGSPC``), since a
    segment allows only letters, digits and dashes. The web client encodes alike (a test compares)."""
    return "".join(c if c.isascii() and c.isalnum() else f"-{ord(c):02X}" for c in symbol)


def price_channel(symbol: str) -> str:
    return f"/{PRICES}/{symbol_segment(symbol)}"


def user_channel(user_id: int) -> str:
    return f"/{USERS}/{user_id}"


@dataclass(frozen=True)
class LiveEvent:
    channel: str
    payload: dict[str, Any]


def _number(value: Decimal | float) -> float:
    return float(value)


def _time(value: datetime) -> str:
    return value.isoformat()


def price_event(symbol: str, price: Decimal | float, quoted_at: datetime) -> LiveEvent:
    payload = {"type": PRICE, "symbol": symbol, "price": _number(price), "quoted_at": _time(quoted_at)}
    return LiveEvent(price_channel(symbol), payload)


def user_event(user_id: int, event_type: str, **fields: Any) -> LiveEvent:
    body = {
        k: _number(v) if isinstance(v, Decimal) else _time(v) if isinstance(v, datetime) else v
        for k, v in fields.items()
    }
    return LiveEvent(user_channel(user_id), {"type": event_type, **body})


def order_events(outcomes: Iterable[dict[str, Any]]) -> list[LiveEvent]:
    """order.filled / canceled / expired for each order, and one portfolio.changed per owner."""
    events, owners = [], []
    for row in outcomes:
        kind = ORDER_OUTCOMES.get(row["outcome"])
        if kind is None:
            continue
        events.append(user_event(row["user_id"], kind, order_id=row["order_id"], symbol=row["symbol"]))
        if row["user_id"] not in owners:
            owners.append(row["user_id"])
    return events + [user_event(owner, PORTFOLIO_CHANGED) for owner in owners]


class Publisher(Protocol):
    def publish(self, events: list[LiveEvent]) -> int:
        """Send the events (committed changes only); returns how many went out. Never raises: the
        change is committed, and a client that reconnects reloads its state."""
        ...


class NullPublisher:
    """No live channel configured (a Lambda without EVENTS_HTTP_URL, the CLI's one-off runs)."""

    def publish(self, events: list[LiveEvent]) -> int:
        return 0


# ---------------------------------------------------------------- who may listen


@dataclass(frozen=True)
class Decision:
    allowed: bool
    user_id: int | None = None
    reason: str = ""


def authorize(operation: str, channel: str | None, token: str | None, verify: Callable[[str], int]) -> Decision:
    """The rule the events authorizer applies to each connection and subscription.

    ``verify`` turns an access token into its user id or raises. A connection needs a valid token;
    a subscription a valid token and a channel the user may see: any ``/prices/{symbol}`` channel,
    and ``/users/{id}`` only for their own id (no wildcards there). Publishing is never allowed
    through this mode (our functions publish with IAM)."""
    if not token:
        return Decision(False, reason="No access token.")
    raw = token[7:].strip() if token[:7].lower() == "bearer " else token.strip()
    try:
        user_id = verify(raw)
    except Exception:
        return Decision(False, reason="The access token is invalid or expired.")
    if operation == "EVENT_CONNECT":
        return Decision(True, user_id)
    if operation != "EVENT_SUBSCRIBE" or not channel:
        return Decision(False, user_id, "Only subscriptions are authorized with an access token.")
    parts = channel.split("/")
    if len(parts) != 3 or parts[0] != "" or not SEGMENT.fullmatch(parts[2]):
        return Decision(False, user_id, "Subscribe to /prices/{symbol} or /users/{your id}.")
    namespace, segment = parts[1], parts[2]
    if namespace == PRICES:
        return Decision(True, user_id)
    if namespace == USERS and segment == str(user_id):
        return Decision(True, user_id)
    return Decision(False, user_id, "Not your channel.")
