WITH
-- include: judge.sql
UPDATE alerts a SET armed = true, updated_at = %(now)s
  FROM evaluated e
 WHERE a.id = ANY(%(ids)s) AND a.id = e.id AND e.state_true = false AND NOT a.armed AND a.status = 'active'
