"""The predict use case: backfill an unseen ticker, reuse a cached forecast, keep user history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tickerwatch.data import predictions, prices
from tickerwatch.db import Database
from tickerwatch.errors import NotFound, UpstreamUnavailable
from tickerwatch.forecasting import METHOD_VERSION, ForecastRequest, build_forecast
from tickerwatch.market_data import normalise_symbol
from tickerwatch.model import LstmModel
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
    "forecast",
    "test_window",
    "model",
    *PLOT_KEYS,
    "series",
)


def _ordered(body: dict[str, Any]) -> dict[str, Any]:
    rank = {key: i for i, key in enumerate(RESPONSE_ORDER)}
    return dict(sorted(body.items(), key=lambda item: rank.get(item[0], len(rank))))


def predict(
    db: Database,
    model: LstmModel,
    backfill: Backfill,
    *,
    user_id: int | None,
    ticker: str,
    horizon: int,
    plots: bool,
) -> dict[str, Any]:
    symbol = normalise_symbol(ticker, "ticker")
    version = f"{model.version}/m{METHOD_VERSION}"

    def newest_bar_and_cached(conn):
        # The cache key needs only the newest bar's date; the history is read on a miss.
        day = prices.last_bar_days(conn, [symbol]).get(symbol)
        return day, predictions.find_result(conn, symbol, day, version, horizon) if day else None

    last_day, cached = db.run(newest_bar_and_cached)
    if last_day is None:
        outcome = backfill(symbol)
        if symbol not in outcome.get("succeeded", []):
            why = (outcome.get("failed") or {}).get(symbol, "no data")
            if why in ("unknown symbol", "no data returned", "no bars in range", "invalid symbol"):
                raise NotFound(f"Unknown ticker '{symbol}'.")
            raise UpstreamUnavailable(f"Could not fetch prices for '{symbol}': {why}.")
        last_day, cached = db.run(newest_bar_and_cached)

    if cached is None:
        dates, closes = db.run(lambda conn: prices.closes(conn, symbol))
        result = build_forecast(ForecastRequest(symbol, horizon), dates, closes, model)
        drawn = _draw(result) if plots else None
        cached = db.run(lambda conn: predictions.store_result(conn, symbol, dates[-1], version, horizon, result, drawn))
        hit = False
    else:
        hit = True
        if plots and cached.plots is None:
            drawn = _draw(cached.result)
            db.run(lambda conn: predictions.add_plots(conn, cached.id, drawn))
            cached = predictions.CachedResult(cached.id, cached.result, drawn)
    body: dict[str, Any] = {"cached": hit}
    if user_id is not None:  # the command line predicts for nobody in particular
        history_id, requested_at = db.run(lambda conn: predictions.record_request(conn, user_id, cached.id))
        body |= {"id": history_id, "requested_at": requested_at.isoformat()}
    metrics.add_metric(name="PredictionCacheHit" if hit else "PredictionComputed", unit="Count", value=1)
    logger.info("prediction served", extra={"ticker": symbol, "horizon": horizon, "cached": hit})
    body.update(cached.result)
    if plots and cached.plots:
        body.update(cached.plots)
    return _ordered(body)


def _draw(result: dict[str, Any]) -> dict[str, str]:
    from tickerwatch.plots import draw_plots

    return draw_plots(result)


def history(db: Database, user_id: int, limit: int, offset: int) -> dict[str, Any]:
    total, entries = db.run(lambda conn: predictions.history_page(conn, user_id, limit, offset))
    items = []
    for e in entries:
        summary = {k: v for k, v in e.result.items() if k != "series"}
        items.append(_ordered({"id": e.id, "requested_at": e.requested_at.isoformat(), **summary}))
    return {"count": total, "limit": limit, "offset": offset, "results": items}


def history_detail(db: Database, user_id: int, prediction_id: int) -> dict[str, Any]:
    entry = db.run(lambda conn: predictions.history_entry(conn, user_id, prediction_id))
    if entry is None:
        raise NotFound("Prediction not found.")
    return {
        "id": entry.id,
        "requested_at": entry.requested_at.isoformat(),
        **entry.result,
        **(entry.plots or {}),
    }
