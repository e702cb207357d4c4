"""Postgres connections: one per execution environment (per thread locally), opened lazily.

Lambda keeps the connection across invocations; when the server closed it (idle timeout,
failover, a restart, a SnapStart restore) the unit of work is retried once on a fresh
connection. Nothing has been committed at that point, so the retry cannot double-apply.
``prepare_threshold=None`` keeps psycopg from creating server-side prepared statements,
which PgBouncer in transaction mode (Neon's pooled endpoint) cannot route.
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


def connect(url: str, *, autocommit: bool = False) -> Connection:
    return psycopg.connect(url, autocommit=autocommit, prepare_threshold=None, row_factory=dict_row, connect_timeout=10)


class Database:
    def __init__(self, url: str | Callable[[], str]):
        self._url_source = url
        self._url: str | None = url if isinstance(url, str) else None
        self._local = threading.local()
        self._all: list[Connection] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        if self._url is None:
            assert callable(self._url_source)
            self._url = self._url_source()
        return self._url

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            conn = connect(self.url)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def run(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction and commit; retry once if the connection was dead."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                result = work(conn)
            except psycopg.OperationalError:
                if conn.broken and attempt == 1:
                    logger.warning("database connection lost; reconnecting once")
                    self._discard(conn)
                    continue
                self._rollback(conn)
                raise
            except BaseException:
                self._rollback(conn)
                raise
            conn.commit()
            return result
        raise AssertionError("unreachable")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction without the retry, for work that must not be repeated."""
        conn = self._connection()
        if conn.broken:
            self._discard(conn)
            conn = self._connection()
        try:
            yield conn
        except BaseException:
            self._rollback(conn)
            raise
        conn.commit()

    def ping(self) -> bool:
        try:
            return self.run(lambda conn: conn.execute("SELECT 1 AS ok").fetchone()["ok"] == 1)
        except psycopg.Error:
            return False

    def _rollback(self, conn: Connection) -> None:
        if not conn.closed and not conn.broken:
            conn.rollback()

    def _discard(self, conn: Connection) -> None:
        try:
            conn.close()
        finally:
            self._local.conn = None
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)

    def close_all(self) -> None:
        """Close every connection (after a SnapStart restore, at shutdown)."""
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(psycopg.Error):
                conn.close()
        self._local = threading.local()


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
        conn.commit()
    for name in done:
        logger.info("applied migration", extra={"migration": name})
    return done
