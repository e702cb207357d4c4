"""A warm pytest host for the mutation runner: the libraries load once, each run is a fresh fork.

Starting Python, pytest with its plugins and the libraries tickerwatch uses (FastAPI, boto3, moto,
numpy, schemathesis) costs about 2 s of CPU a run, more than most killing tests take. The host
imports those once; each run forks a child that imports the (mutated) copy of tickerwatch and the
test modules itself, so nothing of the code under test is shared between runs. The host never
imports tickerwatch or a test module, which it checks before serving.

Protocol: one JSON request a line on stdin, ``{"cwd", "args", "env", "log", "result", "timeout"}``;
one reply a line on stdout, ``{"code"}`` (pytest's exit status, -1 after a timeout, which kills the
run's process group). The run's output goes to ``log``, and ``{"failed": the first failing test's
node id}`` to ``result``.

    python tests/mutants/host.py     (started by tests/mutants/run.py, one per worker)
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import signal
import sys
import time
import warnings

# Third-party only: what the tests and tickerwatch import at their start-up, heaviest first.
WARM = [
    "pytest",
    "_pytest.assertion.rewrite",
    "schemathesis",
    "schemathesis.pytest.xdist",  # its plugin imports these at each session's configure and finish
    "schemathesis.reporting.html.writer",
    "hypothesis",
    "moto",
    "moto.core.models",
    "boto3",
    "botocore.session",
    "fastapi",
    "fastapi.openapi.models",
    "starlette.applications",
    "pydantic",
    "httpx",
    "numpy",
    "matplotlib",
    "sklearn.ensemble",  # the direction model's tests fit small forests
    "scipy.stats",  # the Diebold-Mariano test's independent check
    "psycopg",
    "psycopg_pool",
    "jwt",
    "argon2",
    "uvicorn",
    "mangum",
    "email_validator",
    "standardwebhooks",
    "psutil",
    "yaml",
    "pytest_timeout",
    "exchange_calendars",  # the reference calendar (1.9 s to import)
    "websockets.sync.client",
]


def warm() -> None:
    from importlib.metadata import entry_points

    plugins = [entry.value.split(":")[0] for entry in entry_points(group="pytest11")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in [*WARM, *plugins]:
            with contextlib.suppress(ImportError):
                importlib.import_module(name)
        with contextlib.suppress(ImportError):  # built once here, the calendar is a lookup in every fork
            import exchange_calendars

            exchange_calendars.get_calendar("XNYS", start="2000-01-01", end="2035-12-31")
    leaked = sorted(m for m in sys.modules if m == "tickerwatch" or m.startswith(("tickerwatch.", "conftest")))
    if leaked:
        raise SystemExit(f"the host must not import code under test, but imported {leaked}")


class FirstFailure:
    """The node id of the first test that failed (pytest's summary line cannot be parsed for it:
    parameter ids may hold spaces and dashes)."""

    nodeid: str | None = None

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed and self.nodeid is None:
            self.nodeid = report.nodeid


def child(request: dict) -> None:
    """In the fork: become what `python -m pytest ARGS` in ``cwd`` with ``env`` would be, and run."""
    os.setpgrp()  # the run and whatever it starts (local servers) die together on a timeout
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    # run.py gives each version of a mutated file an mtime of its own, so cached bytecode is safe.
    sys.dont_write_bytecode = "PYTHONDONTWRITEBYTECODE" in os.environ
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:] = [request["cwd"], *paths, *(p for p in sys.path if p and p != HOST_DIR)]
    import pytest

    # The plugins were imported by the host, before pytest could rewrite their asserts: say nothing.
    args = ["-W", "ignore::pytest.PytestAssertRewriteWarning", *request["args"]]
    failures = FirstFailure()
    code = 1
    try:
        code = int(pytest.main(args, plugins=[failures]))
        with open(request["result"], "w") as result:
            json.dump({"failed": failures.nodeid}, result)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve() -> None:
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        replies.flush()
        pid = os.fork()
        if pid == 0:
            child(request)
        deadline = time.monotonic() + request["timeout"]
        code = None
        while code is None:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                code = -1
            else:
                time.sleep(0.02)
        replies.write(json.dumps({"code": code}) + "\n")
        replies.flush()


HOST_DIR = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__":
    warm()
    # The warm libraries are millions of objects that pytest's collections at the end of each run
    # (it looks for unraisable exceptions) would walk again: 0.3 s of a 0.85 s run. Frozen, they are
    # skipped, and the forks share their pages instead of copying them as the collector touches them.
    gc.freeze()
    serve()
