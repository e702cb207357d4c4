-- Paper fills as a broker settles them (issue 29).
--
-- * Rounding never makes money: a buy's notional is rounded up to the cent, a sale's down, so
--   25 buys of 0.000004 share at $1,000 cost 0.25 and their sale pays 0.10.
-- * A fill is never stamped before its order was submitted or before a reset the account saw first
--   (a matching run's clock can be older than an order that committed while the run waited).
-- * When several orders of an account are reached by one matching run, they fill in the order they
--   were reached, then placed; their own reservations no longer hold cash back from one another
--   (``p_released``), so buy stops that gapped past the cash fill first placed, first served.
-- * A resting order is matched against every quote since it was last judged, not only the latest:
--   ``arrival_quote_at`` and ``arrival_price`` are the quote it was judged on when placed; later quotes
--   (and that quote corrected) are what it rests on.
-- * The outbox knows which claimed notifications were handed to a provider (``handed_over_at``): one
--   claimed by a dispatcher that died before handing it over can be sent at once, never twice.

ALTER TABLE paper_orders ADD COLUMN arrival_quote_at timestamptz, ADD COLUMN arrival_price numeric(18, 6);
ALTER TABLE notifications ADD COLUMN handed_over_at timestamptz;

DROP FUNCTION paper_fill(bigint, numeric, timestamptz, timestamptz, boolean);

CREATE FUNCTION paper_fill(p_order_id bigint, p_price numeric, p_quoted_at timestamptz, p_now timestamptz,
                           p_notify boolean, p_released bigint[] DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    o           paper_orders%ROWTYPE;
    a           paper_accounts%ROWTYPE;
    p           paper_positions%ROWTYPE;
    notional    numeric(20, 2);
    basis       numeric(20, 2) := 0;
    held_back   numeric(20, 2);
    v_at        timestamptz;  -- when it filled
    new_fill_id bigint;
BEGIN
    SELECT user_id INTO o.user_id FROM paper_orders WHERE id = p_order_id;
    SELECT * INTO a FROM paper_accounts WHERE user_id = o.user_id FOR UPDATE;
    SELECT * INTO o FROM paper_orders WHERE id = p_order_id FOR UPDATE;
    IF NOT FOUND OR o.status <> 'open' THEN
        RETURN NULL;
    END IF;
    v_at := greatest(p_now, o.submitted_at, a.reset_at);
    IF o.side = 'buy' THEN
        notional := ceil(o.qty * p_price * 100) / 100;
        SELECT coalesce(sum(reserved_cash), 0) INTO held_back
          FROM paper_orders
         WHERE user_id = o.user_id AND status = 'open' AND id <> o.id AND id <> ALL (p_released);
        IF a.cash - held_back < notional THEN
            UPDATE paper_orders
               SET status = 'canceled', canceled_at = v_at, reserved_cash = 0,
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
        notional := floor(o.qty * p_price * 100) / 100;
        SELECT * INTO p FROM paper_positions WHERE user_id = o.user_id AND symbol = o.symbol FOR UPDATE;
        IF NOT FOUND OR p.qty < o.qty THEN  -- its shares were reserved; kept as a guard, never a short
            UPDATE paper_orders
               SET status = 'canceled', canceled_at = v_at,
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
       SET status = 'filled', filled_qty = o.qty, filled_avg_price = p_price, filled_at = v_at, reserved_cash = 0
     WHERE id = o.id;
    INSERT INTO paper_fills (order_id, user_id, symbol, side, qty, price, notional, realized_pl, quoted_at, filled_at)
    VALUES (o.id, o.user_id, o.symbol, o.side, o.qty, p_price, notional,
            CASE WHEN o.side = 'sell' THEN notional - basis ELSE 0 END, p_quoted_at, v_at)
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
