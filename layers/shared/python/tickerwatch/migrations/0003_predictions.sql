-- Computed forecasts, shared by everyone who asks for the same (ticker, last bar, model, horizon),
-- and each user's own history of requests pointing at them.
CREATE TABLE prediction_results (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    symbol        text        NOT NULL,
    last_bar_date date        NOT NULL,
    model_version text        NOT NULL,
    horizon       smallint    NOT NULL CHECK (horizon BETWEEN 1 AND 30),
    result        jsonb       NOT NULL,
    plots         jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (symbol, last_bar_date, model_version, horizon)
);

CREATE TABLE predictions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    result_id    bigint      NOT NULL REFERENCES prediction_results (id) ON DELETE CASCADE,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX predictions_user_recent_idx ON predictions (user_id, requested_at DESC, id DESC);
