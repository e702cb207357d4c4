"""The predict use case: backfill an unseen ticker, reuse a cached forecast, keep user history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tickerwatch.data import predictions, prices
from tickerwatch.db import Database
from tickerwatch.errors import NotFound, UpstreamUnavailable
from tickerwatch.forecasting import METHOD_VERSION, Forecasters, ForecastRequest, build_forecast
from tickerwatch.market_data import UNKNOWN_SYMBOL, normalise_symbol
from tickerwatch.observability import logger, metrics

# Given a symbol, write its history and report {"succeeded": [...], "failed": {symbol: why}}.
Backfill = Callable[[str], dict[str, Any]]
PLOT_KEYS = ("plot_img", "plot_100_dma", "plot_200_dma", "plot_prediction")
# jsonb does not keep key order; answer in a fixed, readable one (the bulky series last).
RESPONSE_ORDER = (
    "status",
    "id",
    "requested_at",
    "cached",
    "ticker",
    "as_of",
    "horizon",
    "mse",
    "rmse",
    "r2",
    "mae",
    "mape",
    "directional_accuracy",
    "baseline",
    "interval_coverage",
    "served",
    "skill",
    "direction",
    "forecast",
    "test_window",
    "model",
    *PLOT_KEYS,
    "series",
)


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    rank = {key: i for i, key in enumerate(RESPONSE_ORDER)}
    return dict(sorted(body.items(), key=lambda item: rank.get(item[0], len(rank))))


@dataclass(frozen=True)
class Served:
    result_id: int
    cached: bool
    symbol: str


def serve(
    db: Database, forecasters: Forecasters, backfill: Backfill, *, ticker: str, horizon: int, plots: bool
) -> Served:
    """Make sure the forecast (and its plots, when asked for) is stored; compute it only on a miss."""
    symbol = normalise_symbol(ticker, "ticker")
    version = f"{forecasters.version}/m{METHOD_VERSION}"

    def newest_bar_and_stored(conn):
        # The cache key needs only the newest bar's date; the history is read on a miss.
        day = prices.last_bar_days(conn, [symbol]).get(symbol)
        return day, predictions.find_stored(conn, symbol, day, version, horizon) if day else None

    last_day, stored = db.run(newest_bar_and_stored)
    if last_day is None:
        outcome = backfill(symbol)
        if symbol not in outcome.get("succeeded", []):
            why = (outcome.get("failed") or {}).get(symbol, "no data")
            if why in (UNKNOWN_SYMBOL, "invalid symbol"):
                raise NotFound(f"Unknown ticker '{symbol}'.")
            raise UpstreamUnavailable(f"Could not fetch prices for '{symbol}': {why}.")
        last_day, stored = db.run(newest_bar_and_stored)

    if stored is None:
        dates, closes = db.run(lambda conn: prices.closes(conn, symbol))
        result = build_forecast(
            ForecastRequest(symbol, horizon), dates, closes, forecasters.lstm, forecasters.direction
        )
        drawn = _draw(result) if plots else None
        saved = db.run(lambda conn: predictions.store_result(conn, symbol, dates[-1], version, horizon, result, drawn))
        served = Served(saved, False, symbol)
    else:
        if plots and not stored.has_plots:
            cached = db.run(lambda conn: predictions.load_result(conn, stored.id))
            drawn = _draw(cached.result)
            db.run(lambda conn: predictions.add_plots(conn, stored.id, drawn))
        served = Served(stored.id, True, symbol)
    metrics.add_metric(name="PredictionCacheHit" if served.cached else "PredictionComputed", unit="Count", value=1)
    logger.info("prediction served", extra={"ticker": symbol, "horizon": horizon, "cached": served.cached})
    return served


def predict_json(
    db: Database, forecasters: Forecasters, backfill: Backfill, *, user_id: int, ticker: str, horizon: int, plots: bool
) -> str:
    """POST /predict/: the forecast, recorded in the user's history, as the JSON the API answers."""
    served = serve(db, forecasters, backfill, ticker=ticker, horizon=horizon, plots=plots)

    def record_and_render(conn):
        history_id, _ = predictions.record_request(conn, user_id, served.result_id)
        return predictions.entry_json(conn, user_id, history_id, cached=served.cached, plots=plots)

    return db.run(record_and_render)


def predict(
    db: Database, forecasters: Forecasters, backfill: Backfill, *, ticker: str, horizon: int, plots: bool
) -> dict[str, Any]:
    """The forecast for nobody in particular (the command line), as a dict in a readable order."""
    served = serve(db, forecasters, backfill, ticker=ticker, horizon=horizon, plots=plots)
    stored = db.run(lambda conn: predictions.load_result(conn, served.result_id))
    body = {"cached": served.cached, **stored.result, **((stored.plots or {}) if plots else {})}
    return _ordered(body)


def _draw(result: dict[str, Any]) -> dict[str, str]:
    from tickerwatch.plots import draw_plots

    return draw_plots(result)


def history(db: Database, user_id: int, limit: int, offset: int) -> dict[str, Any]:
    total, entries = db.one(lambda conn: predictions.history_page(conn, user_id, limit, offset))
    items = []
    for e in entries:
        summary = {k: v for k, v in e.result.items() if k != "series"}
        items.append(_ordered({"id": e.id, "requested_at": e.requested_at.isoformat(), **summary}))
    return {"count": total, "limit": limit, "offset": offset, "results": items}


def history_detail_json(db: Database, user_id: int, prediction_id: int) -> str:
    """The stored prediction as JSON text, straight from the database."""
    body = db.one(lambda conn: predictions.entry_json(conn, user_id, prediction_id, cached=None, plots=True))
    if body is None:
        raise NotFound("Prediction not found.")
    return body
