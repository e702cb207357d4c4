-- Price alerts, their triggers, and the notification outbox.

-- Minutes of regular NYSE trading (09:30-16:00 New York, Monday-Friday; holidays not modelled)
-- between two instants: how old a price is in market time. The last close stays fresh
-- overnight and over weekends because no trading minute passes.
CREATE FUNCTION market_minutes_between(t0 timestamptz, t1 timestamptz) RETURNS double precision
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    l0 timestamp := t0 AT TIME ZONE 'America/New_York';
    l1 timestamp := t1 AT TIME ZONE 'America/New_York';
    d date;
    total double precision := 0;
BEGIN
    IF t0 IS NULL OR t1 IS NULL THEN
        RETURN NULL;
    END IF;
    IF l1 <= l0 THEN
        RETURN 0;
    END IF;
    IF l1 - l0 > interval '60 days' THEN
        RETURN 1e9;  -- far past any staleness limit; not worth counting
    END IF;
    d := l0::date;
    WHILE d <= l1::date LOOP
        IF extract(isodow FROM d) < 6 THEN
            total := total + greatest(0, extract(epoch FROM
                least(d + time '16:00', l1) - greatest(d + time '09:30', l0)) / 60);
        END IF;
        d := d + 1;
    END LOOP;
    RETURN total;
END $$;

CREATE TABLE alerts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    symbol              text        NOT NULL REFERENCES stocks (symbol),
    alert_type          text        NOT NULL CHECK (alert_type IN ('threshold', 'duration', 'percent_change')),
    condition           text        NOT NULL,
    threshold_price     numeric(18, 6) CHECK (threshold_price > 0),
    duration_minutes    integer     CHECK (duration_minutes > 0),
    percent             numeric(9, 4) CHECK (percent > 0),
    window_minutes      integer     CHECK (window_minutes > 0),
    recurring           boolean     NOT NULL DEFAULT false,
    cooldown_minutes    integer     NOT NULL DEFAULT 0 CHECK (cooldown_minutes >= 0),
    expires_at          timestamptz,
    -- active: evaluated; paused: by the user; triggered: a one-time alert that fired.
    status              text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'triggered')),
    -- A recurring alert is disarmed when it fires and re-armed after its cooldown once the
    -- condition has been false again.
    armed               boolean     NOT NULL DEFAULT true,
    trigger_count       integer     NOT NULL DEFAULT 0,
    last_triggered_at   timestamptz,
    -- A crossing counts only on a quote newer than this: creation, the last firing, or the
    -- last change or resume (a crossing the owner could not have meant is not news).
    events_after        timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_fields_match_type CHECK (
        (alert_type = 'threshold' AND condition IN ('above', 'below', 'crosses_above', 'crosses_below')
            AND threshold_price IS NOT NULL AND duration_minutes IS NULL AND percent IS NULL AND window_minutes IS NULL)
     OR (alert_type = 'duration' AND condition IN ('above', 'below')
            AND threshold_price IS NOT NULL AND duration_minutes IS NOT NULL AND percent IS NULL AND window_minutes IS NULL)
     OR (alert_type = 'percent_change' AND condition IN ('up', 'down')
            AND threshold_price IS NULL AND duration_minutes IS NULL AND percent IS NOT NULL AND window_minutes IS NOT NULL)
    )
);
-- The evaluator reads every active alert (a sequential scan is its best plan at 1M alerts, per
-- bench/evaluate_alerts.py; its quote look-ups use quotes' primary key). Owners list theirs newest first.
CREATE INDEX alerts_user_idx ON alerts (user_id, id DESC);
-- No two identical active alerts for one user (409 on create or resume).
CREATE UNIQUE INDEX alerts_no_duplicate_active ON alerts (
    user_id, symbol, alert_type, condition, coalesce(threshold_price, -1), coalesce(duration_minutes, -1),
    coalesce(percent, -1), coalesce(window_minutes, -1)
) WHERE status = 'active';

CREATE TABLE alert_triggers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     bigint      REFERENCES alerts (id) ON DELETE SET NULL,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    sequence     integer     NOT NULL,
    symbol       text        NOT NULL,
    alert_type   text        NOT NULL,
    condition    text        NOT NULL,
    threshold_price  numeric(18, 6),
    duration_minutes integer,
    percent          numeric(9, 4),
    window_minutes   integer,
    price        numeric(18, 6) NOT NULL,
    quoted_at    timestamptz NOT NULL,
    triggered_at timestamptz NOT NULL DEFAULT now(),
    -- One trigger per firing, whatever the number of overlapping evaluator runs.
    UNIQUE (alert_id, sequence)
);
CREATE INDEX alert_triggers_user_idx ON alert_triggers (user_id, triggered_at DESC, id DESC);

-- The outbox: written in the trigger's transaction, sent afterwards, retried with backoff.
CREATE TABLE notifications (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    trigger_id          bigint      NOT NULL UNIQUE REFERENCES alert_triggers (id) ON DELETE CASCADE,
    user_id             bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel             text        NOT NULL DEFAULT 'email',
    recipient           text        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts            integer     NOT NULL DEFAULT 0,
    last_error          text,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_until         timestamptz,
    sent_at             timestamptz,
    provider_message_id text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status IN ('pending', 'sending');
