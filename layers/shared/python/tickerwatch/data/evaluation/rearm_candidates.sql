-- Recurring alerts that fired re-arm once their cooldown has passed and their condition is false
-- again on a fresh price; judged by the same rules, over just those alerts.
SELECT coalesce(array_agg(id), '{}') AS ids FROM alerts
 WHERE NOT armed AND status = 'active' AND recurring
   AND last_triggered_at + make_interval(mins => cooldown_minutes) <= %(now)s
