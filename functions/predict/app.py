"""Predictions: a forecast for a ticker, and the signed-in user's prediction history."""

from datetime import date, datetime

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tickerwatch import predict as prediction
from tickerwatch.runtime import get_backfill, get_database, get_model
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    CurrentUser,
    Limit,
    Offset,
    ResourceId,
    TickerSymbol,
    create_app,
    documented_errors,
    json_int,
    lambda_handler,
    throttle,
)

get_settings()  # fail at cold start on bad configuration
get_model()  # load the weights at init (inside the SnapStart snapshot), not on the first request


class Metrics(BaseModel):
    mse: float
    rmse: float
    r2: float
    mae: float
    mape: float
    directional_accuracy: float | None


class Baseline(Metrics):
    name: str


class ForecastPoint(BaseModel):
    date: date
    close: float
    low_80: float
    high_80: float
    low_95: float
    high_95: float


class Coverage(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    within_80: float | None = Field(alias="80")
    within_95: float | None = Field(alias="95")
    evaluated_points: int


class BandScores(BaseModel):
    coverage_80: float | None = Field(None, description="Share of held-out prices inside the 80% band.")
    coverage_95: float | None = None
    width_80_pct: float | None = Field(None, description="Mean width of the 80% band, in % of the price.")
    width_95_pct: float | None = None
    winkler_80_pct: float | None = Field(
        None, description="Mean interval (Winkler) score of the 80% band, in % of the price: lower is better."
    )
    winkler_95_pct: float | None = None


class StepBands(BandScores):
    step: int = Field(description="Trading days ahead.")
    evaluated: int = Field(description="Held-out origins measured (each band formed before its outcome).")
    random_walk: BandScores | None = Field(None, description="The comparator: a band from recent volatility alone.")


class Bands(BaseModel):
    method: str
    comparator: str
    per_step: list[StepBands]


class TestWindow(BaseModel):
    start: date
    end: date
    days: int
    after_training_end: date | None


class ModelInfo(BaseModel):
    name: str
    version: str
    window: int
    trained_on: dict[str, dict[str, str]]


class TestSeries(BaseModel):
    dates: list[date]
    actual: list[float]
    predicted: list[float]


class Series(BaseModel):
    dates: list[date]
    close: list[float]
    ma_100: list[float | None]
    ma_200: list[float | None]
    test: TestSeries


class PredictionSummary(Metrics):
    status: str
    id: int | None = None
    requested_at: datetime | None = None
    ticker: str
    as_of: date
    horizon: int
    baseline: Baseline
    interval_coverage: Coverage
    bands: Bands | None = None  # absent from forecasts computed before calibrated bands
    forecast: list[ForecastPoint]
    test_window: TestWindow
    model: ModelInfo


class PredictionOut(PredictionSummary):
    cached: bool | None = None
    plot_img: str | None = None
    plot_100_dma: str | None = None
    plot_200_dma: str | None = None
    plot_prediction: str | None = None
    series: Series


class PredictionPage(BaseModel):
    count: int
    limit: int
    offset: int
    results: list[PredictionSummary]


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticker: TickerSymbol
    horizon: json_int(1, 30) = 5
    plots: StrictBool = True


app = create_app("tickerwatch predict")


@app.post(
    "/api/v1/predict/",
    response_model=PredictionOut,
    response_model_by_alias=True,
    responses=documented_errors(404, 422),
    dependencies=[Depends(throttle("predict", "rate_limit_predict_per_user", by="user"))],
)
def predict(body: PredictRequest, user: CurrentUser) -> Response:
    answer = prediction.predict_json(
        get_database(),
        get_model(),
        get_backfill(),
        user_id=user.id,
        ticker=body.ticker,
        horizon=body.horizon,
        plots=body.plots,
    )
    return Response(answer, media_type="application/json")


@app.get("/api/v1/predictions/", response_model=PredictionPage, response_model_by_alias=True)
def history(
    user: CurrentUser,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict:
    return prediction.history(get_database(), user.id, limit, offset)


@app.get(
    "/api/v1/predictions/{prediction_id:int}/",
    response_model=PredictionOut,
    response_model_by_alias=True,
    responses=documented_errors(404),
)
def detail(prediction_id: ResourceId, user: CurrentUser) -> Response:
    body = prediction.history_detail_json(get_database(), user.id, prediction_id)
    return Response(body, media_type="application/json")


handler = lambda_handler(app)
