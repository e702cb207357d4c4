"""A database clock a test can set: on connections opened with ``clocked_url``, ``now()`` answers the
set time (Postgres looks the name up in ``test_clock`` before ``pg_catalog``; ``statement_timestamp()``
too, which the evaluator reads once it holds its lock), so the API, the jobs
and the SQL they run all see one moment the test chooses: a Friday after the close, a weekend, the
second before a session ends. Column defaults keep the real time (they were bound when the table
was made); nothing the tests compare depends on them."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import psycopg

INSTALL = """
CREATE SCHEMA IF NOT EXISTS test_clock;
CREATE TABLE IF NOT EXISTS test_clock.frozen (at timestamptz);
CREATE OR REPLACE FUNCTION test_clock.now() RETURNS timestamptz LANGUAGE sql STABLE AS
    $$ SELECT coalesce((SELECT max(at) FROM test_clock.frozen), pg_catalog.now()) $$;
CREATE OR REPLACE FUNCTION test_clock.statement_timestamp() RETURNS timestamptz LANGUAGE sql STABLE AS
    $$ SELECT coalesce((SELECT max(at) FROM test_clock.frozen), pg_catalog.statement_timestamp()) $$;
DELETE FROM test_clock.frozen;
INSERT INTO test_clock.frozen VALUES (NULL);
"""


def clocked_url(url: str) -> str:
    options = quote("-c search_path=test_clock,pg_catalog,public")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


class Clock:
    """The time ``now()`` answers on clocked connections; the real time until set, and after release."""

    def __init__(self, url: str):
        self._conn = psycopg.connect(url, autocommit=True)
        self._conn.execute(INSTALL)
        self.now: datetime | None = None

    def set(self, when: datetime) -> datetime:
        self._conn.execute("UPDATE test_clock.frozen SET at = %s", (when,))
        self.now = when
        return when

    def release(self) -> None:
        self._conn.execute("UPDATE test_clock.frozen SET at = NULL")
        self._conn.close()
        self.now = None
