"""Data access for rate limits: one statement per check (the GCRA in ``rate_limit_take``)."""

from __future__ import annotations

from datetime import datetime

from tickerwatch.db import Connection


def take(
    conn: Connection, key: str, interval_seconds: float, burst_seconds: float, now: datetime | None = None
) -> float:
    """Count one request under ``key``; 0 when allowed, else the seconds until it would be."""
    row = conn.execute(
        "SELECT rate_limit_take(%s, %s, %s, %s) AS wait", (key, interval_seconds, burst_seconds, now)
    ).fetchone()
    return float(row["wait"])


def prune(conn: Connection) -> int:
    """Forget keys whose counters have fully drained (their next arrival time has passed)."""
    return conn.execute("DELETE FROM rate_limits WHERE tat < now()").rowcount
