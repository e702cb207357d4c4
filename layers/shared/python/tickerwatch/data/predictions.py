"""Data access for cached forecast results and users' prediction history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from tickerwatch.db import Connection


@dataclass(frozen=True)
class CachedResult:
    id: int
    result: dict[str, Any]
    plots: dict[str, str] | None


@dataclass(frozen=True)
class HistoryEntry:
    id: int
    requested_at: datetime
    result: dict[str, Any]
    plots: dict[str, str] | None


def find_result(conn: Connection, symbol: str, last_bar: date, model_version: str, horizon: int) -> CachedResult | None:
    row = conn.execute(
        "SELECT id, result, plots FROM prediction_results"
        " WHERE symbol = %s AND last_bar_date = %s AND model_version = %s AND horizon = %s",
        (symbol, last_bar, model_version, horizon),
    ).fetchone()
    return CachedResult(row["id"], row["result"], row["plots"]) if row else None


def store_result(
    conn: Connection,
    symbol: str,
    last_bar: date,
    model_version: str,
    horizon: int,
    result: dict[str, Any],
    plots: dict[str, str] | None,
) -> CachedResult:
    """Insert, or when a concurrent request stored it first, keep theirs (adding plots if missing)."""
    row = conn.execute(
        "INSERT INTO prediction_results (symbol, last_bar_date, model_version, horizon, result, plots)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (symbol, last_bar_date, model_version, horizon)"
        " DO UPDATE SET plots = COALESCE(prediction_results.plots, EXCLUDED.plots)"
        " RETURNING id, result, plots",
        (symbol, last_bar, model_version, horizon, Jsonb(result), Jsonb(plots) if plots else None),
    ).fetchone()
    return CachedResult(row["id"], row["result"], row["plots"])


def add_plots(conn: Connection, result_id: int, plots: dict[str, str]) -> None:
    conn.execute("UPDATE prediction_results SET plots = %s WHERE id = %s AND plots IS NULL", (Jsonb(plots), result_id))


def record_request(conn: Connection, user_id: int, result_id: int) -> tuple[int, datetime]:
    row = conn.execute(
        "INSERT INTO predictions (user_id, result_id) VALUES (%s, %s) RETURNING id, requested_at",
        (user_id, result_id),
    ).fetchone()
    return row["id"], row["requested_at"]


def history_page(conn: Connection, user_id: int, limit: int, offset: int) -> tuple[int, list[HistoryEntry]]:
    total = conn.execute("SELECT count(*) AS n FROM predictions WHERE user_id = %s", (user_id,)).fetchone()["n"]
    rows = conn.execute(
        "SELECT p.id, p.requested_at, r.result, NULL::jsonb AS plots FROM predictions p"
        " JOIN prediction_results r ON r.id = p.result_id WHERE p.user_id = %s"
        " ORDER BY p.requested_at DESC, p.id DESC LIMIT %s OFFSET %s",
        (user_id, limit, offset),
    ).fetchall()
    return total, [HistoryEntry(r["id"], r["requested_at"], r["result"], None) for r in rows]


def history_entry(conn: Connection, user_id: int, prediction_id: int) -> HistoryEntry | None:
    row = conn.execute(
        "SELECT p.id, p.requested_at, r.result, r.plots FROM predictions p"
        " JOIN prediction_results r ON r.id = p.result_id WHERE p.user_id = %s AND p.id = %s",
        (user_id, prediction_id),
    ).fetchone()
    return HistoryEntry(row["id"], row["requested_at"], row["result"], row["plots"]) if row else None
