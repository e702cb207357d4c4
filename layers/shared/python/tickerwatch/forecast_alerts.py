"""The forecasts forecast alerts are judged on: made once per symbol and new daily bar, only for
symbols that have such alerts, by the function that holds the model; the evaluator judges them in
SQL and never loads the model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from tickerwatch import predict
from tickerwatch.data import forecasts as store
from tickerwatch.db import Database
from tickerwatch.errors import DomainError
from tickerwatch.forecasting import Forecasters
from tickerwatch.observability import logger, metrics


@dataclass
class ForecastRun:
    forecast: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"forecast": self.forecast, "failed": self.failed}


def _no_backfill(symbol: str) -> dict:
    return {"succeeded": [], "failed": {symbol: "no daily bars yet"}}


def refresh_forecasts(
    db: Database, forecasters: Forecasters, *, on_forecasts: Callable[[list[str]], object] | None = None
) -> ForecastRun:
    """Forecast every symbol that is due, through the prediction cache (a user's /predict/ for the same
    bar and horizon is then served from it, and the reverse); tell ``on_forecasts`` which symbols have
    new forecasts so their alerts are judged at once."""
    run = ForecastRun()
    for due in db.one(store.due):
        try:
            result = predict.predict(db, forecasters, _no_backfill, ticker=due.symbol, horizon=due.horizon, plots=False)
        except DomainError as exc:  # too little history, for one: told on the alert, retried on the next bar
            db.run(lambda conn, due=due, why=exc.detail: store.store(conn, due, None, why))
            run.failed[due.symbol] = exc.detail
            continue
        steps = [
            {"day": p["date"], "close": p["close"], "low_95": p["low_95"], "high_95": p["high_95"]}
            for p in result["forecast"]
        ]
        db.run(lambda conn, due=due, steps=steps: store.store(conn, due, steps, None))
        run.forecast.append(due.symbol)
    if run.forecast and on_forecasts:
        on_forecasts(run.forecast)
    metrics.add_metric(name="AlertForecastsMade", unit="Count", value=len(run.forecast))
    metrics.add_metric(name="AlertForecastsFailed", unit="Count", value=len(run.failed))
    logger.info("forecast_alerts done", extra={"forecast": len(run.forecast), "failed": len(run.failed)})
    return run
