"""The local server's emulation of AWS AppSync Events, over a real WebSocket and real HTTP: the
protocol, the authorizer's refusals, and publish -> data."""

from __future__ import annotations

import json

import httpx
import pytest
from live_client import PROTOCOL, LiveClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


@pytest.fixture
def alice(local_server, db):
    from apigw import HttpApi
    from conftest import Users

    users = Users(HttpApi(local_server.url))
    me = users.register("alice")
    users.register("bob")
    return {"id": me["id"], "token": users.tokens("alice")["access"]}


def publish(server, channel: str, *events: dict) -> httpx.Response:
    body = {"channel": channel, "events": [json.dumps(e) for e in events]}
    return httpx.post(server.url + "/event", json=body, timeout=5)


def test_connect_subscribe_receive_unsubscribe(local_server, alice):
    client = LiveClient(local_server.url, alice["token"])
    assert client.socket.subprotocol == PROTOCOL
    ack = client.init()
    assert ack == {"type": "connection_ack", "connectionTimeoutMs": 300000}
    reply = client.subscribe("/prices/GOOG")
    assert reply["type"] == "subscribe_success"
    sent = publish(local_server, "/prices/GOOG", {"symbol": "GOOG", "price": 101.5})
    assert sent.status_code == 200 and len(sent.json()["successful"]) == 1 and sent.json()["failed"] == []
    data = client.receive()
    assert data["type"] == "data" and data["id"] == reply["id"]
    assert json.loads(data["event"]) == {"symbol": "GOOG", "price": 101.5}  # the event as a JSON string
    publish(local_server, "/prices/TSLA", {"symbol": "TSLA"})  # a channel it did not subscribe to
    client.send({"type": "unsubscribe", "id": reply["id"]})
    assert client.receive() == {"type": "unsubscribe_success", "id": reply["id"]}
    publish(local_server, "/prices/GOOG", {"symbol": "GOOG", "price": 102})
    assert client.nothing_within(0.3)
    client.close()


def test_a_user_hears_their_own_channel_and_never_anothers(local_server, alice):
    client = LiveClient(local_server.url, alice["token"])
    client.init()
    own = client.subscribe(f"/users/{alice['id']}")
    assert own["type"] == "subscribe_success"
    for channel in (f"/users/{alice['id'] + 1}", "/users/*"):
        refused = client.subscribe(channel)
        assert refused["type"] == "subscribe_error"
        assert refused["errors"][0]["errorType"] == "UnauthorizedException"
    publish(local_server, f"/users/{alice['id'] + 1}", {"type": "order.filled", "order_id": 1})
    publish(local_server, f"/users/{alice['id']}", {"type": "portfolio.changed"})
    data = client.receive()
    assert json.loads(data["event"]) == {"type": "portfolio.changed"} and data["id"] == own["id"]
    assert client.nothing_within(0.3)  # not a byte of bob's
    client.close()


def test_a_subscription_without_a_valid_token_is_refused(local_server, alice):
    client = LiveClient(local_server.url, alice["token"])
    client.init()
    for token in ("not-a-token", alice["token"][:-4] + "AAAA"):
        refused = client.subscribe("/prices/GOOG", token=token)
        assert refused["type"] == "subscribe_error", token
    publish(local_server, "/prices/GOOG", {"symbol": "GOOG"})
    assert client.nothing_within(0.3)
    client.close()


def test_a_connection_without_a_valid_token_gets_an_error_and_is_closed(local_server, alice):
    for token in (None, "forged"):
        client = LiveClient(local_server.url, token)
        reply = client.init()
        assert reply["type"] == "connection_error" and reply["errors"][0]["errorType"] == "UnauthorizedException"
        client.close()


def test_the_subprotocol_is_required(local_server):
    with pytest.raises(InvalidStatus):
        connect(f"ws://{local_server.url.split('//')[1]}/event/realtime", open_timeout=5)


@pytest.mark.parametrize(
    "body",
    [
        {"channel": "prices/GOOG", "events": ["{}"]},
        {"channel": "/prices/BRK.B", "events": ["{}"]},
        {"channel": "/prices", "events": ["{}"]},
        {"channel": "/prices/GOOG", "events": []},
        {"channel": "/prices/GOOG", "events": ["{}"] * 6},
        {"channel": "/prices/GOOG", "events": ["not json"]},
        {"channel": "/prices/GOOG", "events": [{"a": 1}]},
    ],
    ids=["no-slash", "dot", "namespace-only", "none", "six", "not-json", "not-a-string"],
)
def test_a_bad_publish_is_400_and_delivers_nothing(local_server, body):
    reply = httpx.post(local_server.url + "/event", json=body, timeout=5)
    assert reply.status_code == 400 and reply.json()["errors"][0]["errorType"] == "BadRequestException"


def test_an_order_placed_over_http_reaches_its_owners_socket(local_server, alice, db):
    from datetime import UTC, datetime, timedelta

    from market import quote

    quote(db, "GOOG", 100.0, datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1))
    client = LiveClient(local_server.url, alice["token"])
    client.init()
    assert client.subscribe(f"/users/{alice['id']}")["type"] == "subscribe_success"
    reply = httpx.post(
        local_server.url + "/api/v1/orders/",
        json={"symbol": "GOOG", "side": "buy", "qty": "1", "type": "market"},
        headers={"Authorization": f"Bearer {alice['token']}"},
        timeout=10,
    )
    assert reply.status_code == 201 and reply.json()["status"] == "filled", reply.text
    events = [json.loads(client.receive()["event"]) for _ in range(2)]
    assert [e["type"] for e in events] == ["order.filled", "portfolio.changed"]
    assert events[0]["order_id"] == reply.json()["id"]
    client.close()
