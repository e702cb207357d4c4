"""Data access for the forecasts forecast alerts are judged on: one per symbol and daily bar."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from tickerwatch.db import Connection


@dataclass(frozen=True)
class ForecastDue:
    symbol: str
    as_of: date  # the symbol's newest daily bar
    horizon: int  # the longest horizon its active forecast alerts ask for


def due(conn: Connection) -> list[ForecastDue]:
    """Symbols with active forecast alerts whose newest bar has no forecast reaching their longest
    horizon (an attempt that failed on this bar counts as done until the next bar)."""
    rows = conn.execute(
        """WITH wanted AS (
               SELECT symbol, max(coalesce(horizon, 1)) AS horizon FROM alerts
                WHERE alert_type = 'forecast' AND status = 'active' GROUP BY symbol)
           SELECT w.symbol, b.as_of, w.horizon
             FROM wanted w
             CROSS JOIN LATERAL (SELECT max(day) AS as_of FROM price_bars WHERE symbol = w.symbol) b
            WHERE b.as_of IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM forecasts f
                               WHERE f.symbol = w.symbol AND f.as_of = b.as_of
                                 AND (f.horizon >= w.horizon OR f.error IS NOT NULL))
            ORDER BY w.symbol"""
    ).fetchall()
    return [ForecastDue(r["symbol"], r["as_of"], r["horizon"]) for r in rows]


def store(conn: Connection, due: ForecastDue, steps: list[dict[str, Any]] | None, error: str | None) -> None:
    """Keep the forecast (or why there is none) and have the symbol's forecast alerts judged on it."""
    conn.execute(
        """INSERT INTO forecasts (symbol, as_of, horizon, steps, error) VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (symbol, as_of) DO UPDATE
              SET horizon = EXCLUDED.horizon, steps = EXCLUDED.steps, error = EXCLUDED.error, computed_at = now()""",
        (due.symbol, due.as_of, due.horizon, json.dumps(steps) if steps is not None else None, error),
    )
    # Older forecasts judge nothing: outside_band needs the previous bar's, the rest the newest.
    conn.execute(
        "DELETE FROM forecasts WHERE symbol = %(symbol)s AND as_of < (SELECT max(day) FROM price_bars"
        " WHERE symbol = %(symbol)s AND day < %(as_of)s)",
        {"symbol": due.symbol, "as_of": due.as_of},
    )
    if steps is not None:
        conn.execute(
            "UPDATE alerts SET needs_judging = true"
            " WHERE symbol = %s AND alert_type = 'forecast' AND status = 'active' AND armed AND NOT needs_judging",
            (due.symbol,),
        )
