-- Usernames compared the way people read them, and rate limits shared by every Lambda instance.

-- The canonical form of a username: Unicode NFKC, then case-folded (computed by the application,
-- which owns the rule). Rows written before this migration, or by code deployed a moment earlier,
-- get the database's approximation from the trigger.
ALTER TABLE users ADD COLUMN username_key text;
UPDATE users SET username_key = lower(normalize(username, NFKC));
ALTER TABLE users ALTER COLUMN username_key SET NOT NULL;
CREATE UNIQUE INDEX users_username_key_key ON users (username_key);

CREATE FUNCTION users_fill_username_key() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.username_key IS NULL THEN
        NEW.username_key := lower(normalize(NEW.username, NFKC));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER users_fill_username_key BEFORE INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_fill_username_key();

-- Generic cell rate algorithm: per key, the theoretical arrival time of the next request. A
-- request is allowed when that time is at most the burst tolerance ahead of now; each allowed
-- request pushes it one emission interval further. UNLOGGED: losing counters in a crash is fine.
CREATE UNLOGGED TABLE rate_limits (
    key text PRIMARY KEY,
    tat timestamptz NOT NULL
);

-- One statement per check: returns 0 when the request is allowed (and counted), else the seconds
-- until it would be. p_now is for tests; callers leave it to the clock.
CREATE FUNCTION rate_limit_take(p_key text, p_interval double precision, p_burst double precision,
                                p_now timestamptz DEFAULT NULL)
RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE
    now_ timestamptz := coalesce(p_now, clock_timestamp());
    emission interval := make_interval(secs => p_interval);
    tolerance interval := make_interval(secs => p_burst);
    next_tat timestamptz;
BEGIN
    INSERT INTO rate_limits AS r (key, tat) VALUES (p_key, now_ + emission)
    ON CONFLICT (key) DO UPDATE SET tat = greatest(r.tat, now_) + emission
        WHERE greatest(r.tat, now_) - now_ <= tolerance
    RETURNING tat INTO next_tat;
    IF FOUND THEN
        RETURN 0;
    END IF;
    SELECT tat INTO next_tat FROM rate_limits WHERE key = p_key;
    RETURN greatest(extract(epoch FROM next_tat - now_ - tolerance), 0.001);
END $$;
