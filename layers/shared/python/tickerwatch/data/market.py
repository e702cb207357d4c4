"""The exchange calendar's sessions as a table, loaded from the package's market_sessions.csv."""

from __future__ import annotations

import hashlib
from datetime import time

from tickerwatch.db import Connection
from tickerwatch.market_time import TABLE, _at, _table


def load_sessions(conn: Connection) -> bool:
    """Make ``market_sessions`` hold the file's sessions; True when it had to (re)load them."""
    digest = hashlib.sha256(TABLE.read_bytes()).hexdigest()
    loaded = conn.execute("SELECT digest FROM market_calendar_source").fetchone()
    if loaded is not None and loaded["digest"] == digest:
        return False
    conn.execute("DELETE FROM market_sessions")
    with conn.cursor().copy("COPY market_sessions (day, opens_at, closes_at, note) FROM STDIN") as copy:
        for day, (opens, closes, note) in sorted(_table().rows.items()):
            if opens:
                copy.write_row((day, _at(day, time.fromisoformat(opens)), _at(day, time.fromisoformat(closes)), note))
    conn.execute(
        "INSERT INTO market_calendar_source (digest) VALUES (%s)"
        " ON CONFLICT (only_row) DO UPDATE SET digest = excluded.digest",
        (digest,),
    )
    return True
