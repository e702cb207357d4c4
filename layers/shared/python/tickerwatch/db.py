"""Postgres connections: one per execution environment in Lambda, opened lazily and reused.

Lambda keeps its connection across invocations; when the server closed it (idle timeout,
failover, a restart, a SnapStart restore) the unit of work is retried once on a fresh
connection. Nothing has been committed at that point, so the retry cannot double-apply.

A statement run a fifth time on a connection becomes a server-side prepared statement (psycopg's
default): Postgres then skips parsing and planning it, which measured about half of its CPU a read
(bench/load.py). PgBouncer in transaction mode routes them from 1.21 on (``max_prepared_statements``);
``DATABASE_PREPARED_STATEMENTS=false`` turns them off for a pooler that cannot.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib import resources
from typing import TypeVar

import psycopg
from psycopg.rows import dict_row

from tickerwatch.observability import logger

T = TypeVar("T")
Connection = psycopg.Connection


PREPARE_AFTER = 5  # executions on a connection (psycopg's default)


def connect(url: str, *, autocommit: bool = False, prepared_statements: bool = True) -> Connection:
    threshold = PREPARE_AFTER if prepared_statements else None
    return psycopg.connect(
        url, autocommit=autocommit, prepare_threshold=threshold, row_factory=dict_row, connect_timeout=10
    )


def _plan_went_stale(error: BaseException) -> bool:
    """A migration changed what a prepared statement returns: Postgres refuses the statement on that
    connection from then on (psycopg keeps its name), so the connection must be dropped."""
    return isinstance(error, psycopg.errors.FeatureNotSupported) and "cached plan" in str(error)


class Database:
    """Hands out connections for units of work and keeps a few idle ones for reuse.

    Lambda runs one request at a time, so it keeps exactly one connection. The local server
    runs requests on a thread pool; it opens as many as run at once and keeps up to ``max_idle``
    (opening a Postgres connection costs more than most requests: with 4 kept, load turned every
    request into a new backend).
    """

    def __init__(self, url: str | Callable[[], str], *, max_idle: int = 32, prepared_statements: bool = True):
        self._url_source = url
        self.prepared_statements = prepared_statements
        self._url: str | None = url if isinstance(url, str) else None
        self._idle: list[Connection] = []
        self._lock = threading.Lock()
        self._generation = 0
        self.max_idle = max_idle

    @property
    def url(self) -> str:
        if self._url is None:
            assert callable(self._url_source)
            self._url = self._url_source()
        return self._url

    def _checkout(self) -> tuple[Connection, int]:
        with self._lock:
            generation = self._generation
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    return conn, generation
        return connect(self.url, prepared_statements=self.prepared_statements), generation

    def _checkin(self, conn: Connection, generation: int) -> None:
        if not conn.closed and not conn.broken:
            with self._lock:
                if generation == self._generation and len(self._idle) < self.max_idle:
                    self._idle.append(conn)
                    return
        conn.close()

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction and commit; retry once if the connection was dead."""
        return self._run(work, autocommit=False)

    def one(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` that is one statement (a read, or a single self-contained write) without a
        transaction around it: one round trip instead of three (BEGIN, the statement, COMMIT),
        which is most of a cheap request's cost."""
        return self._run(work, autocommit=True)

    def _run(self, work: Callable[[Connection], T], *, autocommit: bool) -> T:
        for attempt in (1, 2):
            conn, generation = self._checkout()
            try:
                if conn.autocommit != autocommit:
                    conn.autocommit = autocommit
                result = work(conn)
            except psycopg.OperationalError:
                self._rollback(conn)
                self._checkin(conn, generation)
                if conn.broken and attempt == 1:
                    # A server that went away took every kept connection with it: the retry must
                    # get a new one, not the next dead one from the idle list.
                    self.close_all()
                    logger.warning("database connection lost; reconnecting once")
                    continue
                raise
            except BaseException as error:
                if _plan_went_stale(error):
                    conn.close()
                    # The schema change staled the statement on every connection kept, not only this one.
                    self.close_all()
                    if attempt == 1:
                        logger.warning("a prepared statement outlived a schema change; reconnecting once")
                        continue
                    raise
                self._rollback(conn)
                self._checkin(conn, generation)
                raise
            try:
                if not autocommit:
                    conn.commit()
            finally:
                self._checkin(conn, generation)
            return result
        raise AssertionError("unreachable")

    @contextmanager
    def session_lock(self, key: int, *, wait_seconds: float) -> Iterator[bool]:
        """Hold a session-level advisory lock on a connection of its own for the ``with`` block;
        yields False when another session kept it for ``wait_seconds``."""
        conn = connect(self.url, autocommit=True)
        try:
            conn.execute(f"SET lock_timeout = '{int(wait_seconds * 1000)}ms'")
            try:
                conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            except psycopg.errors.LockNotAvailable:
                yield False
                return
            try:
                yield True
            finally:
                with suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
        finally:
            conn.close()

    def ping(self) -> bool:
        try:
            return self.one(lambda conn: conn.execute("SELECT 1 AS ok").fetchone()["ok"] == 1)
        except psycopg.Error:
            return False

    def _rollback(self, conn: Connection) -> None:
        if not conn.closed and not conn.broken:
            with suppress(psycopg.Error):
                conn.rollback()

    def close_all(self) -> None:
        """Close the idle connections and retire the ones in use (after a SnapStart restore, at shutdown)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._generation += 1
        for conn in idle:
            with suppress(psycopg.Error):
                conn.close()


def paged(conn: Connection, select: str, params, count: str, offset: int) -> tuple[int, list[dict]]:
    """A page and the total in one round trip: ``select`` carries ``count(*) OVER () AS _total``.
    Only a page past the end (no rows to carry the total) costs a second query."""
    rows = conn.execute(select, params).fetchall()
    past_the_end = conn.execute(count, params).fetchone()["n"] if offset and not rows else 0
    total = rows[0]["_total"] if rows else past_the_end
    for row in rows:
        del row["_total"]
    return total, rows


# ---------------------------------------------------------------- migrations

MIGRATION_LOCK_KEY = 7_320_114_501  # arbitrary, fixed: serialises concurrent migrators


def migration_files() -> list[tuple[int, str, str]]:
    files = []
    for entry in resources.files("tickerwatch.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            files.append((version, entry.name, entry.read_text(encoding="utf-8")))
    files.sort()
    versions = [v for v, _, _ in files]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number: {versions}")
    return files


def migrate(url: str) -> list[str]:
    """Apply pending migrations in order, in one transaction; returns the names applied."""
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        applied = {row["version"] for row in conn.execute("SELECT version FROM schema_migrations")}
        done = []
        for version, name, sql in migration_files():
            if version in applied:
                continue
            conn.execute(sql)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
            done.append(name)
        from tickerwatch.data.market import load_sessions  # data/ imports this module

        if load_sessions(conn):
            logger.info("loaded the exchange calendar's sessions")
        conn.commit()
    for name in done:
        logger.info("applied migration", extra={"migration": name})
    return done
