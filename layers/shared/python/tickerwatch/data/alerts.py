"""Data access for alerts and their triggers: create, read, update, delete, pause and resume, and the
triggered list. The evaluation run is ``data.evaluation``; the outbox is ``data.outbox``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

from tickerwatch.alert_kinds import CONDITION_FIELDS
from tickerwatch.data.sql import expand
from tickerwatch.db import Connection, paged

FIELDS = (
    "symbol",
    "alert_type",
    "condition",
    *CONDITION_FIELDS,
    "recurring",
    "cooldown_minutes",
    "expires_at",
    "webhook_id",
)


@dataclass(frozen=True, kw_only=True)
class WatchedFields:
    """What an alert watches beyond its kind and condition (alert_kinds.CONDITION_FIELDS), as alerts,
    their triggers and the outbox rows that tell of them carry it."""

    threshold_price: Decimal | None = None
    duration_minutes: int | None = None
    percent: Decimal | None = None
    window_minutes: int | None = None
    indicator: str | None = None
    period: int | None = None
    other_indicator: str | None = None
    other_period: int | None = None
    horizon: int | None = None


@dataclass(frozen=True, kw_only=True)
class AlertRow(WatchedFields):
    """An alert as its owner sees it (``_SELECT``)."""

    id: int
    symbol: str
    alert_type: str
    condition: str
    recurring: bool
    cooldown_minutes: int
    expires_at: datetime | None
    armed: bool
    trigger_count: int
    last_triggered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    webhook_id: int | None
    status: str  # active, paused, triggered, or expired (an active alert past its expiry)
    is_active: bool
    last_evaluated_at: datetime | None
    last_evaluated_price: Decimal | None
    last_evaluated_quote_at: datetime | None
    current_price: Decimal | None
    price_time: datetime | None
    quote_age_minutes: Decimal | None
    state: str  # why it has or has not fired (AlertOut.state)
    forecast_error: str | None


@dataclass(frozen=True, kw_only=True)
class TriggerRow(WatchedFields):
    """A fired alert's trigger with the state of its email and webhook deliveries."""

    id: int
    alert_id: int | None
    symbol: str
    alert_type: str
    condition: str
    observed_value: Decimal | None
    reference_value: Decimal | None
    price: Decimal
    quoted_at: datetime
    triggered_at: datetime
    notification_status: str | None
    notification_attempts: int | None
    notification_error: str | None
    notification_sent_at: datetime | None
    webhook: dict | None  # status, attempts, error, sent_at, url and each attempt, built in SQL


# An alert as its owner sees it: the definition, the effective status, and why it has or has not
# fired: the price and quote time it was last judged on (its own first judgement, or the latest
# move of its stock, whichever is later) and its state now.
_SELECT = expand("""
SELECT a.id, a.symbol, a.alert_type, a.condition, {condition_fields:a},
       a.recurring, a.cooldown_minutes, a.expires_at, a.armed, a.trigger_count,
       a.last_triggered_at, a.created_at, a.updated_at, a.webhook_id,
       CASE WHEN a.status = 'active' AND a.expires_at <= now() THEN 'expired' ELSE a.status END AS status,
       (a.status = 'active' AND (a.expires_at IS NULL OR a.expires_at > now())) AS is_active,
       CASE WHEN a.needs_judging AND a.status = 'active' THEN NULL
            WHEN a.status = 'active' AND c.judged_at > coalesce(a.judged_at, '-infinity') THEN c.judged_at
            ELSE a.judged_at END AS last_evaluated_at,
       CASE WHEN a.needs_judging AND a.status = 'active' THEN NULL
            WHEN a.status = 'active' AND c.judged_at > coalesce(a.judged_at, '-infinity') THEN c.price
            ELSE a.judged_price END AS last_evaluated_price,
       CASE WHEN a.needs_judging AND a.status = 'active' THEN NULL
            WHEN a.status = 'active' AND c.judged_at > coalesce(a.judged_at, '-infinity') THEN c.quoted_at
            ELSE a.judged_quote_at END AS last_evaluated_quote_at,
       s.current_price, s.price_time,
       round(s.age::numeric, 1) AS quote_age_minutes,
       CASE WHEN a.status <> 'active' THEN a.status
            WHEN a.expires_at <= now() THEN 'expired'
            WHEN s.price_time IS NULL THEN 'no_price'
            WHEN s.age > %(max_age)s THEN 'stale_price'
            WHEN a.alert_type = 'forecast' AND fo.steps_ready IS NOT TRUE THEN 'no_forecast'
            WHEN a.needs_judging THEN 'pending'
            WHEN NOT a.armed THEN 'cooling_down'
            ELSE 'waiting' END AS state,
       fo.error AS forecast_error
  FROM alerts a
  LEFT JOIN LATERAL (
        -- the quote's age once per symbol, not twice per alert (OFFSET 0 keeps the call here)
        SELECT st.current_price, st.price_time, market_minutes_between(st.price_time, now()) AS age
          FROM stocks st WHERE st.symbol = a.symbol OFFSET 0) s ON true
  LEFT JOIN evaluation_cursors c ON c.symbol = a.symbol
  LEFT JOIN LATERAL (
        -- a forecast alert's newest forecast: whether it is there, or why it could not be made
        SELECT f.steps IS NOT NULL AS steps_ready, f.error FROM forecasts f
         WHERE a.alert_type = 'forecast' AND f.symbol = a.symbol ORDER BY f.as_of DESC LIMIT 1) fo ON true""")


class DuplicateAlert(Exception):
    pass


def _guard_duplicates(fn):
    def wrapper(conn: Connection, *args, **kwargs):
        try:
            with conn.transaction():
                return fn(conn, *args, **kwargs)
        except psycopg.errors.UniqueViolation as exc:
            if exc.diag.constraint_name == "alerts_no_duplicate_active":
                raise DuplicateAlert from None
            raise

    return wrapper


def get_alert(conn: Connection, user_id: int, alert_id: int, max_age: int) -> AlertRow | None:
    return (
        conn.cursor(row_factory=class_row(AlertRow))
        .execute(
            _SELECT + " WHERE a.id = %(id)s AND a.user_id = %(user)s",
            {"id": alert_id, "user": user_id, "max_age": max_age},
        )
        .fetchone()
    )


@_guard_duplicates
def insert_alert(conn: Connection, user_id: int, fields: dict[str, Any], max_age: int) -> AlertRow:
    names = ["user_id", *FIELDS]
    alert_id = conn.execute(
        f"INSERT INTO alerts ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))}) RETURNING id",
        [user_id, *(fields.get(f) for f in FIELDS)],
    ).fetchone()["id"]
    return get_alert(conn, user_id, alert_id, max_age)


def list_alerts(
    conn: Connection,
    user_id: int,
    *,
    is_active: bool | None,
    symbol: str | None,
    alert_type: str | None,
    limit: int,
    offset: int,
    max_age: int,
) -> tuple[int, list[AlertRow]]:
    where = """a.user_id = %(user)s
        AND (%(symbol)s::text IS NULL OR a.symbol = %(symbol)s)
        AND (%(type)s::text IS NULL OR a.alert_type = %(type)s)
        AND (%(active)s::boolean IS NULL OR
             (a.status = 'active' AND (a.expires_at IS NULL OR a.expires_at > now())) = %(active)s)"""
    params = {
        "user": user_id,
        "symbol": symbol,
        "type": alert_type,
        "active": is_active,
        "limit": limit,
        "offset": offset,
        "max_age": max_age,
    }
    total, rows = paged(
        conn,
        _SELECT.replace("SELECT a.id,", "SELECT count(*) OVER () AS _total, a.id,", 1)
        + f" WHERE {where} ORDER BY a.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        params,
        f"SELECT count(*) AS n FROM alerts a WHERE {where}",
        offset,
    )
    return total, [AlertRow(**row) for row in rows]


@_guard_duplicates
def update_alert(
    conn: Connection, user_id: int, alert_id: int, fields: dict[str, Any], max_age: int
) -> AlertRow | None:
    """Replace the alert's definition; it is re-armed, since it is a new condition."""
    sets = ", ".join(f"{f} = %s" for f in FIELDS if f != "symbol")
    row = conn.execute(
        f"UPDATE alerts SET {sets}, armed = true, needs_judging = true, events_after = now(), updated_at = now()"
        " WHERE id = %s AND user_id = %s RETURNING id",
        [*(fields.get(f) for f in FIELDS if f != "symbol"), alert_id, user_id],
    ).fetchone()
    return get_alert(conn, user_id, alert_id, max_age) if row else None


@_guard_duplicates
def set_status(conn: Connection, user_id: int, alert_id: int, status: str, max_age: int) -> AlertRow | None:
    row = conn.execute(
        "UPDATE alerts SET status = %(status)s,"
        " armed = (CASE WHEN %(status)s = 'active' THEN true ELSE armed END),"
        " needs_judging = (%(status)s = 'active'),"
        " events_after = (CASE WHEN %(status)s = 'active' THEN now() ELSE events_after END),"
        " updated_at = now() WHERE id = %(id)s AND user_id = %(user)s RETURNING id",
        {"status": status, "id": alert_id, "user": user_id},
    ).fetchone()
    return get_alert(conn, user_id, alert_id, max_age) if row else None


def delete_alert(conn: Connection, user_id: int, alert_id: int) -> bool:
    return conn.execute("DELETE FROM alerts WHERE id = %s AND user_id = %s", (alert_id, user_id)).rowcount == 1


_LIST_TRIGGERS = expand(
    """SELECT t.id, t.alert_id, t.symbol, t.alert_type, t.condition, {condition_fields:t},
                  t.observed_value, t.reference_value, t.price, t.quoted_at, t.triggered_at,
                  n.status AS notification_status, n.attempts AS notification_attempts,
                  n.last_error AS notification_error, n.sent_at AS notification_sent_at,
                  CASE WHEN wn.id IS NOT NULL THEN jsonb_build_object(
                      'status', wn.status, 'attempts', wn.attempts, 'error', wn.last_error, 'sent_at', wn.sent_at,
                      'url', wn.recipient, 'deliveries', coalesce((
                          SELECT jsonb_agg(jsonb_build_object(
                                     'attempt', d.attempt, 'status_code', d.status_code, 'error', d.error,
                                     'response_excerpt', d.response_excerpt, 'duration_ms', d.duration_ms,
                                     'attempted_at', d.attempted_at) ORDER BY d.attempt)
                            FROM webhook_deliveries d WHERE d.notification_id = wn.id), '[]'::jsonb))
                  END AS webhook,
                  count(*) OVER () AS _total
             FROM alert_triggers t
             LEFT JOIN notifications n ON n.trigger_id = t.id AND n.channel = 'email'
             LEFT JOIN notifications wn ON wn.trigger_id = t.id AND wn.channel = 'webhook'
            WHERE t.user_id = %(user)s ORDER BY t.triggered_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s"""
)


def list_triggers(conn: Connection, user_id: int, limit: int, offset: int) -> tuple[int, list[TriggerRow]]:
    total, rows = paged(
        conn,
        _LIST_TRIGGERS,
        {"user": user_id, "limit": limit, "offset": offset},
        "SELECT count(*) AS n FROM alert_triggers WHERE user_id = %(user)s",
        offset,
    )
    return total, [TriggerRow(**row) for row in rows]
