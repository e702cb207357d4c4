"""The evaluation run: set-based judging of alerts, claiming their triggers and outbox rows.

A run judges only what can have changed: alerts on symbols whose latest quote moved since the symbol
was last judged (``evaluation_cursors``), found by index ranges on the armed alerts' thresholds (an
alert whose threshold the new price did not reach is never read), plus alerts defined, changed or
resumed since the last run (``needs_judging``). Every candidate is then judged by one rule set
(``judge.sql``), the same for all paths; the ranges only choose candidates and must find every alert
that can fire. Time alone changes only expiry (checked on read and when judging) and re-arming after
a cooldown (``rearm.sql``).

The statements are in the .sql files beside this module, each loaded once by ``data.sql`` (a line
``-- include: name.sql`` stands for that file: the rule set and the change set are shared).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from tickerwatch.data import sql
from tickerwatch.db import Connection

_HERE = Path(__file__).resolve().parent


def _statement(name: str) -> str:
    return sql.load(_HERE, name)


# The change set alone (bench/evaluate_alerts.py explains its plan).
CHANGED = _statement("changed.sql")
FIND_CANDIDATES = _statement("find_candidates.sql")
CLAIM_TRIGGERS = _statement("claim_triggers.sql")
REARM_CANDIDATES = _statement("rearm_candidates.sql")
REARM = _statement("rearm.sql")

# Serialises evaluator runs: overlapping runs wait instead of deadlocking on the same alert rows.
# Exactly-once does not depend on it: the claim only updates armed alerts, Postgres re-checks that
# on the locked row, and (alert_id, sequence) is unique.
EVALUATION_LOCK_KEY = 7_320_114_502


def claim_triggers(conn: Connection, now: datetime | None, max_age_minutes: int) -> dict[str, Any]:
    """One run's judging, at ``now`` or (None) the moment it holds the lock: a clock read before
    waiting for an overlapping run would be older than what that run let commit meanwhile (an order,
    a reset, an alert), and fills and triggers would be stamped before them."""
    # The run's statements are prepared (parsed once) but planned for each run's parameters: after a few
    # runs Postgres would otherwise settle on a generic plan, costed blind to how many prices moved.
    conn.execute(
        "SELECT pg_advisory_xact_lock(%s), set_config('plan_cache_mode', 'force_custom_plan', true)",
        (EVALUATION_LOCK_KEY,),
    )
    if now is None:  # now() is the transaction's start, before the wait; this statement starts after it
        now = conn.execute("SELECT statement_timestamp() AS now").fetchone()["now"]
    params: dict[str, Any] = {"now": now, "max_age": max_age_minutes}
    found = conn.execute(FIND_CANDIDATES, params).fetchone()
    params |= {k: found[k] for k in ("ids", "symbols", "quoted", "prices")}
    if found["ids"] or found["symbols"]:
        row = conn.execute(CLAIM_TRIGGERS, params).fetchone()
    else:  # nothing moved and nothing new: planning the claim would be most of a quiet run
        row = {"evaluated": 0, "triggered": 0, "notifications": 0, "newly_judged": 0, "fired": []}
    row |= {
        "symbols_changed": found["symbols_changed"],
        "skipped_stale": found["skipped_stale"],
        # the fresh quotes that moved, on which resting orders are matched
        "changed": tuple(
            [value for value, fresh in zip(found[k], found["fresh"], strict=True) if fresh]
            for k in ("symbols", "quoted", "prices", "since")
        ),
        "now": now,
    }
    params["ids"] = conn.execute(REARM_CANDIDATES, params).fetchone()["ids"]
    row["rearmed"] = conn.execute(REARM, params).rowcount if params["ids"] else 0
    return row
