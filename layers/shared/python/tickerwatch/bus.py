"""Domain events between jobs: "prices changed" from fetch_prices to whoever reacts to prices.

In AWS they go to EventBridge (``EVENT_BUS_NAME``), whose rules invoke the subscribed functions,
so fetch_prices does not know who listens. Locally they go to the subscribers registered in this
process (``tickerwatch serve`` subscribes the evaluator), with the same event shape.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tickerwatch.observability import logger

SOURCE = "tickerwatch.prices"
PRICES_CHANGED = "prices.changed"
MAX_SYMBOLS_PER_EVENT = 5000  # ~60 KB of detail, well under EventBridge's 256 KB

Subscriber = Callable[[dict[str, Any]], None]
_subscribers: dict[str, list[Subscriber]] = {}
_lock = threading.Lock()


def subscribe(detail_type: str, subscriber: Subscriber) -> None:
    with _lock:
        _subscribers.setdefault(detail_type, []).append(subscriber)


def clear_subscribers() -> None:
    with _lock:
        _subscribers.clear()


def event(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """An event as an EventBridge rule delivers it to a Lambda function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": SOURCE,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": [],
        "detail": detail,
    }


def publish_prices_changed(symbols: list[str], bus_name: str | None, client=None) -> int:
    """Tell the listeners which symbols have a newer price; returns the number of events sent."""
    if not symbols:
        return 0
    chunks = [symbols[i : i + MAX_SYMBOLS_PER_EVENT] for i in range(0, len(symbols), MAX_SYMBOLS_PER_EVENT)]
    if bus_name:
        import boto3

        client = client or boto3.client("events")
        entries = [
            {
                "Source": SOURCE,
                "DetailType": PRICES_CHANGED,
                "Detail": json.dumps({"symbols": chunk}),
                "EventBusName": bus_name,
            }
            for chunk in chunks
        ]
        reply = client.put_events(Entries=entries)
        if reply.get("FailedEntryCount"):
            # Not fatal: the evaluator's five-minute schedule finds the changes in the database anyway.
            logger.warning("prices.changed not published", extra={"failed": reply["FailedEntryCount"]})
        return len(entries) - reply.get("FailedEntryCount", 0)
    with _lock:
        listeners = list(_subscribers.get(PRICES_CHANGED, []))
    for chunk in chunks:
        for listener in listeners:
            listener(event(PRICES_CHANGED, {"symbols": chunk}))
    return len(chunks) if listeners else 0
