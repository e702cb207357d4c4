"""The database's clock: the time every row of a transaction is stamped with."""

from __future__ import annotations

from datetime import datetime

from tickerwatch.db import Connection


def database_now(conn: Connection) -> datetime:
    return conn.execute("SELECT now() AS now").fetchone()["now"]
