-- The open orders each changed symbol's quotes reach, and the first quote that reached each. A
-- symbol's path is every quote since it was last judged (``since``; the latest alone for a symbol
-- never judged), the latest read from the stocks row (a corrected quote keeps its time). Orders are
-- found by ranges on the resting-order index over the path's low and high (an order no quote reached
-- is never read); each is then matched, by the quotes' primary key, on the first quote after the one
-- it was placed on (or that one corrected), a day order on quotes up to and including its session's
-- close. A limit fills at its limit price (the price passed through it), a stop at the quote that
-- triggered it. An account's orders fill in the order they were reached, then placed, and accounts in
-- id order, so concurrent runs and API calls take account locks in one order; the orders reached
-- together hold no cash back from one another.
WITH changed AS (
    SELECT * FROM unnest(%(symbols)s::text[], %(quoted)s::timestamptz[], %(prices)s::numeric[],
                         %(since)s::timestamptz[]) AS c(symbol, quoted_at, price, since)
),
span AS (
    -- each changed symbol's path, low and high: the quotes between its cursor and the latest, and the latest
    SELECT c.*, least(c.price, earlier.low) AS low, greatest(c.price, earlier.high) AS high
      FROM changed c
      CROSS JOIN LATERAL (
            SELECT min(q.price) AS low, max(q.price) AS high FROM quotes q
             WHERE q.symbol = c.symbol AND q.quoted_at > c.since AND q.quoted_at < c.quoted_at) earlier
),
reached AS (
    SELECT o.id, o.user_id, s.symbol, o.submitted_at, hit.quoted_at,
           CASE WHEN o.order_type = 'limit' THEN o.trigger_price ELSE hit.price END AS price
      FROM span s
      CROSS JOIN LATERAL (
            SELECT id, user_id, side, order_type, trigger_price, submitted_at, expires_at, arrival_quote_at,
                   arrival_price
              FROM paper_orders
             WHERE status = 'open' AND symbol = s.symbol AND side = 'buy' AND order_type = 'limit'
               AND trigger_price >= s.low
            UNION ALL
            SELECT id, user_id, side, order_type, trigger_price, submitted_at, expires_at, arrival_quote_at,
                   arrival_price
              FROM paper_orders
             WHERE status = 'open' AND symbol = s.symbol AND side = 'sell' AND order_type = 'limit'
               AND trigger_price <= s.high
            UNION ALL
            SELECT id, user_id, side, order_type, trigger_price, submitted_at, expires_at, arrival_quote_at,
                   arrival_price
              FROM paper_orders
             WHERE status = 'open' AND symbol = s.symbol AND side = 'buy' AND order_type = 'stop'
               AND trigger_price <= s.high
            UNION ALL
            SELECT id, user_id, side, order_type, trigger_price, submitted_at, expires_at, arrival_quote_at,
                   arrival_price
              FROM paper_orders
             WHERE status = 'open' AND symbol = s.symbol AND side = 'sell' AND order_type = 'stop'
               AND trigger_price >= s.low) o
      CROSS JOIN LATERAL (
            SELECT p.quoted_at, p.price
              FROM (SELECT q.quoted_at, q.price FROM quotes q
                     WHERE q.symbol = s.symbol AND q.quoted_at > s.since AND q.quoted_at < s.quoted_at
                    UNION ALL
                    SELECT s.quoted_at, s.price) p
             WHERE (p.quoted_at, p.price) IS DISTINCT FROM (o.arrival_quote_at, o.arrival_price)
               AND p.quoted_at >= coalesce(o.arrival_quote_at, '-infinity')
               AND (o.expires_at IS NULL OR p.quoted_at <= o.expires_at)
               AND CASE WHEN (o.side = 'buy') = (o.order_type = 'limit') THEN p.price <= o.trigger_price
                        ELSE p.price >= o.trigger_price END
             ORDER BY p.quoted_at LIMIT 1) hit
),
ordered AS (
    SELECT r.*, array_agg(r.id) OVER (PARTITION BY r.user_id) AS reached_together
      FROM reached r
     ORDER BY r.user_id, r.quoted_at, r.submitted_at, r.id
    OFFSET 0
)
SELECT count(*) FILTER (WHERE outcome = 'filled') AS filled,
       count(*) FILTER (WHERE outcome = 'canceled') AS canceled,
       -- each order's outcome, for its owner's live channel once this commits
       coalesce(json_agg(json_build_object('order_id', id, 'user_id', user_id, 'symbol', symbol, 'outcome', outcome))
                FILTER (WHERE outcome IN ('filled', 'canceled')), '[]'::json) AS outcomes
  FROM (SELECT id, user_id, symbol, paper_fill(id, price, quoted_at, %(now)s, true, reached_together) AS outcome
          FROM ordered) f
