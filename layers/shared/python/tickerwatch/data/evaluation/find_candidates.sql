-- Step one of a run: what to judge, and the changes it judges (handed to step two, whose plan then
-- knows how few alerts it touches and reads them by primary key).
WITH
-- include: changed.sql
SELECT (SELECT coalesce(array_agg(id), '{}') FROM to_judge) AS ids,
       (SELECT count(*) FROM changed_all) AS symbols_changed,
       (SELECT count(*) FROM changed_all ch JOIN freshness f ON f.quoted_at = ch.quoted_at WHERE NOT f.fresh)
           AS skipped_stale,
       coalesce(array_agg(ch.symbol ORDER BY ch.symbol), '{}') AS symbols,
       coalesce(array_agg(ch.quoted_at ORDER BY ch.symbol), '{}') AS quoted,
       coalesce(array_agg(ch.price ORDER BY ch.symbol), '{}') AS prices,
       coalesce(array_agg(ch.since ORDER BY ch.symbol), '{}') AS since,
       coalesce(array_agg(f.fresh ORDER BY ch.symbol), '{}') AS fresh
  FROM changed_all ch JOIN freshness f ON f.quoted_at = ch.quoted_at
