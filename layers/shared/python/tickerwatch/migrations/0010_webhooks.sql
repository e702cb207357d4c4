-- Webhooks: a user's endpoints, alerts that name one, and their deliveries through the outbox.

CREATE TABLE webhooks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url        text        NOT NULL CHECK (length(url) <= 2000),
    -- The signing key: shown to the owner once, kept to sign every delivery.
    secret     text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhooks_user_idx ON webhooks (user_id, id);

ALTER TABLE alerts ADD COLUMN webhook_id bigint REFERENCES webhooks (id) ON DELETE SET NULL;
CREATE INDEX alerts_webhook_idx ON alerts (webhook_id) WHERE webhook_id IS NOT NULL;

-- A trigger now has one outbox row per channel: its email, and its webhook when the alert names one.
ALTER TABLE notifications DROP CONSTRAINT notifications_trigger_id_key;
ALTER TABLE notifications ADD CONSTRAINT notifications_trigger_channel_key UNIQUE (trigger_id, channel);
ALTER TABLE notifications ADD CONSTRAINT notifications_channel_check CHECK (channel IN ('email', 'webhook'));
ALTER TABLE notifications ADD COLUMN webhook_id bigint REFERENCES webhooks (id) ON DELETE SET NULL;

-- Every attempt to deliver a webhook: what the receiver answered (an excerpt, never the whole body).
CREATE TABLE webhook_deliveries (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  bigint      NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    attempt          integer     NOT NULL,
    status_code      integer,
    error            text,
    response_excerpt text        CHECK (length(response_excerpt) <= 500),
    duration_ms      integer     NOT NULL,
    attempted_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (notification_id, attempt)
);
