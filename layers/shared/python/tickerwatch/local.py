"""The local stack: every function's app in one uvicorn process, and the scheduled jobs.

Routes are taken from the same ``functions/<name>/app.py`` modules that Lambda runs, so the
local server cannot drift from what is deployed. Jobs are called through their Lambda
handlers with an EventBridge-shaped event, on the schedules in ``SCHEDULES``.
"""

from __future__ import annotations

import importlib.util
import os
import random
import threading
import time
from pathlib import Path
from types import ModuleType

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from tickerwatch.events import LocalContext, scheduled_event
from tickerwatch.observability import log_context, logger
from tickerwatch.web import create_app

# Job name -> minutes between runs in AWS. template.yaml declares the same rates (a test checks).
SCHEDULES: dict[str, int] = {"process_prices": 5, "forecast_alerts": 60}
# fetch_prices in AWS: each minute of a session, New York time, to five minutes past the close (it
# skips holidays and early closes itself); locally it runs every FETCH_INTERVAL_SECONDS.
SESSION_CRONS = ("cron(30-59 9 ? * MON-FRI *)", "cron(* 10-15 ? * MON-FRI *)", "cron(0-5 16 ? * MON-FRI *)")
SCHEDULE_TIMEZONE = "America/New_York"
SCHEDULED = {*SCHEDULES, "fetch_prices"}
JOBS_ONLY = {"migrate", "rotate_jwt_secret", "events_authorizer"}  # the deploy, Secrets Manager, AppSync


def functions_dir() -> Path:
    configured = os.environ.get("TICKERWATCH_FUNCTIONS_DIR")
    if configured:
        return Path(configured)
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "functions"
            if candidate.is_dir() and any(candidate.glob("*/app.py")):
                return candidate
    raise RuntimeError("cannot find the functions/ folder; set TICKERWATCH_FUNCTIONS_DIR")


def load_function(name: str) -> ModuleType:
    path = functions_dir() / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"tickerwatch_function_{name}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def function_names() -> list[str]:
    return sorted(p.parent.name for p in functions_dir().glob("*/app.py"))


def _new_correlation_id() -> str:
    # Not uuid4: os.urandom lets go of the GIL, and the event loop then waits for a busy request thread to
    # hand it back (5.2% of the loop's samples under bench/load.py). An id needs to be unique, not secret.
    return f"{random.getrandbits(128):032x}"


class RequestLogContext:
    """Each request logs with its own correlation id (the client's X-Request-Id, or a new one), as a
    Lambda invocation would; the route adds the name of the function that serves it in AWS."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = next((v for k, v in scope.get("headers") or [] if k == b"x-request-id"), b"")
        with log_context(correlation_id=request_id.decode("latin-1")[:100] or _new_correlation_id()):
            await self.app(scope, receive, send)


# What the API answers; every other GET is the web client's (a file, or index.html for its routes).
API_PATHS = ("/api/", "/docs", "/openapi.json", "/event")


def mount_events(app: FastAPI) -> None:
    from tickerwatch.local_events import EventsHub

    authorizer = load_function("events_authorizer").handler
    hub = EventsHub(lambda request: authorizer(request, LocalContext("events_authorizer")))
    app.state.events = hub
    app.add_api_route("/event", hub.publish_endpoint, methods=["POST"], include_in_schema=False)
    app.add_api_route("/event/drop", hub.drop_endpoint, methods=["POST"], include_in_schema=False)
    app.add_api_websocket_route("/event/realtime", hub.realtime_endpoint)


IMMUTABLE = "public, max-age=31536000, immutable"  # Vite names assets/ by their content hash


def web_dir() -> Path | None:
    from tickerwatch.settings import get_settings

    configured = get_settings().web_dir
    folder = configured if configured is not None else functions_dir().parent / "web" / "dist"
    return folder.resolve() if (folder / "index.html").is_file() else None


class WebClient:
    """Serves the static web client at / as CloudFront does in AWS: files as they are, and
    index.html for any other path without a file extension (the client's own routes)."""

    def __init__(self, app, root: Path | None):
        self.app = app
        self.root = root

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or path.startswith(API_PATHS):
            await self.app(scope, receive, send)
            return
        await self.response(path)(scope, receive, send)

    def response(self, path: str):
        from starlette.responses import FileResponse, JSONResponse

        if self.root is None:
            return JSONResponse(
                {"detail": "The web client is not built: run `make run`, or `npm ci && npm run build` in web/."},
                status_code=404,
            )
        wanted = (self.root / path.lstrip("/")).resolve()
        if wanted.is_relative_to(self.root) and wanted.is_file():
            cache = IMMUTABLE if wanted.parent.name == "assets" else "no-cache"
            return FileResponse(wanted, headers={"cache-control": cache})
        if "." in path.rsplit("/", 1)[-1]:
            return JSONResponse({"detail": "Not found."}, status_code=404)
        return FileResponse(self.root / "index.html", headers={"cache-control": "no-cache"})


def build_local_app(cors_origins: list[str], live: bool = False) -> FastAPI:
    """Every function's routes; with ``live``, the AppSync Events emulation too (one process only:
    its subscribers are held in memory)."""
    app = create_app("tickerwatch (local)", docs=True)
    if live:
        mount_events(app)
    for name in function_names():
        if name in SCHEDULED or name in JOBS_ONLY:
            continue
        module = load_function(name)
        for route in module.app.router.routes:
            route.function_name = name  # what its log lines say, as in AWS
        app.include_router(module.app.router)
    app.add_middleware(RequestLogContext)
    app.add_middleware(WebClient, root=web_dir())

    _serve_docs(app)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["authorization", "content-type", "if-none-match"],
            expose_headers=["etag", "retry-after"],
            max_age=600,
        )
    return app


def served_app() -> FastAPI:
    """The app each worker process of `tickerwatch serve --workers N` builds for itself."""
    from tickerwatch.settings import get_settings

    return build_local_app(get_settings().cors_allowed_origins)


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI from files installed with the package, so /docs works offline."""
    import fastapi_offline
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="tickerwatch API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon.png",
        )


class Scheduler:
    """Runs each job at start and then every so many seconds, each in its own daemon thread; a job
    can also be woken early with an event (the evaluator, when prices change)."""

    def __init__(self, intervals: dict[str, float], first_events: dict[str, dict] | None = None):
        self.intervals = intervals
        self.first_events = first_events or {}
        self._stop = threading.Event()
        self._wake = {job: threading.Event() for job in intervals}
        self._pending: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for job, seconds in self.intervals.items():
            handler = load_function(job).handler
            thread = threading.Thread(target=self._loop, args=(job, handler, seconds), daemon=True, name=job)
            thread.start()
            self._threads.append(thread)

    def trigger(self, job: str, event: dict) -> None:
        """Run ``job`` as soon as its current run (if any) ends, with ``event``."""
        with self._lock:
            self._pending[job] = event
        self._wake[job].set()

    def _loop(self, job: str, handler, interval: float) -> None:
        event = self.first_events.get(job) or scheduled_event(job)
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                handler(event, LocalContext(job))
            except Exception:
                logger.exception("scheduled job failed", extra={"job": job})
            self._wake[job].wait(max(0.0, interval - (time.monotonic() - started)))
            with self._lock:
                self._wake[job].clear()
                event = self._pending.pop(job, None) or scheduled_event(job)

    def stop(self) -> None:
        self._stop.set()
        for wake in self._wake.values():
            wake.set()


def start_jobs() -> Scheduler:
    """The scheduled jobs of the local stack, with the evaluator subscribed to price changes."""
    from tickerwatch import bus
    from tickerwatch.settings import get_settings

    settings = get_settings()
    deployed = set(function_names())
    intervals = {job: minutes * 60.0 for job, minutes in SCHEDULES.items() if job in deployed}
    if "fetch_prices" in deployed:
        intervals["fetch_prices"] = float(settings.local_fetch_interval_seconds)
    # The replayed market moves its history to the present each day: the first run re-lays it.
    first = {"fetch_prices": {"backfill": True}} if settings.market_data.startswith(("replay:", "anytime:")) else {}
    scheduler = Scheduler(intervals, first)
    subscriptions = {
        "process_prices": (bus.PRICES_CHANGED, bus.ALERTS_CHANGED, bus.FORECASTS_CHANGED),
        "forecast_alerts": (bus.PRICES_CHANGED, bus.ALERTS_CHANGED),
    }
    for job, detail_types in subscriptions.items():
        if job in intervals:
            for detail_type in detail_types:
                bus.subscribe(detail_type, lambda event, job=job: scheduler.trigger(job, event))
    scheduler.start()
    return scheduler
