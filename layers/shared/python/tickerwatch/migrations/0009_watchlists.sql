-- Watchlists: a user's named lists of tracked symbols, in the order the user gave them.

CREATE TABLE watchlists (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name       text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
-- Names are told apart the way people read them: "Tech" and "tech" are one list.
CREATE UNIQUE INDEX watchlists_user_name ON watchlists (user_id, lower(name));

CREATE TABLE watchlist_symbols (
    watchlist_id bigint  NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE,
    position     integer NOT NULL,
    symbol       text    NOT NULL REFERENCES stocks (symbol),
    PRIMARY KEY (watchlist_id, position),
    UNIQUE (watchlist_id, symbol)
);
