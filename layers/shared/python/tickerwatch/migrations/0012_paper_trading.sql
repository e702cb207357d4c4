-- Paper trading: an account per user with play money, positions, orders, and the fills ledger.
--
-- Money is exact: cash and cost bases in cents (numeric(20, 2)), a fill's notional rounded half up
-- to the cent as a broker settles it, quantities to 6 places, order prices to 4. The ledger
-- invariant, after any sequence of actions: cash + sum(cost_basis) = starting_cash + realized_pl,
-- cash >= the cash open buys reserve, and each position >= the shares its open sells reserve.

CREATE TABLE paper_accounts (
    user_id       bigint         PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    starting_cash numeric(20, 2) NOT NULL CHECK (starting_cash > 0),
    cash          numeric(20, 2) NOT NULL CHECK (cash >= 0),
    realized_pl   numeric(20, 2) NOT NULL DEFAULT 0,  -- since the last reset
    created_at    timestamptz    NOT NULL DEFAULT now(),
    reset_at      timestamptz    NOT NULL DEFAULT now()
);

CREATE TABLE paper_positions (
    user_id    bigint         NOT NULL REFERENCES paper_accounts (user_id) ON DELETE CASCADE,
    symbol     text           NOT NULL REFERENCES stocks (symbol),
    qty        numeric(18, 6) NOT NULL CHECK (qty > 0),
    cost_basis numeric(20, 2) NOT NULL CHECK (cost_basis >= 0),
    PRIMARY KEY (user_id, symbol)
);

CREATE TABLE paper_orders (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint         NOT NULL REFERENCES paper_accounts (user_id) ON DELETE CASCADE,
    client_order_id  text           CHECK (length(client_order_id) BETWEEN 1 AND 128),
    symbol           text           NOT NULL REFERENCES stocks (symbol),
    side             text           NOT NULL CHECK (side IN ('buy', 'sell')),
    qty              numeric(18, 6) NOT NULL CHECK (qty > 0),
    order_type       text           NOT NULL CHECK (order_type IN ('market', 'limit', 'stop')),
    limit_price      numeric(14, 4) CHECK (limit_price > 0),
    stop_price       numeric(14, 4) CHECK (stop_price > 0),
    -- the price a resting order is matched on, whichever kind it is (the matching index's key)
    trigger_price    numeric(14, 4) GENERATED ALWAYS AS (coalesce(limit_price, stop_price)) STORED,
    time_in_force    text           NOT NULL CHECK (time_in_force IN ('day', 'gtc')),
    webhook_id       bigint         REFERENCES webhooks (id) ON DELETE SET NULL,
    status           text           NOT NULL CHECK (status IN ('open', 'filled', 'canceled', 'expired')),
    -- cash an open buy holds back from buying power: qty x its limit or stop, rounded up to the cent
    reserved_cash    numeric(20, 2) NOT NULL DEFAULT 0 CHECK (reserved_cash >= 0),
    filled_qty       numeric(18, 6) NOT NULL DEFAULT 0,
    filled_avg_price numeric(18, 6),
    submitted_at     timestamptz    NOT NULL DEFAULT now(),
    expires_at       timestamptz,  -- a day order: the close of its session
    filled_at        timestamptz,
    canceled_at      timestamptz,
    expired_at       timestamptz,
    reject_reason    text,
    CHECK ((order_type = 'limit') = (limit_price IS NOT NULL)),
    CHECK ((order_type = 'stop') = (stop_price IS NOT NULL)),
    CHECK (status = 'open' OR reserved_cash = 0),
    CHECK ((status = 'filled') = (filled_at IS NOT NULL)),
    UNIQUE (user_id, client_order_id)
);
CREATE INDEX paper_orders_user_idx ON paper_orders (user_id, submitted_at DESC, id DESC);
-- Resting orders by what a quote must reach: a changed price reads only the orders it fills.
CREATE INDEX paper_orders_resting_idx ON paper_orders (symbol, side, order_type, trigger_price)
    WHERE status = 'open';
CREATE INDEX paper_orders_open_user_idx ON paper_orders (user_id, symbol) WHERE status = 'open';
CREATE INDEX paper_orders_expiry_idx ON paper_orders (expires_at) WHERE status = 'open';

-- One fill per order (orders fill whole): exactly once by construction.
CREATE TABLE paper_fills (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    bigint         NOT NULL UNIQUE REFERENCES paper_orders (id) ON DELETE CASCADE,
    user_id     bigint         NOT NULL REFERENCES paper_accounts (user_id) ON DELETE CASCADE,
    symbol      text           NOT NULL,
    side        text           NOT NULL,
    qty         numeric(18, 6) NOT NULL,
    price       numeric(18, 6) NOT NULL,
    notional    numeric(20, 2) NOT NULL,
    realized_pl numeric(20, 2) NOT NULL DEFAULT 0,
    quoted_at   timestamptz    NOT NULL,
    filled_at   timestamptz    NOT NULL
);
CREATE INDEX paper_fills_user_idx ON paper_fills (user_id, filled_at);

-- Resets, kept so the equity history can be replayed across them.
CREATE TABLE paper_resets (
    user_id  bigint      NOT NULL REFERENCES paper_accounts (user_id) ON DELETE CASCADE,
    reset_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, reset_at)
);

-- A resting order's fill is told like an alert trigger: through the same outbox.
ALTER TABLE notifications ALTER COLUMN trigger_id DROP NOT NULL;
ALTER TABLE notifications ADD COLUMN fill_id bigint REFERENCES paper_fills (id) ON DELETE CASCADE;
ALTER TABLE notifications ADD CONSTRAINT notifications_one_source CHECK ((trigger_id IS NULL) <> (fill_id IS NULL));
ALTER TABLE notifications ADD CONSTRAINT notifications_fill_channel_key UNIQUE (fill_id, channel);

-- Fill one open order at a price, or cancel it when the cash is no longer there (a buy stop that
-- gapped past its reservation). Every writer locks the account first, then the order, so a fill
-- racing a cancel, an expiry or another fill ends as exactly one of them. Returns 'filled',
-- 'canceled', or NULL when the order was no longer open.
CREATE FUNCTION paper_fill(p_order_id bigint, p_price numeric, p_quoted_at timestamptz, p_now timestamptz,
                           p_notify boolean) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o           paper_orders%ROWTYPE;
    a           paper_accounts%ROWTYPE;
    p           paper_positions%ROWTYPE;
    notional    numeric(20, 2);
    basis       numeric(20, 2) := 0;
    held_back   numeric(20, 2);
    new_fill_id bigint;
BEGIN
    SELECT user_id INTO o.user_id FROM paper_orders WHERE id = p_order_id;
    SELECT * INTO a FROM paper_accounts WHERE user_id = o.user_id FOR UPDATE;
    SELECT * INTO o FROM paper_orders WHERE id = p_order_id FOR UPDATE;
    IF NOT FOUND OR o.status <> 'open' THEN
        RETURN NULL;
    END IF;
    notional := round(o.qty * p_price, 2);
    IF o.side = 'buy' THEN
        SELECT coalesce(sum(reserved_cash), 0) INTO held_back
          FROM paper_orders WHERE user_id = o.user_id AND status = 'open' AND id <> o.id;
        IF a.cash - held_back < notional THEN
            UPDATE paper_orders
               SET status = 'canceled', canceled_at = p_now, reserved_cash = 0,
                   reject_reason = format('Insufficient buying power at fill: needs %s, has %s',
                                          to_char(notional, 'FM999,999,999,999,990.00'),
                                          to_char(a.cash - held_back, 'FM999,999,999,999,990.00'))
             WHERE id = o.id;
            RETURN 'canceled';
        END IF;
        UPDATE paper_accounts SET cash = cash - notional WHERE user_id = o.user_id;
        INSERT INTO paper_positions AS pos (user_id, symbol, qty, cost_basis)
        VALUES (o.user_id, o.symbol, o.qty, notional)
        ON CONFLICT (user_id, symbol) DO UPDATE
            SET qty = pos.qty + EXCLUDED.qty, cost_basis = pos.cost_basis + EXCLUDED.cost_basis;
    ELSE
        SELECT * INTO p FROM paper_positions WHERE user_id = o.user_id AND symbol = o.symbol FOR UPDATE;
        IF NOT FOUND OR p.qty < o.qty THEN  -- its shares were reserved; kept as a guard, never a short
            UPDATE paper_orders
               SET status = 'canceled', canceled_at = p_now,
                   reject_reason = format('Insufficient shares at fill: needs %s, has %s', o.qty, coalesce(p.qty, 0))
             WHERE id = o.id;
            RETURN 'canceled';
        END IF;
        -- the sold shares' share of the cost basis; all of it when the position closes
        basis := CASE WHEN p.qty = o.qty THEN p.cost_basis ELSE round(p.cost_basis * o.qty / p.qty, 2) END;
        UPDATE paper_accounts SET cash = cash + notional, realized_pl = realized_pl + notional - basis
         WHERE user_id = o.user_id;
        IF p.qty = o.qty THEN
            DELETE FROM paper_positions WHERE user_id = o.user_id AND symbol = o.symbol;
        ELSE
            UPDATE paper_positions SET qty = qty - o.qty, cost_basis = cost_basis - basis
             WHERE user_id = o.user_id AND symbol = o.symbol;
        END IF;
    END IF;
    UPDATE paper_orders
       SET status = 'filled', filled_qty = o.qty, filled_avg_price = p_price, filled_at = p_now, reserved_cash = 0
     WHERE id = o.id;
    INSERT INTO paper_fills (order_id, user_id, symbol, side, qty, price, notional, realized_pl, quoted_at, filled_at)
    VALUES (o.id, o.user_id, o.symbol, o.side, o.qty, p_price, notional,
            CASE WHEN o.side = 'sell' THEN notional - basis ELSE 0 END, p_quoted_at, p_now)
    RETURNING id INTO new_fill_id;
    IF p_notify THEN
        INSERT INTO notifications (fill_id, user_id, channel, recipient, webhook_id, status, next_attempt_at)
        SELECT new_fill_id, u.id, 'email', u.email, NULL,
               CASE WHEN u.email_notifications THEN 'pending' ELSE 'skipped' END, p_now
          FROM users u WHERE u.id = o.user_id
        UNION ALL
        SELECT new_fill_id, o.user_id, 'webhook', w.url, w.id, 'pending', p_now
          FROM webhooks w WHERE w.id = o.webhook_id;
    END IF;
    RETURN 'filled';
END
$$;
