"""The live channel's rules: channel names, event shapes, and who may listen (the authorizer)."""

from __future__ import annotations

import pytest

from tickerwatch import live
from tickerwatch.errors import AuthenticationFailed


def verify(token: str) -> int:
    users = {"alice-token": 7, "bob-token": 8}
    if token not in users:
        raise AuthenticationFailed("bad token")
    return users[token]


@pytest.mark.parametrize(
    ("operation", "channel", "token", "allowed"),
    [
        ("EVENT_CONNECT", None, "alice-token", True),
        ("EVENT_CONNECT", None, "Bearer alice-token", True),
        ("EVENT_CONNECT", None, "forged", False),
        ("EVENT_CONNECT", None, "", False),
        ("EVENT_CONNECT", None, None, False),
        ("EVENT_SUBSCRIBE", "/prices/GOOG", "alice-token", True),
        ("EVENT_SUBSCRIBE", "/prices/BRK-2EB", "bob-token", True),
        ("EVENT_SUBSCRIBE", "/prices/GOOG", "expired-token", False),
        ("EVENT_SUBSCRIBE", "/users/7", "alice-token", True),
        ("EVENT_SUBSCRIBE", "/users/7", "Bearer alice-token", True),
        ("EVENT_SUBSCRIBE", "/users/8", "alice-token", False),  # another user's channel
        ("EVENT_SUBSCRIBE", "/users/7", "bob-token", False),
        ("EVENT_SUBSCRIBE", "/users/*", "alice-token", False),  # a wildcard over every user
        ("EVENT_SUBSCRIBE", "/prices/*", "alice-token", False),
        ("EVENT_SUBSCRIBE", "/users/07", "alice-token", False),  # not the id as we write it
        ("EVENT_SUBSCRIBE", "/users/7/orders", "alice-token", False),
        ("EVENT_SUBSCRIBE", "/admin/7", "alice-token", False),
        ("EVENT_SUBSCRIBE", None, "alice-token", False),
        ("EVENT_PUBLISH", "/users/7", "alice-token", False),  # only our functions publish (IAM)
        ("EVENT_PUBLISH", "/prices/GOOG", "alice-token", False),
    ],
)
def test_who_may_connect_and_subscribe(operation, channel, token, allowed):
    decision = live.authorize(operation, channel, token, verify)
    assert decision.allowed is allowed, decision
    if not allowed:
        assert decision.reason


@pytest.mark.parametrize(
    ("symbol", "segment"),
    [("GOOG", "GOOG"), ("BRK.B", "BRK-2EB"), ("BRK-B", "BRK-2DB"), ("^GSPC", "-5EGSPC"), ("EURUSD=X", "EURUSD-3DX")],
)
def test_a_symbol_is_a_valid_channel_segment_and_two_symbols_never_share_one(symbol, segment):
    assert live.symbol_segment(symbol) == segment and live.SEGMENT.fullmatch(segment)
    assert live.price_channel(symbol) == f"/prices/{segment}"


def test_order_events_name_each_order_and_tell_each_owner_once():
    events = live.order_events(
        [
            {"order_id": 1, "user_id": 7, "symbol": "GOOG", "outcome": "filled"},
            {"order_id": 2, "user_id": 7, "symbol": "TSLA", "outcome": "canceled"},
            {"order_id": 3, "user_id": 8, "symbol": "GOOG", "outcome": "expired"},
            {"order_id": 4, "user_id": 9, "symbol": "GOOG", "outcome": "open"},  # nothing happened to it
        ]
    )
    assert [(e.channel, e.payload["type"], e.payload.get("order_id")) for e in events] == [
        ("/users/7", live.ORDER_FILLED, 1),
        ("/users/7", live.ORDER_CANCELED, 2),
        ("/users/8", live.ORDER_EXPIRED, 3),
        ("/users/7", live.PORTFOLIO_CHANGED, None),
        ("/users/8", live.PORTFOLIO_CHANGED, None),
    ]
