-- A live market: market time without a cap, evaluation that follows price changes, and what each
-- alert was last judged on.

-- Minutes of regular trading between two instants, in closed form: a cap made a configured age
-- limit above it (60 days) impossible to reach.
CREATE OR REPLACE FUNCTION market_minutes_between(t0 timestamptz, t1 timestamptz) RETURNS double precision
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    l0 timestamp := t0 AT TIME ZONE 'America/New_York';
    l1 timestamp := t1 AT TIME ZONE 'America/New_York';
    d0 date;
    d1 date;
    first_full date;
    days integer;
    weekdays integer := 0;
    d date;
    total double precision := 0;
BEGIN
    IF t0 IS NULL OR t1 IS NULL THEN
        RETURN NULL;
    END IF;
    IF l1 <= l0 THEN
        RETURN 0;
    END IF;
    d0 := l0::date;
    d1 := l1::date;
    -- the sessions of the first and the last day, as far as the span covers them
    FOREACH d IN ARRAY CASE WHEN d0 = d1 THEN ARRAY[d0] ELSE ARRAY[d0, d1] END LOOP
        IF extract(isodow FROM d) < 6 THEN
            total := total + greatest(0, extract(epoch FROM
                least(d + time '16:00', l1) - greatest(d + time '09:30', l0)) / 60);
        END IF;
    END LOOP;
    -- whole sessions of the weekdays strictly between them: 5 a week, then the remainder day by day
    first_full := d0 + 1;
    days := d1 - d0 - 1;
    IF days > 0 THEN
        weekdays := (days / 7) * 5;
        d := first_full + (days / 7) * 7;
        WHILE d < d1 LOOP
            IF extract(isodow FROM d) < 6 THEN
                weekdays := weekdays + 1;
            END IF;
            d := d + 1;
        END LOOP;
    END IF;
    RETURN total + weekdays * 390;
END $$;

-- Evaluation that follows price changes. Per symbol, the quote it was last judged on: a run looks
-- only at symbols whose quote moved since. Per alert, whether it still needs its first judgement
-- (created, changed or resumed since the last run) and what it was last judged on, alone.
-- No foreign key to stocks: checking it on every judged symbol cost more than a stale row would.
CREATE TABLE evaluation_cursors (
    symbol     text PRIMARY KEY,
    quoted_at  timestamptz    NOT NULL,
    price      numeric(18, 6) NOT NULL,
    judged_at  timestamptz    NOT NULL
);

ALTER TABLE alerts ADD COLUMN needs_judging boolean NOT NULL DEFAULT true;
ALTER TABLE alerts ADD COLUMN judged_at timestamptz;
ALTER TABLE alerts ADD COLUMN judged_price numeric(18, 6);
ALTER TABLE alerts ADD COLUMN judged_quote_at timestamptz;

-- Armed alerts by what a new price must reach for them to fire: a run reads index ranges below or
-- above the price, never the alerts the price did not reach.
CREATE INDEX alerts_armed_threshold ON alerts (symbol, condition, threshold_price)
    WHERE armed AND status = 'active' AND alert_type = 'threshold';
CREATE INDEX alerts_armed_duration ON alerts (symbol, condition, threshold_price)
    WHERE armed AND status = 'active' AND alert_type = 'duration';
CREATE INDEX alerts_armed_percent ON alerts (symbol, condition, window_minutes, percent)
    WHERE armed AND status = 'active' AND alert_type = 'percent_change';
CREATE INDEX alerts_to_judge ON alerts (id) WHERE needs_judging;
CREATE INDEX alerts_disarmed ON alerts (id) WHERE NOT armed AND status = 'active';
