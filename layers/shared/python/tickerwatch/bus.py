"""Domain events: "prices changed" from fetch_prices, "alerts changed" from the alerts function,
"forecasts changed" from forecast_alerts, to whoever reacts to them (the evaluator; forecast_alerts
for the first two).

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

SOURCE = "tickerwatch"
PRICES_CHANGED = "prices.changed"
ALERTS_CHANGED = "alerts.changed"
FORECASTS_CHANGED = "forecasts.changed"
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


def publish(detail_type: str, details: list[dict[str, Any]], bus_name: str | None, client=None) -> int:
    """Send events of one type (EventBridge takes ten a call); returns how many went out.

    Losing one is not fatal: the evaluator's five-minute schedule finds every change in the database.
    """
    if not details:
        return 0
    if bus_name:
        import boto3

        client = client or boto3.client("events")
        sent = 0
        for start in range(0, len(details), 10):
            entries = [
                {"Source": SOURCE, "DetailType": detail_type, "Detail": json.dumps(d), "EventBusName": bus_name}
                for d in details[start : start + 10]
            ]
            try:
                reply = client.put_events(Entries=entries)
            except Exception as exc:  # the caller's work is committed; the schedule catches up
                logger.warning("event not published", extra={"detail_type": detail_type, "error": str(exc)})
                continue
            if reply.get("FailedEntryCount"):
                logger.warning(
                    "event not published", extra={"detail_type": detail_type, "failed": reply["FailedEntryCount"]}
                )
            sent += len(entries) - reply.get("FailedEntryCount", 0)
        return sent
    with _lock:
        listeners = list(_subscribers.get(detail_type, []))
    for detail in details:
        for listener in listeners:
            listener(event(detail_type, detail))
    return len(details) if listeners else 0


def publish_prices_changed(symbols: list[str], bus_name: str | None, client=None) -> int:
    """Tell the listeners which symbols have a newer price."""
    chunks = [symbols[i : i + MAX_SYMBOLS_PER_EVENT] for i in range(0, len(symbols), MAX_SYMBOLS_PER_EVENT)]
    return publish(PRICES_CHANGED, [{"symbols": chunk} for chunk in chunks], bus_name, client)
