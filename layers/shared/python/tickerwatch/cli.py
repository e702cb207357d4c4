"""The ``tickerwatch`` command: the local stack and the jobs, from the shell."""

from __future__ import annotations

import argparse
import json
import sys

from tickerwatch.settings import SettingsError, get_settings


def _cmd_migrate(args: argparse.Namespace) -> int:
    from tickerwatch.db import migrate
    from tickerwatch.runtime import get_database

    applied = migrate(get_database().url)
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from tickerwatch.db import migrate
    from tickerwatch.local import SCHEDULES, Scheduler, build_local_app, function_names
    from tickerwatch.runtime import get_database

    settings = get_settings()
    url = get_database().url
    migrate(url)
    app = build_local_app(settings.cors_allowed_origins)
    scheduler = None
    if not args.no_jobs:
        jobs = {job: minutes for job, minutes in SCHEDULES.items() if job in function_names()}
        scheduler = Scheduler(jobs)
        scheduler.start()
    where = "DATABASE_URL" if settings.database_url else f"embedded Postgres in {settings.data_dir / 'pg'}"
    print(f"tickerwatch: http://{args.host}:{args.port}/docs  (database: {where})", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        if scheduler:
            scheduler.stop()
    return 0


def _run_job(name: str, event: dict) -> int:
    from tickerwatch.events import LocalContext
    from tickerwatch.local import load_function

    result = load_function(name).handler(event, LocalContext(name))
    print(json.dumps(result, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tickerwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve every endpoint and run the scheduled jobs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-jobs", action="store_true", help="do not run the scheduled jobs")
    serve.add_argument("--log-level", default="info")
    serve.set_defaults(func=_cmd_serve)

    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=_cmd_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        get_settings()
    except SettingsError as exc:
        print(f"tickerwatch: {exc}", file=sys.stderr)
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
