-- The exchange calendar's sessions (holidays and early closes included), loaded by the migrator from
-- the package's market_sessions.csv so that SQL and Python read one table. Market minutes are now
-- the minutes of real sessions: a holiday adds none, an early close's session ends at 13:00.
CREATE TABLE market_sessions (
    day         date        PRIMARY KEY,
    opens_at    timestamptz NOT NULL,
    closes_at   timestamptz NOT NULL CHECK (closes_at > opens_at),
    note        text        NOT NULL DEFAULT ''
);

-- Which version of the table is loaded (a digest of the file), so a regenerated file reloads it.
CREATE TABLE market_calendar_source (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    digest      text    NOT NULL
);

CREATE OR REPLACE FUNCTION market_minutes_between(t0 timestamptz, t1 timestamptz) RETURNS double precision
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN t0 IS NULL OR t1 IS NULL THEN NULL
        WHEN t1 <= t0 THEN 0
        ELSE coalesce((
            SELECT sum(extract(epoch FROM least(closes_at, t1) - greatest(opens_at, t0))) / 60
              FROM market_sessions
             WHERE day BETWEEN (t0 AT TIME ZONE 'America/New_York')::date
                           AND (t1 AT TIME ZONE 'America/New_York')::date
               AND closes_at > t0 AND opens_at < t1), 0)::double precision
    END
$$;
