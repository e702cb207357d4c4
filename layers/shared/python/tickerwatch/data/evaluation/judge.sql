-- The rule set: each candidate alert (``to_judge``) with its stock's latest quote. ``fires``: the
-- alert's condition holds now (for crossings: between the previous quote and the latest, newer than
-- anything it fired on). ``state_true``: the plain above/below/moved state, which must be false
-- again before a recurring alert re-arms. Duration and percent alerts look back through the stored
-- quotes, which must cover the span without a gap longer than the staleness limit (market time).
candidate_rows AS (
    -- the alerts to judge, each with its stock's latest quote (none before the first), read once
    SELECT a.id, a.user_id, a.symbol, a.alert_type, a.condition, {condition_fields:a},
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
    SELECT c.*, p.prev_price, x.rose_through, x.fell_through, cov.covered_since,
           anchor.quoted_at AS anchor_at, anchor.price AS anchor_price,
           ind.subject_now, ind.subject_prev, ind.reference_now, ind.reference_prev,
           fc.forecast_close, fc.band_low, fc.band_high,
           (c.alert_type = 'duration' AND anchor.quoted_at >= cov.covered_since AND NOT EXISTS (
                SELECT 1 FROM quotes v
                 WHERE v.symbol = c.symbol AND v.quoted_at >= anchor.quoted_at AND v.quoted_at <= c.quoted_at
                   AND CASE c.condition WHEN 'above' THEN v.price < c.threshold_price
                                        ELSE v.price > c.threshold_price END)) AS held
      FROM candidates c
      LEFT JOIN LATERAL (
            SELECT q.price AS prev_price, q.quoted_at AS prev_quoted_at,
                   (q.quoted_at AT TIME ZONE 'America/New_York')::date AS prev_day
              FROM quotes q
             WHERE c.condition IN ('crosses_above', 'crosses_below') AND c.fresh
               AND q.symbol = c.symbol AND q.quoted_at < c.quoted_at
             ORDER BY q.quoted_at DESC LIMIT 1) p ON true
      LEFT JOIN LATERAL (
            -- threshold crossings: every step between consecutive quotes since the symbol was last judged
            -- (its cursor, as this run found it: the cursors move only when this statement ends; from the
            -- quote before the latest when it never was) onto a quote newer than the alert's last event: a
            -- run that follows several fetches misses no crossing between them
            SELECT bool_or(s.step_from < c.threshold_price AND s.price >= c.threshold_price) AS rose_through,
                   bool_or(s.step_from > c.threshold_price AND s.price <= c.threshold_price) AS fell_through
              FROM (SELECT q.price, q.quoted_at, lag(q.price) OVER (ORDER BY q.quoted_at) AS step_from
                      FROM quotes q
                     WHERE c.alert_type = 'threshold' AND c.condition IN ('crosses_above', 'crosses_below')
                       AND c.fresh AND q.symbol = c.symbol
                       AND q.quoted_at >= least((SELECT e.quoted_at FROM evaluation_cursors e WHERE e.symbol = c.symbol),
                                                p.prev_quoted_at)
                       AND q.quoted_at <= c.quoted_at) s
             WHERE s.quoted_at > c.events_after) x ON true
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
             WHEN l.condition = 'crosses_above' THEN l.rose_through
             WHEN l.condition = 'crosses_below' THEN l.fell_through
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
