"""Predictions: a forecast for a ticker, and the signed-in user's prediction history."""

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from tickerwatch import predict as prediction
from tickerwatch.runtime import get_backfill, get_database, get_model
from tickerwatch.settings import get_settings
from tickerwatch.web import CurrentUser, create_app, lambda_handler

get_settings()
get_model()  # load the weights at init (inside the SnapStart snapshot), not on the first request


class PredictRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticker: str = Field(min_length=1, max_length=15)
    horizon: int = Field(5, ge=1, le=30)
    plots: bool = True


app = create_app("tickerwatch predict")


@app.post("/api/v1/predict/")
def predict(body: PredictRequest, user: CurrentUser) -> dict:
    return prediction.predict(
        get_database(),
        get_model(),
        get_backfill(),
        user_id=user.id,
        ticker=body.ticker,
        horizon=body.horizon,
        plots=body.plots,
    )


@app.get("/api/v1/predictions/")
def history(
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    return prediction.history(get_database(), user.id, limit, offset)


@app.get("/api/v1/predictions/{prediction_id}/")
def detail(prediction_id: int, user: CurrentUser) -> dict:
    return prediction.history_detail(get_database(), user.id, prediction_id)


handler = lambda_handler(app)
