-- Step two: judge the candidates (``ids``) and claim the firings, each with its trigger and outbox row,
-- and move the symbols' cursors to the quotes judged. The updates join ``evaluated`` by id alone: with
-- id = ANY(ids) beside it, each of their index probes would scan the whole array (with 10,000
-- candidates, seconds).
WITH
-- include: judge.sql
, claimed AS (
    UPDATE alerts a
       SET armed = false,
           status = CASE WHEN a.recurring THEN 'active' ELSE 'triggered' END,
           trigger_count = a.trigger_count + 1,
           last_triggered_at = %(now)s,
           events_after = e.quoted_at,
           needs_judging = false,
           judged_at = %(now)s, judged_price = e.price, judged_quote_at = e.quoted_at,
           updated_at = %(now)s
      FROM evaluated e
     WHERE a.id = e.id AND e.fires AND a.armed AND a.status = 'active'
 RETURNING a.id, a.user_id, a.trigger_count, a.symbol, a.alert_type, a.condition, {condition_fields:a},
           e.observed_value, e.reference_value, e.price, e.quoted_at, a.webhook_id
),
triggers AS (
    INSERT INTO alert_triggers (alert_id, user_id, sequence, symbol, alert_type, condition, {condition_fields},
                                observed_value, reference_value, price, quoted_at, triggered_at)
    SELECT id, user_id, trigger_count, symbol, alert_type, condition, {condition_fields}, observed_value,
           reference_value, price, quoted_at, %(now)s
      FROM claimed
 RETURNING id, user_id, alert_id
),
outbox AS (
    -- the email (skipped, not left out, when the owner turned emails off), and the webhook's delivery
    INSERT INTO notifications (trigger_id, user_id, channel, recipient, webhook_id, status, next_attempt_at)
    SELECT t.id, t.user_id, 'email', u.email, NULL,
           CASE WHEN u.email_notifications THEN 'pending' ELSE 'skipped' END, %(now)s
      FROM triggers t JOIN users u ON u.id = t.user_id
    UNION ALL
    SELECT t.id, t.user_id, 'webhook', w.url, w.id, 'pending', %(now)s
      FROM triggers t JOIN claimed c ON c.id = t.alert_id JOIN webhooks w ON w.id = c.webhook_id
 RETURNING id
),
judged AS (
    -- newly defined alerts that did not fire: judged now, on this price
    UPDATE alerts a
       SET needs_judging = false, judged_at = %(now)s, judged_price = e.price, judged_quote_at = e.quoted_at
      FROM evaluated e
     WHERE a.id = e.id AND e.needs_judging AND e.fires IS NOT TRUE
 RETURNING a.id
),
cursors AS (
    INSERT INTO evaluation_cursors AS c (symbol, quoted_at, price, judged_at)
    SELECT symbol, quoted_at, price, %(now)s
      FROM unnest(%(symbols)s::text[], %(quoted)s::timestamptz[], %(prices)s::numeric[]) AS j(symbol, quoted_at, price)
    ON CONFLICT (symbol) DO UPDATE SET quoted_at = EXCLUDED.quoted_at, price = EXCLUDED.price,
                                       judged_at = EXCLUDED.judged_at
 RETURNING c.symbol
)
SELECT (SELECT count(*) FROM evaluated) AS evaluated,
       (SELECT count(*) FROM claimed) AS triggered,
       (SELECT count(*) FROM outbox) AS notifications,
       (SELECT count(*) FROM judged) AS newly_judged,
       -- what fired, for the owners' live channels once this commits
       (SELECT coalesce(json_agg(json_build_object('alert_id', id, 'user_id', user_id, 'symbol', symbol,
                                                   'price', price, 'quoted_at', quoted_at)), '[]'::json)
          FROM claimed) AS fired
