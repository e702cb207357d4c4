-- Tracked stocks, their daily bars, and timestamped quotes (what alerts are judged on).
CREATE TABLE stocks (
    symbol         text PRIMARY KEY CHECK (symbol ~ '^[A-Z0-9][A-Z0-9.^=-]{0,14}$'),
    name           text,
    exchange       text,
    current_price  numeric(18, 6),
    price_time     timestamptz,
    previous_close numeric(18, 6),
    tracked_since  timestamptz NOT NULL DEFAULT now(),
    backfilled_at  timestamptz
);

CREATE TABLE price_bars (
    symbol    text   NOT NULL REFERENCES stocks (symbol) ON DELETE CASCADE,
    day       date   NOT NULL,
    open      double precision NOT NULL,
    high      double precision NOT NULL,
    low       double precision NOT NULL,
    close     double precision NOT NULL,
    adj_close double precision NOT NULL,
    volume    bigint NOT NULL,
    PRIMARY KEY (symbol, day)
);

CREATE TABLE quotes (
    symbol    text           NOT NULL REFERENCES stocks (symbol) ON DELETE CASCADE,
    quoted_at timestamptz    NOT NULL,
    price     numeric(18, 6) NOT NULL CHECK (price > 0),
    PRIMARY KEY (symbol, quoted_at)
);
