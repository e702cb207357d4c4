"""The notification outbox, shared by alert triggers and paper-trading fills: claimed in batches
under a lease, handed over just before the provider call, then marked sent, failed or skipped."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from psycopg.rows import class_row

from tickerwatch.data.alerts import WatchedFields
from tickerwatch.data.sql import expand
from tickerwatch.db import Connection


@dataclass(frozen=True, kw_only=True)
class NotificationRow(WatchedFields):
    """A claimed notification with what it tells: an alert trigger, or a paper-trading fill
    (``fill_id`` set). The other side's fields are None; defaults let a test name only its own."""

    id: int = 0
    user_id: int | None = None
    channel: str = "email"
    recipient: str | None = None
    attempts: int = 1
    webhook_id: int | None = None
    trigger_id: int | None = None
    fill_id: int | None = None
    alert_id: int | None = None
    sequence: int | None = None
    symbol: str | None = None
    alert_type: str | None = None
    condition: str | None = None
    observed_value: Decimal | None = None
    reference_value: Decimal | None = None
    price: Decimal | None = None
    quoted_at: datetime | None = None
    triggered_at: datetime | None = None
    order_id: int | None = None
    side: str | None = None
    qty: Decimal | None = None
    notional: Decimal | None = None
    realized_pl: Decimal | None = None
    filled_at: datetime | None = None
    order_type: str | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    client_order_id: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None


_CLAIM = expand(
    """WITH claimed AS (
               UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1, lease_until = %(lease)s,
                                          handed_over_at = NULL
                WHERE n.id IN (
                  SELECT id FROM notifications
                   WHERE (status = 'pending' AND next_attempt_at <= %(now)s)
                      OR (status = 'sending' AND (lease_until < %(now)s OR handed_over_at IS NULL))
                   ORDER BY next_attempt_at, id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
            RETURNING n.id, n.user_id, n.channel, n.recipient, n.attempts, n.webhook_id, n.trigger_id, n.fill_id)
        SELECT c.id, c.user_id, c.channel, c.recipient, c.attempts, c.webhook_id, c.trigger_id, c.fill_id, t.alert_id,
               t.sequence, coalesce(t.symbol, f.symbol) AS symbol, t.alert_type, t.condition, {condition_fields:t},
               t.observed_value, t.reference_value, coalesce(t.price, f.price) AS price,
               coalesce(t.quoted_at, f.quoted_at) AS quoted_at, t.triggered_at,
               f.order_id, f.side, f.qty, f.notional, f.realized_pl, f.filled_at, o.order_type, o.limit_price,
               o.stop_price, o.client_order_id, w.url AS webhook_url, w.secret AS webhook_secret
          FROM claimed c
          LEFT JOIN alert_triggers t ON t.id = c.trigger_id
          LEFT JOIN paper_fills f ON f.id = c.fill_id
          LEFT JOIN paper_orders o ON o.id = f.order_id
          LEFT JOIN webhooks w ON w.id = c.webhook_id"""
)


def claim_notifications(conn: Connection, now: datetime, batch: int, lease: timedelta) -> list[NotificationRow]:
    """Take due notifications for sending; SKIP LOCKED and the status change keep runs apart.
    A lease that ran out (a run that died mid-send) makes a notification due again; one claimed but
    never handed to a provider is due at once (the caller holds the dispatcher's lock, so the run
    that claimed it is gone, and ``hand_over`` fences it off should it still be sending). Each row
    carries what it tells: an alert trigger, or a paper-trading fill (``fill_id`` set)."""
    return (
        conn.cursor(row_factory=class_row(NotificationRow))
        .execute(
            _CLAIM,
            {"now": now, "lease": now + lease, "batch": batch},
        )
        .fetchall()
    )


def hand_over(conn: Connection, notification_id: int, attempt: int) -> bool:
    """Record that this claim's attempt is going to the provider now; False when the notification was
    claimed again since (a dispatcher that lost its lock must not send what another has taken)."""
    return (
        conn.execute(
            "UPDATE notifications SET handed_over_at = statement_timestamp()"
            " WHERE id = %s AND status = 'sending' AND attempts = %s AND handed_over_at IS NULL",
            (notification_id, attempt),
        ).rowcount
        == 1
    )


def mark_sent(conn: Connection, notification_id: int, message_id: str | None) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'sent', sent_at = now(), provider_message_id = %s, last_error = NULL,"
        " lease_until = NULL WHERE id = %s AND status = 'sending'",
        (message_id, notification_id),
    )


def mark_failed(conn: Connection, notification_id: int, error: str, retry_at: datetime | None) -> None:
    conn.execute(
        "UPDATE notifications SET status = %s, last_error = %s, next_attempt_at = coalesce(%s, next_attempt_at),"
        " lease_until = NULL WHERE id = %s AND status = 'sending'",
        ("pending" if retry_at else "failed", error[:2000], retry_at, notification_id),
    )


def mark_skipped(conn: Connection, notification_id: int, reason: str) -> None:
    conn.execute(
        "UPDATE notifications SET status = 'skipped', last_error = %s, lease_until = NULL"
        " WHERE id = %s AND status = 'sending'",
        (reason, notification_id),
    )


def oldest_pending_notification_age(conn: Connection) -> float:
    """Seconds the oldest notification not yet sent (or given up on) has waited, by the database's
    clock (which stamped it); 0 when none waits."""
    row = conn.execute(
        "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age FROM notifications"
        " WHERE status IN ('pending', 'sending')"
    ).fetchone()
    return max(float(row["age"]), 0.0)
