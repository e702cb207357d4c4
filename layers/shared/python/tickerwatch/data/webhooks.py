"""Data access for webhooks and their delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from psycopg.rows import class_row

from tickerwatch.db import Connection


@dataclass(frozen=True)
class WebhookRow:
    id: int
    url: str
    created_at: datetime
    secret: str | None = None  # read only where a message is signed, and shown once, at creation


_COLUMNS = "id, url, created_at"


def insert_webhook(conn: Connection, user_id: int, url: str, secret: str) -> WebhookRow:
    return (
        conn.cursor(row_factory=class_row(WebhookRow))
        .execute(
            f"INSERT INTO webhooks (user_id, url, secret) VALUES (%s, %s, %s) RETURNING {_COLUMNS}, secret",
            (user_id, url, secret),
        )
        .fetchone()
    )


def count_webhooks(conn: Connection, user_id: int) -> int:
    return conn.execute("SELECT count(*) AS n FROM webhooks WHERE user_id = %s", (user_id,)).fetchone()["n"]


def list_webhooks(conn: Connection, user_id: int) -> list[WebhookRow]:
    rows = conn.cursor(row_factory=class_row(WebhookRow))
    return rows.execute(f"SELECT {_COLUMNS} FROM webhooks WHERE user_id = %s ORDER BY id", (user_id,)).fetchall()


def get_webhook(conn: Connection, user_id: int, webhook_id: int, *, with_secret: bool = False) -> WebhookRow | None:
    columns = _COLUMNS + (", secret" if with_secret else "")
    rows = conn.cursor(row_factory=class_row(WebhookRow))
    return rows.execute(
        f"SELECT {columns} FROM webhooks WHERE id = %s AND user_id = %s", (webhook_id, user_id)
    ).fetchone()


def delete_webhook(conn: Connection, user_id: int, webhook_id: int) -> bool:
    return conn.execute("DELETE FROM webhooks WHERE id = %s AND user_id = %s", (webhook_id, user_id)).rowcount == 1


def record_delivery(
    conn: Connection,
    notification_id: int,
    attempt: int,
    status_code: int | None,
    error: str | None,
    excerpt: str | None,
    duration_ms: int,
) -> None:
    conn.execute(
        "INSERT INTO webhook_deliveries (notification_id, attempt, status_code, error, response_excerpt, duration_ms)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (notification_id, attempt) DO NOTHING",
        (notification_id, attempt, status_code, error and error[:2000], excerpt, duration_ms),
    )


def owns_webhook(conn: Connection, user_id: int, webhook_id: int) -> bool:
    return (
        conn.execute("SELECT 1 FROM webhooks WHERE id = %s AND user_id = %s", (webhook_id, user_id)).fetchone()
        is not None
    )
