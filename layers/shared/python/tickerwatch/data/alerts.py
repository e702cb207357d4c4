"""Data access for alerts, their triggers and the notification outbox, including the set-based
evaluation that claims triggers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from tickerwatch.db import Connection, paged

# What an alert watches beyond its type and condition; each type takes some of them.
CONDITION_FIELDS = (
    "threshold_price",
    "duration_minutes",
    "percent",
    "window_minutes",
    "indicator",
    "period",
    "other_indicator",
    "other_period",
    "horizon",
)
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

# An alert as its owner sees it: the definition, the effective status, and why it has or has not
# fired: the price and quote time it was last judged on (its own first judgement, or the latest
# move of its stock, whichever is later) and its state now.
_SELECT = """
SELECT a.id, a.symbol, a.alert_type, a.condition, a.threshold_price, a.duration_minutes, a.percent,
       a.window_minutes, a.indicator, a.period, a.other_indicator, a.other_period, a.horizon,
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
         WHERE a.alert_type = 'forecast' AND f.symbol = a.symbol ORDER BY f.as_of DESC LIMIT 1) fo ON true"""


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


def get_alert(conn: Connection, user_id: int, alert_id: int, max_age: int) -> dict | None:
    return conn.execute(
        _SELECT + " WHERE a.id = %(id)s AND a.user_id = %(user)s", {"id": alert_id, "user": user_id, "max_age": max_age}
    ).fetchone()


@_guard_duplicates
def insert_alert(conn: Connection, user_id: int, fields: dict[str, Any], max_age: int) -> dict:
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
) -> tuple[int, list[dict]]:
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
    return paged(
        conn,
        _SELECT.replace("SELECT a.id,", "SELECT count(*) OVER () AS _total, a.id,", 1)
        + f" WHERE {where} ORDER BY a.id DESC LIMIT %(limit)s OFFSET %(offset)s",
        params,
        f"SELECT count(*) AS n FROM alerts a WHERE {where}",
        offset,
    )


@_guard_duplicates
def update_alert(conn: Connection, user_id: int, alert_id: int, fields: dict[str, Any], max_age: int) -> dict | None:
    """Replace the alert's definition; it is re-armed, since it is a new condition."""
    sets = ", ".join(f"{f} = %s" for f in FIELDS if f != "symbol")
    row = conn.execute(
        f"UPDATE alerts SET {sets}, armed = true, needs_judging = true, events_after = now(), updated_at = now()"
        " WHERE id = %s AND user_id = %s RETURNING id",
        [*(fields.get(f) for f in FIELDS if f != "symbol"), alert_id, user_id],
    ).fetchone()
    return get_alert(conn, user_id, alert_id, max_age) if row else None


@_guard_duplicates
def set_status(conn: Connection, user_id: int, alert_id: int, status: str, max_age: int) -> dict | None:
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


def list_triggers(conn: Connection, user_id: int, limit: int, offset: int) -> tuple[int, list[dict]]:
    return paged(
        conn,
        """SELECT t.id, t.alert_id, t.symbol, t.alert_type, t.condition, t.threshold_price, t.duration_minutes,
                  t.percent, t.window_minutes, t.indicator, t.period, t.other_indicator, t.other_period, t.horizon,
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
            WHERE t.user_id = %(user)s ORDER BY t.triggered_at DESC, t.id DESC LIMIT %(limit)s OFFSET %(offset)s""",
        {"user": user_id, "limit": limit, "offset": offset},
        "SELECT count(*) AS n FROM alert_triggers WHERE user_id = %(user)s",
        offset,
    )


def owns_webhook(conn: Connection, user_id: int, webhook_id: int) -> bool:
    return (
        conn.execute("SELECT 1 FROM webhooks WHERE id = %s AND user_id = %s", (webhook_id, user_id)).fetchone()
        is not None
    )


def warm_moving_averages(conn: Connection, symbols: list[str]) -> int:
    """Compute the averages the symbols' indicator alerts will be judged on, through their newest bar,
    when the bars land rather than in the first evaluation of the next session."""
    return conn.execute(
        """INSERT INTO moving_averages (symbol, kind, period, through_day, value)
           SELECT n.symbol, n.kind, n.period, b.through, moving_average(n.symbol, n.kind, n.period, b.through)
             FROM (SELECT DISTINCT a.symbol, v.kind, v.period
                     FROM alerts a
                     CROSS JOIN LATERAL (VALUES (a.indicator, a.period), (a.other_indicator, a.other_period))
                          AS v(kind, period)
                    WHERE a.symbol = ANY(%s) AND a.alert_type = 'indicator' AND a.status = 'active'
                      AND v.kind IS NOT NULL) n
             CROSS JOIN LATERAL (SELECT max(day) AS through FROM price_bars WHERE symbol = n.symbol) b
            WHERE b.through IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM moving_averages m
                               WHERE m.symbol = n.symbol AND m.kind = n.kind AND m.period = n.period
                                 AND m.through_day = b.through)
           ON CONFLICT DO NOTHING""",
        (list(symbols),),
    ).rowcount


def daily_close_count(conn: Connection, symbol: str) -> int:
    return conn.execute("SELECT count(*) AS n FROM price_bars WHERE symbol = %s", (symbol,)).fetchone()["n"]


def current_price(conn: Connection, symbol: str) -> tuple[bool, float | None]:
    row = conn.execute("SELECT current_price FROM stocks WHERE symbol = %s", (symbol,)).fetchone()
    if row is None:
        return False, None
    return True, float(row["current_price"]) if row["current_price"] is not None else None


# ---------------------------------------------------------------- evaluation
#
# A run judges only what can have changed: alerts on symbols whose latest quote moved since the
# symbol was last judged (``evaluation_cursors``), found by index ranges on the armed alerts'
# thresholds (an alert whose threshold the new price did not reach is never read), plus alerts
# defined, changed or resumed since the last run (``needs_judging``). Every candidate is then
# judged by one rule set (``_JUDGE``), the same for all paths; the ranges only choose candidates
# and must find every alert that can fire. Time alone changes only expiry (checked on read and
# when judging) and re-arming after a cooldown (``REARM``).

# The symbols whose latest quote moved since they were last judged, with the quote before it
# (crossings). Freshness is computed once per distinct quote time: a fetch stamps its batch alike.
_CHANGED = """
changed_all AS (
    SELECT s.symbol, s.current_price AS price, s.price_time AS quoted_at, c.quoted_at AS since
      FROM stocks s LEFT JOIN evaluation_cursors c ON c.symbol = s.symbol
     WHERE s.price_time IS NOT NULL
       AND (c.symbol IS NULL OR c.quoted_at IS DISTINCT FROM s.price_time OR c.price IS DISTINCT FROM s.current_price)
),
freshness AS (
    SELECT t.quoted_at, market_minutes_between(t.quoted_at, %(now)s) <= %(max_age)s AS fresh
      FROM (SELECT DISTINCT quoted_at FROM changed_all) t
),
changed AS (
    SELECT ch.symbol, ch.price, ch.quoted_at, p.prev_price, p.prev_quoted_at,
           (ch.quoted_at AT TIME ZONE 'America/New_York')::date AS day,
           (p.prev_quoted_at AT TIME ZONE 'America/New_York')::date AS prev_day
      FROM changed_all ch
      JOIN freshness f ON f.quoted_at = ch.quoted_at AND f.fresh
      LEFT JOIN LATERAL (
            SELECT q.price AS prev_price, q.quoted_at AS prev_quoted_at FROM quotes q
             WHERE q.symbol = ch.symbol AND q.quoted_at < ch.quoted_at
             ORDER BY q.quoted_at DESC LIMIT 1) p ON true
),
windows AS (
    -- each (symbol, condition, window) of armed percent-change alerts, with the move since the quote
    -- in force at the window's start
    SELECT c.symbol, w.condition, w.window_minutes,
           (c.price - anchor.price) / anchor.price * 100 AS rise,
           (anchor.price - c.price) / anchor.price * 100 AS fall
      FROM changed c
      CROSS JOIN LATERAL (
            SELECT DISTINCT a.condition, a.window_minutes FROM alerts a
             WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'percent_change') w
      JOIN LATERAL (
            SELECT q.price FROM quotes q
             WHERE q.symbol = c.symbol AND q.quoted_at <= c.quoted_at - make_interval(mins => w.window_minutes)
             ORDER BY q.quoted_at DESC LIMIT 1) anchor ON true
),
indicator_symbols AS (
    -- changed symbols with armed indicator alerts, with the last daily bar before the latest quote's
    -- day and before the previous quote's: the averages in force at each
    SELECT c.symbol, c.price, c.prev_price, t.through, pt.prev_through
      FROM changed c
      CROSS JOIN LATERAL (SELECT max(b.day) AS through FROM price_bars b
                           WHERE b.symbol = c.symbol AND b.day < c.day) t
      CROSS JOIN LATERAL (SELECT max(b.day) AS prev_through FROM price_bars b
                           WHERE b.symbol = c.symbol AND b.day < c.prev_day) pt
     WHERE EXISTS (SELECT 1 FROM alerts a
                    WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'indicator')
),
indicator_definitions AS (
    -- each indicator definition among those symbols' armed alerts: one verdict for all its alerts
    SELECT s.*, d.*
      FROM indicator_symbols s
      CROSS JOIN LATERAL (
            SELECT DISTINCT a.indicator, a.period, a.other_indicator, a.other_period, a.condition FROM alerts a
             WHERE a.symbol = s.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'indicator') d
),
needed_averages AS (
    SELECT DISTINCT d.symbol, v.kind, v.period, v.through
      FROM indicator_definitions d
      CROSS JOIN LATERAL (VALUES (d.indicator, d.period, d.through), (d.other_indicator, d.other_period, d.through),
                                 (d.indicator, d.period, d.prev_through),
                                 (d.other_indicator, d.other_period, d.prev_through))
           AS v(kind, period, through)
     WHERE v.kind IS NOT NULL AND v.through IS NOT NULL
       AND (v.through = d.through OR d.condition IN ('crosses_above', 'crosses_below'))
),
averages AS (
    -- each average once per symbol and last bar: from the cache (warmed when the bars landed), or
    -- computed (and cached below)
    SELECT n.symbol, n.kind, n.period, n.through, m.symbol IS NOT NULL AS cached,
           CASE WHEN m.symbol IS NOT NULL THEN m.value
                ELSE moving_average(n.symbol, n.kind, n.period, n.through) END AS value
      FROM needed_averages n
      LEFT JOIN moving_averages m
        ON m.symbol = n.symbol AND m.kind = n.kind AND m.period = n.period AND m.through_day = n.through
),
cache_averages AS (
    INSERT INTO moving_averages (symbol, kind, period, through_day, value)
    SELECT symbol, kind, period, through, value FROM averages WHERE NOT cached
    ON CONFLICT DO NOTHING
 RETURNING 1
),
indicator_verdicts AS (
    -- the subject (the price, or the first average when two are compared) against the reference
    SELECT d.*,
           CASE d.condition
             WHEN 'above' THEN s.now >= r.now
             WHEN 'below' THEN s.now <= r.now
             WHEN 'crosses_above' THEN s.prev < r.prev AND s.now >= r.now
             WHEN 'crosses_below' THEN s.prev > r.prev AND s.now <= r.now
           END AS holds
      FROM indicator_definitions d
      LEFT JOIN averages a1
        ON (a1.symbol, a1.kind, a1.period, a1.through) = (d.symbol, d.indicator, d.period, d.through)
      LEFT JOIN averages a1p
        ON (a1p.symbol, a1p.kind, a1p.period, a1p.through) = (d.symbol, d.indicator, d.period, d.prev_through)
      LEFT JOIN averages a2
        ON (a2.symbol, a2.kind, a2.period, a2.through) = (d.symbol, d.other_indicator, d.other_period, d.through)
      LEFT JOIN averages a2p
        ON (a2p.symbol, a2p.kind, a2p.period, a2p.through)
         = (d.symbol, d.other_indicator, d.other_period, d.prev_through)
      CROSS JOIN LATERAL (SELECT
            CASE WHEN d.other_indicator IS NULL THEN d.price::float8 ELSE a1.value END AS now,
            CASE WHEN d.other_indicator IS NULL THEN d.prev_price::float8 ELSE a1p.value END AS prev) s
      CROSS JOIN LATERAL (SELECT
            CASE WHEN d.other_indicator IS NULL THEN a1.value ELSE a2.value END AS now,
            CASE WHEN d.other_indicator IS NULL THEN a1p.value ELSE a2p.value END AS prev) r
),
band_breaks AS (
    -- changed symbols whose price left the 95 percent band forecast from the previous daily bar
    SELECT c.symbol
      FROM changed c
      JOIN LATERAL (
            SELECT f.steps FROM forecasts f
             WHERE f.symbol = c.symbol AND f.steps IS NOT NULL
               AND f.as_of = (SELECT max(b.day) FROM price_bars b WHERE b.symbol = c.symbol AND b.day < c.day)
             LIMIT 1) f
        ON true
     WHERE c.price < (f.steps->0->>'low_95')::numeric OR c.price > (f.steps->0->>'high_95')::numeric
),
found AS (
    -- Per changed symbol, index ranges of its armed alerts (OFFSET 0 keeps each a per-symbol index
    -- range: flattened into one join, the planner would rather read every alert).
    SELECT f.id FROM changed c CROSS JOIN LATERAL (
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'threshold'
           AND a.condition = 'above' AND a.threshold_price <= c.price
        UNION ALL
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'threshold'
           AND a.condition = 'below' AND a.threshold_price >= c.price
        UNION ALL
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'threshold'
           AND a.condition = 'crosses_above' AND a.threshold_price > c.prev_price AND a.threshold_price <= c.price
        UNION ALL
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'threshold'
           AND a.condition = 'crosses_below' AND a.threshold_price < c.prev_price AND a.threshold_price >= c.price
        UNION ALL
        -- a duration can only hold if the latest quote satisfies it
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'duration'
           AND a.condition = 'above' AND a.threshold_price <= c.price
        UNION ALL
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'duration'
           AND a.condition = 'below' AND a.threshold_price >= c.price
        OFFSET 0) f
    UNION ALL
    SELECT f.id FROM windows w CROSS JOIN LATERAL (
        SELECT a.id FROM alerts a
         WHERE a.symbol = w.symbol AND a.condition = w.condition AND a.window_minutes = w.window_minutes
           AND a.armed AND a.status = 'active' AND a.alert_type = 'percent_change'
           AND a.percent <= CASE w.condition WHEN 'up' THEN w.rise ELSE w.fall END
        OFFSET 0) f
    UNION ALL
    SELECT f.id FROM indicator_verdicts v CROSS JOIN LATERAL (
        SELECT a.id FROM alerts a
         WHERE a.symbol = v.symbol AND a.indicator = v.indicator AND a.period = v.period
           AND coalesce(a.other_indicator, '') = coalesce(v.other_indicator, '')
           AND coalesce(a.other_period, 0) = coalesce(v.other_period, 0) AND a.condition = v.condition
           AND a.armed AND a.status = 'active' AND a.alert_type = 'indicator'
        OFFSET 0) f
     WHERE v.holds
    UNION ALL
    SELECT f.id FROM band_breaks b CROSS JOIN LATERAL (
        SELECT a.id FROM alerts a
         WHERE a.symbol = b.symbol AND a.condition = 'outside_band'
           AND a.armed AND a.status = 'active' AND a.alert_type = 'forecast'
        OFFSET 0) f
),
to_judge AS (
    SELECT id FROM found
    UNION
    SELECT id FROM alerts WHERE needs_judging AND status = 'active'
)"""

# Step one of a run: what to judge, and the changes it judges (handed to step two, whose plan then
# knows how few alerts it touches and reads them by primary key).
FIND_CANDIDATES = (
    "WITH"
    + _CHANGED
    + """
SELECT (SELECT coalesce(array_agg(id), '{}') FROM to_judge) AS ids,
       (SELECT count(*) FROM changed_all) AS symbols_changed,
       (SELECT count(*) FROM changed_all ch JOIN freshness f ON f.quoted_at = ch.quoted_at WHERE NOT f.fresh)
           AS skipped_stale,
       coalesce(array_agg(ch.symbol ORDER BY ch.symbol), '{}') AS symbols,
       coalesce(array_agg(ch.quoted_at ORDER BY ch.symbol), '{}') AS quoted,
       coalesce(array_agg(ch.price ORDER BY ch.symbol), '{}') AS prices,
       coalesce(array_agg(ch.since ORDER BY ch.symbol), '{}') AS since,
       coalesce(array_agg(f.fresh ORDER BY ch.symbol), '{}') AS fresh
  FROM changed_all ch JOIN freshness f ON f.quoted_at = ch.quoted_at"""
)

# The rule set: each candidate alert (``to_judge``) with its stock's latest quote. ``fires``: the
# alert's condition holds now (for crossings: between the previous quote and the latest, newer than
# anything it fired on). ``state_true``: the plain above/below/moved state, which must be false
# again before a recurring alert re-arms. Duration and percent alerts look back through the stored
# quotes, which must cover the span without a gap longer than the staleness limit (market time).
_JUDGE = """
candidate_rows AS (
    -- the alerts to judge, each with its stock's latest quote (none before the first), read once
    SELECT a.id, a.user_id, a.symbol, a.alert_type, a.condition, a.threshold_price, a.duration_minutes,
           a.percent, a.window_minutes, a.indicator, a.period, a.other_indicator, a.other_period, a.horizon,
           a.recurring, a.armed, a.cooldown_minutes, a.last_triggered_at, a.events_after, a.needs_judging,
           s.current_price AS price, s.price_time AS quoted_at
      FROM alerts a
      LEFT JOIN stocks s ON s.symbol = a.symbol AND s.price_time IS NOT NULL
     WHERE a.id = ANY(%(ids)s) AND a.status = 'active' AND (a.expires_at IS NULL OR a.expires_at > %(now)s)
),
quote_freshness AS (
    -- once per distinct quote time (a fetch stamps its batch alike), not per symbol
    SELECT t.quoted_at, market_minutes_between(t.quoted_at, %(now)s) <= %(max_age)s AS fresh
      FROM (SELECT DISTINCT quoted_at FROM candidate_rows WHERE quoted_at IS NOT NULL) t
),
candidates AS (
    SELECT r.*, (r.quoted_at AT TIME ZONE 'America/New_York')::date AS day, coalesce(f.fresh, false) AS fresh
      FROM candidate_rows r
      LEFT JOIN quote_freshness f ON f.quoted_at = r.quoted_at
),
lookback AS (
    -- Per-alert look-ups, each skipped (one-time filter) unless the alert's type needs it, and
    -- memoised per symbol by the planner: the quote before the latest (crossings); the first
    -- quote after the most recent gap longer than the staleness limit (coverage); the quote in
    -- force at the start of the span (duration) or window (percent_change).
    SELECT c.*, p.prev_price, cov.covered_since, anchor.quoted_at AS anchor_at, anchor.price AS anchor_price,
           ind.subject_now, ind.subject_prev, ind.reference_now, ind.reference_prev,
           fc.forecast_close, fc.band_low, fc.band_high,
           (c.alert_type = 'duration' AND anchor.quoted_at >= cov.covered_since AND NOT EXISTS (
                SELECT 1 FROM quotes v
                 WHERE v.symbol = c.symbol AND v.quoted_at >= anchor.quoted_at AND v.quoted_at <= c.quoted_at
                   AND CASE c.condition WHEN 'above' THEN v.price < c.threshold_price
                                        ELSE v.price > c.threshold_price END)) AS held
      FROM candidates c
      LEFT JOIN LATERAL (
            SELECT q.price AS prev_price, (q.quoted_at AT TIME ZONE 'America/New_York')::date AS prev_day
              FROM quotes q
             WHERE c.condition IN ('crosses_above', 'crosses_below') AND c.fresh
               AND q.symbol = c.symbol AND q.quoted_at < c.quoted_at
             ORDER BY q.quoted_at DESC LIMIT 1) p ON true
      LEFT JOIN LATERAL (
            -- indicator alerts: the last daily bar before the latest quote's day and before the previous
            -- quote's (OFFSET 0 keeps the type test a one-time filter that other alerts stop at: pulled
            -- up into the join, it let the look-ups run for every alert, 0.6 ms each)
            SELECT (SELECT b.day FROM price_bars b WHERE b.symbol = c.symbol AND b.day < c.day
                     ORDER BY b.day DESC LIMIT 1) AS through,
                   (SELECT b.day FROM price_bars b WHERE b.symbol = c.symbol AND b.day < p.prev_day
                     ORDER BY b.day DESC LIMIT 1) AS prev_through
             WHERE c.alert_type = 'indicator' AND c.fresh OFFSET 0) bars ON true
      LEFT JOIN LATERAL (
            -- the averages in force at the latest and the previous quote (cached by step one)
            SELECT CASE WHEN c.other_indicator IS NULL THEN c.price::float8 ELSE a1.now END AS subject_now,
                   CASE WHEN c.other_indicator IS NULL THEN p.prev_price::float8 ELSE a1.prev END AS subject_prev,
                   CASE WHEN c.other_indicator IS NULL THEN a1.now ELSE a2.now END AS reference_now,
                   CASE WHEN c.other_indicator IS NULL THEN a1.prev ELSE a2.prev END AS reference_prev
              FROM (SELECT cached_moving_average(c.symbol, c.indicator, c.period, bars.through) AS now,
                           cached_moving_average(c.symbol, c.indicator, c.period, bars.prev_through) AS prev) a1,
                   (SELECT cached_moving_average(c.symbol, c.other_indicator, c.other_period, bars.through) AS now,
                           cached_moving_average(c.symbol, c.other_indicator, c.other_period, bars.prev_through) AS prev
                   ) a2
             WHERE c.alert_type = 'indicator' AND c.fresh OFFSET 0) ind ON true
      LEFT JOIN LATERAL (
            -- forecast_above/below: the forecast from the newest daily bar, ``horizon`` days ahead;
            -- outside_band: the next day's 95 percent band forecast from the bar before the quote's day
            -- (LIMIT 1 keeps it a primary-key probe per alert: flattened into a join, the planner chose
            -- to scan every stored forecast for each alert, 3.5 ms an alert at 10,000 forecasts)
            SELECT (f.steps->(c.horizon - 1)->>'close')::numeric AS forecast_close,
                   (f.steps->0->>'low_95')::numeric AS band_low, (f.steps->0->>'high_95')::numeric AS band_high
              FROM forecasts f
             WHERE c.alert_type = 'forecast' AND c.fresh AND f.symbol = c.symbol AND f.steps IS NOT NULL
               AND f.as_of = (SELECT max(b.day) FROM price_bars b WHERE b.symbol = c.symbol
                                 AND (c.condition <> 'outside_band' OR b.day < c.day))
             LIMIT 1) fc ON true
      LEFT JOIN LATERAL (
            SELECT coalesce(max(g.quoted_at) FILTER (WHERE g.gap_before), min(g.quoted_at)) AS covered_since
              FROM (SELECT q.quoted_at,
                           market_minutes_between(lag(q.quoted_at) OVER (ORDER BY q.quoted_at), q.quoted_at)
                               > %(max_age)s AS gap_before
                      FROM quotes q
                     WHERE c.alert_type IN ('duration', 'percent_change') AND c.fresh
                       AND q.symbol = c.symbol AND q.quoted_at >= %(now)s - interval '8 days') g) cov ON true
      LEFT JOIN LATERAL (
            SELECT q.quoted_at, q.price FROM quotes q
             WHERE c.alert_type IN ('duration', 'percent_change') AND c.fresh AND q.symbol = c.symbol
               AND q.quoted_at <= c.quoted_at
                   - make_interval(mins => coalesce(c.duration_minutes, c.window_minutes))
             ORDER BY q.quoted_at DESC LIMIT 1) anchor ON true
),
evaluated AS (
    SELECT l.*,
           CASE
             WHEN NOT l.fresh THEN false
             WHEN l.alert_type = 'indicator' THEN CASE l.condition
                 WHEN 'above' THEN l.subject_now >= l.reference_now
                 WHEN 'below' THEN l.subject_now <= l.reference_now
                 WHEN 'crosses_above' THEN l.subject_prev < l.reference_prev AND l.subject_now >= l.reference_now
                      AND l.quoted_at > l.events_after
                 WHEN 'crosses_below' THEN l.subject_prev > l.reference_prev AND l.subject_now <= l.reference_now
                      AND l.quoted_at > l.events_after END
             WHEN l.condition = 'forecast_above' THEN l.forecast_close >= l.threshold_price
             WHEN l.condition = 'forecast_below' THEN l.forecast_close <= l.threshold_price
             WHEN l.condition = 'outside_band' THEN l.price < l.band_low OR l.price > l.band_high
             WHEN l.condition = 'above' AND l.alert_type = 'threshold' THEN l.price >= l.threshold_price
             WHEN l.condition = 'below' AND l.alert_type = 'threshold' THEN l.price <= l.threshold_price
             WHEN l.condition = 'crosses_above' THEN l.prev_price < l.threshold_price AND l.price >= l.threshold_price
                  AND l.quoted_at > l.events_after
             WHEN l.condition = 'crosses_below' THEN l.prev_price > l.threshold_price AND l.price <= l.threshold_price
                  AND l.quoted_at > l.events_after
             WHEN l.alert_type = 'duration' THEN coalesce(l.held, false)
             WHEN l.condition = 'up' THEN l.anchor_at >= l.covered_since
                  AND (l.price - l.anchor_price) / l.anchor_price * 100 >= l.percent
             WHEN l.condition = 'down' THEN l.anchor_at >= l.covered_since
                  AND (l.anchor_price - l.price) / l.anchor_price * 100 >= l.percent
           END AS fires,
           CASE
             WHEN NOT l.fresh THEN NULL
             WHEN l.alert_type = 'indicator' AND l.condition IN ('above', 'crosses_above')
                  THEN l.subject_now >= l.reference_now
             WHEN l.alert_type = 'indicator' THEN l.subject_now <= l.reference_now
             WHEN l.condition = 'forecast_above' THEN l.forecast_close >= l.threshold_price
             WHEN l.condition = 'forecast_below' THEN l.forecast_close <= l.threshold_price
             WHEN l.condition = 'outside_band' THEN l.price < l.band_low OR l.price > l.band_high
             WHEN l.condition IN ('above', 'crosses_above') THEN l.price >= l.threshold_price
             WHEN l.condition IN ('below', 'crosses_below') THEN l.price <= l.threshold_price
             WHEN l.condition = 'up' THEN (l.price - l.anchor_price) / l.anchor_price * 100 >= l.percent
             WHEN l.condition = 'down' THEN (l.anchor_price - l.price) / l.anchor_price * 100 >= l.percent
           END AS state_true,
           CASE WHEN l.alert_type = 'indicator' THEN l.subject_now
                WHEN l.condition = 'outside_band' THEN l.price
                WHEN l.alert_type = 'forecast' THEN l.forecast_close END AS observed_value,
           CASE WHEN l.alert_type = 'indicator' THEN l.reference_now
                WHEN l.condition = 'outside_band' THEN CASE WHEN l.price < l.band_low THEN l.band_low
                                                             ELSE l.band_high END
                WHEN l.alert_type = 'forecast' THEN l.threshold_price END AS reference_value
      FROM lookback l
)
"""

# Step two: judge the candidates (``ids``) and claim the firings, each with its trigger and outbox row,
# and move the symbols' cursors to the quotes judged. The updates join ``evaluated`` by id alone: with
# id = ANY(ids) beside it, each of their index probes would scan the whole array (with 10,000
# candidates, seconds).
CLAIM_TRIGGERS = (
    "WITH"
    + _JUDGE
    + """,
claimed AS (
    UPDATE alerts a
       SET armed = false,
           status = CASE WHEN a.recurring THEN 'active' ELSE 'triggered' END,
           trigger_count = a.trigger_count + 1,
           last_triggered_at = %(now)s,
           events_after = e.quoted_at,
           needs_judging = false,
           judged_at = %(now)s, judged_price = e.price, judged_quote_at = e.quoted_at,
           updated_at = %(now)s
      FROM evaluated e
     WHERE a.id = e.id AND e.fires AND a.armed AND a.status = 'active'
 RETURNING a.id, a.user_id, a.trigger_count, a.symbol, a.alert_type, a.condition, a.threshold_price,
           a.duration_minutes, a.percent, a.window_minutes, a.indicator, a.period, a.other_indicator,
           a.other_period, a.horizon, e.observed_value, e.reference_value, e.price, e.quoted_at, a.webhook_id
),
triggers AS (
    INSERT INTO alert_triggers (alert_id, user_id, sequence, symbol, alert_type, condition, threshold_price,
                                duration_minutes, percent, window_minutes, indicator, period, other_indicator,
                                other_period, horizon, observed_value, reference_value, price, quoted_at,
                                triggered_at)
    SELECT id, user_id, trigger_count, symbol, alert_type, condition, threshold_price, duration_minutes, percent,
           window_minutes, indicator, period, other_indicator, other_period, horizon, observed_value,
           reference_value, price, quoted_at, %(now)s
      FROM claimed
 RETURNING id, user_id, alert_id
),
outbox AS (
    -- the email (skipped, not left out, when the owner turned emails off), and the webhook's delivery
    INSERT INTO notifications (trigger_id, user_id, channel, recipient, webhook_id, status, next_attempt_at)
    SELECT t.id, t.user_id, 'email', u.email, NULL,
           CASE WHEN u.email_notifications THEN 'pending' ELSE 'skipped' END, %(now)s
      FROM triggers t JOIN users u ON u.id = t.user_id
    UNION ALL
    SELECT t.id, t.user_id, 'webhook', w.url, w.id, 'pending', %(now)s
      FROM triggers t JOIN claimed c ON c.id = t.alert_id JOIN webhooks w ON w.id = c.webhook_id
 RETURNING id
),
judged AS (
    -- newly defined alerts that did not fire: judged now, on this price
    UPDATE alerts a
       SET needs_judging = false, judged_at = %(now)s, judged_price = e.price, judged_quote_at = e.quoted_at
      FROM evaluated e
     WHERE a.id = e.id AND e.needs_judging AND e.fires IS NOT TRUE
 RETURNING a.id
),
cursors AS (
    INSERT INTO evaluation_cursors AS c (symbol, quoted_at, price, judged_at)
    SELECT symbol, quoted_at, price, %(now)s
      FROM unnest(%(symbols)s::text[], %(quoted)s::timestamptz[], %(prices)s::numeric[]) AS j(symbol, quoted_at, price)
    ON CONFLICT (symbol) DO UPDATE SET quoted_at = EXCLUDED.quoted_at, price = EXCLUDED.price,
                                       judged_at = EXCLUDED.judged_at
 RETURNING c.symbol
)
SELECT (SELECT count(*) FROM evaluated) AS evaluated,
       (SELECT count(*) FROM claimed) AS triggered,
       (SELECT count(*) FROM outbox) AS notifications,
       (SELECT count(*) FROM judged) AS newly_judged
"""
)

# Recurring alerts that fired re-arm once their cooldown has passed and their condition is false
# again on a fresh price; judged by the same rules, over just those alerts.
REARM_CANDIDATES = """
SELECT coalesce(array_agg(id), '{}') AS ids FROM alerts
 WHERE NOT armed AND status = 'active' AND recurring
   AND last_triggered_at + make_interval(mins => cooldown_minutes) <= %(now)s"""
REARM = (
    "WITH"
    + _JUDGE
    + """
UPDATE alerts a SET armed = true, updated_at = %(now)s
  FROM evaluated e
 WHERE a.id = ANY(%(ids)s) AND a.id = e.id AND e.state_true = false AND NOT a.armed AND a.status = 'active'
"""
)

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
        row = {"evaluated": 0, "triggered": 0, "notifications": 0, "newly_judged": 0}
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


def database_now(conn: Connection) -> datetime:
    return conn.execute("SELECT now() AS now").fetchone()["now"]


# ---------------------------------------------------------------- outbox


def claim_notifications(conn: Connection, now: datetime, batch: int, lease: timedelta) -> list[dict]:
    """Take due notifications for sending; SKIP LOCKED and the status change keep runs apart.
    A lease that ran out (a run that died mid-send) makes a notification due again; one claimed but
    never handed to a provider is due at once (the caller holds the dispatcher's lock, so the run
    that claimed it is gone, and ``hand_over`` fences it off should it still be sending). Each row
    carries what it tells: an alert trigger, or a paper-trading fill (``fill_id`` set)."""
    return conn.execute(
        """WITH claimed AS (
               UPDATE notifications n SET status = 'sending', attempts = n.attempts + 1, lease_until = %(lease)s,
                                          handed_over_at = NULL
                WHERE n.id IN (
                  SELECT id FROM notifications
                   WHERE (status = 'pending' AND next_attempt_at <= %(now)s)
                      OR (status = 'sending' AND (lease_until < %(now)s OR handed_over_at IS NULL))
                   ORDER BY next_attempt_at, id LIMIT %(batch)s FOR UPDATE SKIP LOCKED)
            RETURNING n.id, n.channel, n.recipient, n.attempts, n.webhook_id, n.trigger_id, n.fill_id)
        SELECT c.id, c.channel, c.recipient, c.attempts, c.webhook_id, c.trigger_id, c.fill_id, t.alert_id,
               t.sequence, coalesce(t.symbol, f.symbol) AS symbol, t.alert_type, t.condition, t.threshold_price,
               t.duration_minutes, t.percent, t.window_minutes, t.indicator, t.period, t.other_indicator,
               t.other_period, t.horizon, t.observed_value, t.reference_value, coalesce(t.price, f.price) AS price,
               coalesce(t.quoted_at, f.quoted_at) AS quoted_at, t.triggered_at,
               f.order_id, f.side, f.qty, f.notional, f.realized_pl, f.filled_at, o.order_type, o.limit_price,
               o.stop_price, o.client_order_id, w.url AS webhook_url, w.secret AS webhook_secret
          FROM claimed c
          LEFT JOIN alert_triggers t ON t.id = c.trigger_id
          LEFT JOIN paper_fills f ON f.id = c.fill_id
          LEFT JOIN paper_orders o ON o.id = f.order_id
          LEFT JOIN webhooks w ON w.id = c.webhook_id""",
        {"now": now, "lease": now + lease, "batch": batch},
    ).fetchall()


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
