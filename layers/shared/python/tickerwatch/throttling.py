"""Rate limits: N requests a minute per key, enforced in Postgres so every Lambda instance shares them.

A limit of N a minute allows a burst of N and then one request every 60/N seconds (GCRA). A limit
of 0 turns the check off.
"""

from __future__ import annotations

from tickerwatch.data import ratelimits
from tickerwatch.db import Database
from tickerwatch.errors import RateLimited
from tickerwatch.observability import METRIC_THROTTLED, logger, metrics


def take(db: Database, scope: str, key: str, per_minute: int) -> None:
    """Count one request of ``scope`` by ``key`` (an address, a user id, a username); raise when over."""
    if per_minute <= 0:
        return
    interval = 60.0 / per_minute
    wait = db.one(lambda conn: ratelimits.take(conn, f"{scope}:{key}", interval, 60.0 - interval))
    if wait > 0:
        metrics.add_metric(name=METRIC_THROTTLED, unit="Count", value=1)
        logger.info("throttled", extra={"scope": scope, "retry_after": round(wait, 1)})
        raise RateLimited(wait)


def prune(db: Database) -> int:
    return db.one(ratelimits.prune)
