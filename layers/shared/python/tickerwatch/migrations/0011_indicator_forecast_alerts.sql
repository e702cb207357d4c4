-- Indicator alerts (the price or a moving average against a moving average of daily closes) and
-- forecast alerts (the model's forecast close against a price; the price outside the forecast band).

ALTER TABLE alerts ADD COLUMN indicator text CHECK (indicator IN ('sma', 'ema'));
ALTER TABLE alerts ADD COLUMN period integer CHECK (period BETWEEN 2 AND 400);
ALTER TABLE alerts ADD COLUMN other_indicator text CHECK (other_indicator IN ('sma', 'ema'));
ALTER TABLE alerts ADD COLUMN other_period integer CHECK (other_period BETWEEN 2 AND 400);
ALTER TABLE alerts ADD COLUMN horizon integer CHECK (horizon BETWEEN 1 AND 30);

ALTER TABLE alerts DROP CONSTRAINT alerts_alert_type_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_alert_type_check
    CHECK (alert_type IN ('threshold', 'duration', 'percent_change', 'indicator', 'forecast'));
ALTER TABLE alerts DROP CONSTRAINT alert_fields_match_type;
ALTER TABLE alerts ADD CONSTRAINT alert_fields_match_type CHECK (
    (alert_type = 'threshold' AND condition IN ('above', 'below', 'crosses_above', 'crosses_below')
        AND threshold_price IS NOT NULL AND duration_minutes IS NULL AND percent IS NULL AND window_minutes IS NULL
        AND indicator IS NULL AND horizon IS NULL)
 OR (alert_type = 'duration' AND condition IN ('above', 'below')
        AND threshold_price IS NOT NULL AND duration_minutes IS NOT NULL AND percent IS NULL AND window_minutes IS NULL
        AND indicator IS NULL AND horizon IS NULL)
 OR (alert_type = 'percent_change' AND condition IN ('up', 'down')
        AND threshold_price IS NULL AND duration_minutes IS NULL AND percent IS NOT NULL AND window_minutes IS NOT NULL
        AND indicator IS NULL AND horizon IS NULL)
 OR (alert_type = 'indicator' AND condition IN ('above', 'below', 'crosses_above', 'crosses_below')
        AND threshold_price IS NULL AND duration_minutes IS NULL AND percent IS NULL AND window_minutes IS NULL
        AND indicator IS NOT NULL AND period IS NOT NULL AND horizon IS NULL
        AND (other_indicator IS NULL) = (other_period IS NULL)
        AND (other_indicator, other_period) IS DISTINCT FROM (indicator, period))
 OR (alert_type = 'forecast' AND condition IN ('forecast_above', 'forecast_below')
        AND threshold_price IS NOT NULL AND horizon IS NOT NULL
        AND duration_minutes IS NULL AND percent IS NULL AND window_minutes IS NULL AND indicator IS NULL)
 OR (alert_type = 'forecast' AND condition = 'outside_band'
        AND threshold_price IS NULL AND horizon IS NULL
        AND duration_minutes IS NULL AND percent IS NULL AND window_minutes IS NULL AND indicator IS NULL)
);
ALTER TABLE alerts ADD CONSTRAINT alert_indicator_fields_together CHECK (
    (indicator IS NULL AND period IS NULL AND other_indicator IS NULL AND other_period IS NULL)
 OR (indicator IS NOT NULL AND period IS NOT NULL)
);

DROP INDEX alerts_no_duplicate_active;
CREATE UNIQUE INDEX alerts_no_duplicate_active ON alerts (
    user_id, symbol, alert_type, condition, coalesce(threshold_price, -1), coalesce(duration_minutes, -1),
    coalesce(percent, -1), coalesce(window_minutes, -1), coalesce(indicator, ''), coalesce(period, -1),
    coalesce(other_indicator, ''), coalesce(other_period, -1), coalesce(horizon, -1)
) WHERE status = 'active';

-- Every indicator alert of one definition has the same verdict: a run finds the definitions that
-- fire and reads only their alerts.
CREATE INDEX alerts_armed_indicator ON alerts (
    symbol, indicator, period, coalesce(other_indicator, ''), coalesce(other_period, 0), condition
) WHERE armed AND status = 'active' AND alert_type = 'indicator';
-- Forecast alerts by what the forecast must reach.
CREATE INDEX alerts_armed_forecast ON alerts (symbol, condition, horizon, threshold_price)
    WHERE armed AND status = 'active' AND alert_type = 'forecast';

-- What a firing was judged on, beside the price: the average or forecast compared (observed) and
-- what it was compared with (reference: the other average, the threshold, the band's edge).
ALTER TABLE alert_triggers ADD COLUMN indicator text;
ALTER TABLE alert_triggers ADD COLUMN period integer;
ALTER TABLE alert_triggers ADD COLUMN other_indicator text;
ALTER TABLE alert_triggers ADD COLUMN other_period integer;
ALTER TABLE alert_triggers ADD COLUMN horizon integer;
ALTER TABLE alert_triggers ADD COLUMN observed_value numeric(18, 6);
ALTER TABLE alert_triggers ADD COLUMN reference_value numeric(18, 6);

-- A moving average of the last ``period`` daily closes through ``p_through`` (a quote is judged on
-- the bars before its trading day: the day in progress is not a completed bar); NULL when fewer
-- closes are stored. The EMA (alpha = 2 / (period + 1)) runs over at most the last 4 x period
-- closes, seeded with the SMA of the first ``period`` of them: what is left of the seed weighs
-- (1 - alpha)^(3 period), about e^-6, so it agrees with an EMA over all history to a small fraction
-- of a percent.
CREATE FUNCTION moving_average(p_symbol text, p_kind text, p_period integer, p_through date)
RETURNS double precision LANGUAGE sql STABLE PARALLEL SAFE AS $$
    WITH recent AS (
        SELECT close, row_number() OVER (ORDER BY day) AS i, count(*) OVER () AS n
          FROM (SELECT day, close FROM price_bars
                 WHERE symbol = p_symbol AND day <= p_through AND p_period IS NOT NULL
                 ORDER BY day DESC
                 LIMIT CASE WHEN p_kind = 'ema' THEN 4 * p_period ELSE p_period END) last_closes
    )
    SELECT CASE
             WHEN coalesce(max(n), 0) < p_period THEN NULL
             WHEN p_kind = 'sma' THEN avg(close)
             ELSE power(1 - 2.0 / (p_period + 1), max(n) - p_period) * avg(close) FILTER (WHERE i <= p_period)
                  + coalesce(sum(2.0 / (p_period + 1) * power(1 - 2.0 / (p_period + 1), n - i) * close)
                             FILTER (WHERE i > p_period), 0)
           END
      FROM recent
$$;

-- Averages computed once per symbol, kind, period and last bar, whatever the number of alerts and
-- runs: warmed when the bars land (fetch_prices), or by the first run that needs them. A rewritten
-- bar drops the rows that used it.
CREATE TABLE moving_averages (
    symbol      text    NOT NULL,
    kind        text    NOT NULL,
    period      integer NOT NULL,
    through_day date    NOT NULL,
    value       double precision,
    PRIMARY KEY (symbol, kind, period, through_day)
);

-- The average from the cache when there, computed otherwise (for the few alerts a run judges).
CREATE FUNCTION cached_moving_average(p_symbol text, p_kind text, p_period integer, p_through date)
RETURNS double precision LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN m.symbol IS NOT NULL THEN m.value
                WHEN p_kind IS NOT NULL THEN moving_average(p_symbol, p_kind, p_period, p_through) END
      FROM (SELECT 1) one
      LEFT JOIN moving_averages m
        ON m.symbol = p_symbol AND m.kind = p_kind AND m.period = p_period AND m.through_day = p_through
$$;

-- The model's forecast per symbol and daily bar, for forecast alerts: computed by the
-- forecast_alerts job (which holds the model) for symbols that have such alerts, judged in SQL.
-- ``steps``: [{"day", "close", "low_95", "high_95"}], one per trading day ahead; ``error`` when the
-- symbol's history cannot be forecast (told on the alert).
CREATE TABLE forecasts (
    symbol      text        NOT NULL REFERENCES stocks (symbol) ON DELETE CASCADE,
    as_of       date        NOT NULL,
    horizon     integer     NOT NULL,
    steps       jsonb,
    error       text,
    computed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (symbol, as_of),
    CHECK ((steps IS NULL) <> (error IS NULL))
);
