-- The symbols whose latest quote moved since they were last judged, with the quote before it
-- (crossings). Freshness is computed once per distinct quote time: a fetch stamps its batch alike.
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
           (p.prev_quoted_at AT TIME ZONE 'America/New_York')::date AS prev_day,
           coalesce(span.low_before, p.prev_price) AS low_before, coalesce(span.high_before, p.prev_price) AS high_before,
           coalesce(span.low_after, ch.price) AS low_after, coalesce(span.high_after, ch.price) AS high_after
      FROM changed_all ch
      JOIN freshness f ON f.quoted_at = ch.quoted_at AND f.fresh
      LEFT JOIN LATERAL (
            SELECT q.price AS prev_price, q.quoted_at AS prev_quoted_at FROM quotes q
             WHERE q.symbol = ch.symbol AND q.quoted_at < ch.quoted_at
             ORDER BY q.quoted_at DESC LIMIT 1) p ON true
      LEFT JOIN LATERAL (
            -- threshold crossings: the prices since the symbol was last judged, before and after a step:
            -- fetches can outpace the runs, and any step since the last run may be the crossing. Read only
            -- when more than one quote came since (the one-time filter); else the step is the quote before
            -- the latest to the latest.
            SELECT min(q.price) FILTER (WHERE q.quoted_at < ch.quoted_at) AS low_before,
                   max(q.price) FILTER (WHERE q.quoted_at < ch.quoted_at) AS high_before,
                   min(q.price) FILTER (WHERE q.quoted_at > ch.since) AS low_after,
                   max(q.price) FILTER (WHERE q.quoted_at > ch.since) AS high_after
              FROM quotes q
             WHERE ch.since < p.prev_quoted_at
               AND q.symbol = ch.symbol AND q.quoted_at >= ch.since AND q.quoted_at <= ch.quoted_at) span ON true
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
           AND a.condition = 'crosses_above' AND a.threshold_price > c.low_before AND a.threshold_price <= c.high_after
        UNION ALL
        SELECT a.id FROM alerts a
         WHERE a.symbol = c.symbol AND a.armed AND a.status = 'active' AND a.alert_type = 'threshold'
           AND a.condition = 'crosses_below' AND a.threshold_price < c.high_before AND a.threshold_price >= c.low_after
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
)
