"""The predict function's request and response models."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tickerwatch.web import (
    TickerSymbol,
    json_int,
)


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
    close: float = Field(description="The served forecast's close (see `served`).")
    model_close: float | None = Field(None, description="The LSTM's own forecast, whether or not it is served.")
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


class Candidates(BaseModel):
    lstm: BandScores
    combination: BandScores


class ServedShare(BaseModel):
    random_walk: float
    lstm: float
    combination: float


class StepBands(BandScores):
    step: int = Field(description="Trading days ahead.")
    evaluated: int = Field(description="Held-out origins measured (each band formed before its outcome).")
    random_walk: BandScores | None = Field(
        None, description="The comparator: the random walk (last close) with conformal bands of its own."
    )
    candidates: Candidates | None = Field(None, description="The other candidates' bands, measured the same way.")
    served_share: ServedShare | None = Field(None, description="How often each candidate was the one served.")


class Served(BaseModel):
    forecast: Literal["random_walk", "lstm", "combination"] = Field(description="The candidate served now.")
    reason: str
    window_scores: dict[str, float | None] = Field(
        description="Each candidate's mean interval score (80% plus 95%, % of the price) that the choice compared."
    )
    settled: int = Field(description="Settled outcomes at the farthest step in the comparison window.")


class PointSkill(BaseModel):
    forecast: str
    value: float | None = Field(description="1 - the LSTM's mean squared error / the random walk's.")
    dm_statistic: float | None
    p_value: float | None = Field(description="Diebold-Mariano, two-sided: could the difference be luck?")
    evaluated: int


class BandSkill(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    within_80: float | None = Field(
        alias="80", description="1 - the served 80% band's interval score / the random walk's."
    )
    within_95: float | None = Field(alias="95")
    evaluated: int


class Skill(BaseModel):
    point: PointSkill
    band: BandSkill
    demonstrated: bool = Field(description="Positive point skill with p < 0.05.")
    summary: str = Field(description="The verdict in words, 'No demonstrated skill' when there is none.")


class DirectionModelInfo(BaseModel):
    name: str
    version: str
    features: list[str]


class Direction(BaseModel):
    as_of: date
    probability_up: float = Field(description="The next close above the last one, as the direction model sees it.")
    call: Literal["up", "down"]
    held_out_accuracy: float | None = Field(description="Share of the test window's days called right.")
    majority_baseline: float | None = Field(
        description="Share called right by always calling the direction more frequent on those days."
    )
    evaluated: int
    summary: str
    model: DirectionModelInfo


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
    served: Served | None = None  # absent from forecasts computed before the choice of forecast
    skill: Skill | None = None
    direction: Direction | None = None
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
