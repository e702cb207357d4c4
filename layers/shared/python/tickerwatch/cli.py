"""The ``tickerwatch`` command: the local stack and the jobs, from the shell."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import warnings
from pathlib import Path

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
    from tickerwatch.local import build_local_app, start_jobs, web_dir
    from tickerwatch.runtime import get_database

    live = args.workers == 1  # the events emulation holds its subscribers in one process
    if live and not os.environ.get("EVENTS_HTTP_URL"):
        # the publishers (jobs, request handlers) post to this server's own emulation of AppSync Events
        os.environ["EVENTS_HTTP_URL"] = f"http://127.0.0.1:{args.port}/event"
        get_settings.cache_clear()
    settings = get_settings()
    url = get_database().url
    migrate(url)
    app = build_local_app(settings.cors_allowed_origins, live=live) if live else None
    scheduler = None if args.no_jobs else start_jobs()
    where = "DATABASE_URL" if settings.database_url else f"embedded Postgres in {settings.data_dir / 'pg'}"
    base = f"http://{args.host}:{args.port}"
    client = f"{base}/" if web_dir() else "not built (make run builds it)"
    print(f"tickerwatch: web client {client}  API docs {base}/docs  (database: {where})", flush=True)
    _say_provider()
    if scheduler:
        every = settings.local_fetch_interval_seconds
        print(f"tickerwatch: prices every {every} s; alerts judged whenever they change", flush=True)
    if settings.always_open:
        print("tickerwatch: market: a replay open at any hour (the exchange's own hours: replay:DIR)", flush=True)
    elif settings.market_data.startswith("replay:"):
        print("tickerwatch: market: a replay on the exchange's calendar (moves only in its sessions)", flush=True)
    if live:
        print(f"tickerwatch: live updates at ws://{args.host}:{args.port}/event/realtime (AppSync Events)", flush=True)
    else:
        print("tickerwatch: live updates off with --workers > 1 (clients poll)", flush=True)
    # uvicorn re-raises SIGTERM after its graceful shutdown; as a clean exit it lets the exit hooks
    # run, so the embedded Postgres stops with its last user instead of outliving it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    # proxy_headers off: the client address (rate limits) is the socket's peer, never a header.
    served = {"host": args.host, "port": args.port, "log_level": args.log_level, "proxy_headers": False}
    try:
        if args.workers > 1:  # separate processes serve requests; the jobs stay in this one
            uvicorn.run("tickerwatch.local:served_app", factory=True, workers=args.workers, **served)
        else:
            from tickerwatch.local_events import EventsFront

            uvicorn.run(EventsFront(app, app.state.events), **served)
    finally:
        if scheduler:
            scheduler.stop()
    return 0


def _say_provider() -> None:
    """Every command says where its prices come from (on stderr: stdout stays machine-readable)."""
    from tickerwatch.runtime import get_market_data

    print(f"tickerwatch: market data from {get_market_data().describe()}", file=sys.stderr, flush=True)


def _migrated() -> None:
    from tickerwatch.db import migrate
    from tickerwatch.runtime import get_database

    migrate(get_database().url)


def _run_job(name: str, event: dict) -> int:
    from tickerwatch.events import LocalContext
    from tickerwatch.local import load_function

    _migrated()
    _say_provider()
    result = load_function(name).handler(event, LocalContext(name))
    print(json.dumps(result, indent=2, default=str))
    return 0


def _cmd_fetch_prices(args: argparse.Namespace) -> int:
    event: dict = {"backfill": args.backfill}
    if args.tickers:
        event["tickers"] = args.tickers
    return _run_job("fetch_prices", event)


def _cmd_predict(args: argparse.Namespace) -> int:
    import base64
    from pathlib import Path

    from tickerwatch.predict import PLOT_KEYS, predict
    from tickerwatch.runtime import get_backfill, get_database, get_forecasters

    _migrated()
    _say_provider()
    result = predict(
        get_database(),
        get_forecasters(),
        get_backfill(),
        ticker=args.ticker,
        horizon=args.horizon,
        plots=True,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for key in PLOT_KEYS:
        path = out / f"{result['ticker']}_{key}.png"
        path.write_bytes(base64.b64decode(result.pop(key).split(",", 1)[1]))
        print(f"wrote {path}")
    full = out / f"{result['ticker']}.json"
    full.write_text(json.dumps(result, indent=2, default=str))
    print(f"wrote {full} (with the series behind the plots)")
    result.pop("series")
    print(json.dumps(result, indent=2, default=str))
    return 0


def _cmd_process_prices(args: argparse.Namespace) -> int:
    return _run_job("process_prices", {})


def _cmd_forecast_alerts(args: argparse.Namespace) -> int:
    return _run_job("forecast_alerts", {})


def _print_report(report: dict) -> None:
    for ticker, figures in report["tickers"].items():
        m, n = figures["model"], figures["naive_last_value"]
        print(
            f"{ticker}: held-out {figures['held_out']['start']}..{figures['held_out']['end']}"
            f"  RMSE model {m['rmse']:.3f} vs naive {n['rmse']:.3f}"
            f"  MAPE {m['mape']:.2f}% vs {n['mape']:.2f}%  direction {m['directional_accuracy']:.3f}"
        )
        for band in figures.get("bands", []):
            rw = band["random_walk"]
            print(
                f"  {band['step']:>2} days ahead: 80% band holds {band['coverage_80']:.1%} (random walk"
                f" {rw['coverage_80']:.1%}), 95% holds {band['coverage_95']:.1%} ({rw['coverage_95']:.1%});"
                f" width {band['width_80_pct']:.1f}% / {band['width_95_pct']:.1f}% of the price"
                f" (random walk {rw['width_80_pct']:.1f}% / {rw['width_95_pct']:.1f}%)"
            )


def _print_direction_report(report: dict) -> None:
    for ticker, figures in report["held_out"].items():
        print(
            f"{ticker} direction, walk-forward: {figures['accuracy']:.1%} right on {figures['days']} held-out days"
            f" (always the more frequent direction: {figures['majority_baseline']:.1%})"
        )
    for name, figures in report["leakage_study"].items():
        if isinstance(figures, dict):
            print(f"  {name}: {figures['accuracy']:.1%} (majority {figures['majority_baseline']:.1%})")


def _install(run_dir: Path, golden: Path | None) -> None:
    """Copy a run's weights and report into the package, and its golden vectors into the tests."""
    import shutil

    from tickerwatch.train import WEIGHTS_DIR

    for name in ("lstm.npz", "lstm_report.json", "direction.npz", "direction_report.json"):
        if (run_dir / name).exists():
            shutil.copy2(run_dir / name, WEIGHTS_DIR / name)
            print(f"installed {WEIGHTS_DIR / name}")
    if golden and (run_dir / "lstm_golden.npz").exists():
        golden.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir / "lstm_golden.npz", golden)
        print(f"installed {golden}")


def _cmd_train(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from tickerwatch.market_data import get_market_data
    from tickerwatch.train import TrainConfig, train

    config = TrainConfig(epochs=args.epochs, window=args.window)
    run_dir = Path(args.out or f"training-runs/{datetime.now(UTC):%Y%m%d-%H%M%S}")
    provider = get_market_data(args.data)
    if args.only in (None, "direction"):
        from tickerwatch.direction_training import train_and_report
        from tickerwatch.train import load_series

        _print_direction_report(train_and_report(load_series(provider, args.tickers), run_dir))
    if args.only in (None, "lstm"):
        report = train(provider, args.tickers, config, run_dir, run_dir / "lstm_golden.npz")
        _print_report(report)
    if args.install:
        _install(run_dir, Path(args.golden))
    else:
        print(f"the shipped weights are unchanged; to serve these: tickerwatch train ... --install (or copy {run_dir})")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from tickerwatch.market_data import get_market_data
    from tickerwatch.model import DEFAULT_WEIGHTS, LstmModel
    from tickerwatch.train import WEIGHTS_DIR, report_for

    model = LstmModel.load(Path(args.model) if args.model else DEFAULT_WEIGHTS)
    report = report_for(model, get_market_data(args.data), args.tickers)
    _print_report(report)
    target = (WEIGHTS_DIR if args.install else Path(args.out)) / "lstm_report.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {target}")
    if args.readme:
        from tickerwatch.train import write_served_band_table

        write_served_band_table(report, Path(args.readme))
        print(f"wrote the served-band table into {args.readme}")
    return 0


def _cmd_generate_client(args: argparse.Namespace) -> int:
    from tickerwatch.alert_kinds import client_module

    target = Path(args.out)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(client_module())
    print(f"wrote {target}")
    return 0


def _cmd_generate_calendar(args: argparse.Namespace) -> int:
    from tickerwatch.calendar_source import generate
    from tickerwatch.market_time import TABLE

    target = Path(args.out) if args.out else TABLE
    target.write_text(generate())
    print(f"wrote {target}")
    return 0


def _cmd_openapi(args: argparse.Namespace) -> int:
    import json

    from tickerwatch.local import build_local_app

    document = build_local_app([]).openapi()
    Path(args.out).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tickerwatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve every endpoint and run the scheduled jobs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-jobs", action="store_true", help="do not run the scheduled jobs")
    serve.add_argument("--log-level", default="info")
    serve.add_argument("--workers", type=int, default=1, help="HTTP worker processes (the jobs run once)")
    serve.set_defaults(func=_cmd_serve)

    sub.add_parser("migrate", help="apply pending database migrations").set_defaults(func=_cmd_migrate)

    fetch = sub.add_parser("fetch-prices", help="run the fetch_prices job now")
    fetch.add_argument("tickers", nargs="*", help="default: every tracked stock")
    fetch.add_argument("--backfill", action="store_true", help="(re)write ten years of history")
    fetch.set_defaults(func=_cmd_fetch_prices)

    # evaluate-alerts: the job's name before it was named for all it does (issue 26); scripts keep working
    sub.add_parser(
        "process-prices", aliases=["evaluate-alerts"], help="run the process_prices job now (alerts, orders, emails)"
    ).set_defaults(func=_cmd_process_prices)
    sub.add_parser(
        "forecast-alerts", help="run the forecast_alerts job now (forecasts that forecast alerts are judged on)"
    ).set_defaults(func=_cmd_forecast_alerts)

    pred = sub.add_parser("predict", help="forecast a ticker; prints the result and writes the plots")
    pred.add_argument("ticker")
    pred.add_argument("--horizon", type=int, default=5, choices=range(1, 31), metavar="1-30")
    pred.add_argument("--out", default="predictions-out", help="folder for the PNG plots")
    pred.set_defaults(func=_cmd_predict)

    train = sub.add_parser(
        "train", help="train the LSTM (PyTorch) and the direction model (scikit-learn); needs the 'train' extra"
    )
    train.add_argument("--only", choices=("lstm", "direction"), help="train one of the two (default: both)")
    train.add_argument("--data", default="csv:../shared/data", help="csv:DIR, replay:DIR or yfinance")
    train.add_argument("--tickers", nargs="+", default=["TSLA", "GOOG"])
    train.add_argument("--epochs", type=int, default=25)
    train.add_argument("--window", type=int, default=60)
    train.add_argument("--out", help="output folder (default: a new training-runs/<time>/)")
    train.add_argument(
        "--install",
        action="store_true",
        help="also replace the shipped weights, their report and the golden vectors the tests check",
    )
    train.add_argument(
        "--golden",
        default="tests/golden/lstm_golden.npz",
        help="where --install puts PyTorch's outputs on fixed inputs (checked by the tests)",
    )
    train.set_defaults(func=_cmd_train)

    report = sub.add_parser("report", help="measure a model on its held-out data: metrics, baseline, bands")
    report.add_argument("--data", default="csv:../shared/data", help="csv:DIR, replay:DIR or yfinance")
    report.add_argument("--tickers", nargs="+", default=["TSLA", "GOOG"])
    report.add_argument("--model", help="weights to measure (default: the shipped ones)")
    report.add_argument("--out", default="training-runs/report", help="where to write lstm_report.json")
    report.add_argument("--install", action="store_true", help="write it beside the shipped weights instead")
    report.add_argument("--readme", help="also rewrite the served-band table in this file (README.md)")
    report.set_defaults(func=_cmd_report)

    client = sub.add_parser("generate-client", help="write the web client's module of alert kinds")
    client.add_argument("--out", default="web/src/generated/alertKinds.js")
    client.set_defaults(func=_cmd_generate_client)

    calendar = sub.add_parser(
        "generate-calendar", help="write the exchange calendar's sessions table from exchange_calendars (dev extra)"
    )
    calendar.add_argument("--out", help="where to write it (default: the package's market_sessions.csv)")
    calendar.set_defaults(func=_cmd_generate_calendar)

    openapi = sub.add_parser("openapi", help="write the API's OpenAPI document (every function's routes)")
    openapi.add_argument("--out", default="openapi.json")
    openapi.set_defaults(func=_cmd_openapi)
    return parser


def main(argv: list[str] | None = None) -> int:
    # EMF metrics are for CloudWatch; on a terminal they drown the output (and so does the warning
    # Powertools gives for a run that had none to publish).
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    warnings.filterwarnings("ignore", message="No application metrics to publish")
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
