"""Predictions: a forecast for a ticker, and the signed-in user's prediction history."""

from fastapi import Depends, Response

from tickerwatch import predict as prediction
from tickerwatch.dependencies import Backfill, Db, Models
from tickerwatch.runtime import get_forecasters
from tickerwatch.schemas.predict import (
    PredictionOut,
    PredictionPage,
    PredictRequest,
)
from tickerwatch.settings import get_settings
from tickerwatch.web import (
    CurrentUser,
    Limit,
    Offset,
    ResourceId,
    create_app,
    documented_errors,
    lambda_handler,
    links,
    throttle,
)

get_settings()  # fail at cold start on bad configuration
get_forecasters()  # load the weights at init (inside the SnapStart snapshot), not on the first request


app = create_app("tickerwatch predict")


@app.post(
    "/api/v1/predict/",
    response_model=PredictionOut,
    response_model_by_alias=True,
    responses=documented_errors(404, 422),
    dependencies=[Depends(throttle("predict", "rate_limit_predict_per_user", by="user"))],
    openapi_extra=links(200, "prediction_id", "/api/v1/predictions/{prediction_id}/"),
)
def predict(db: Db, models: Models, backfill: Backfill, body: PredictRequest, user: CurrentUser) -> Response:
    answer = prediction.predict_json(
        db,
        models,
        backfill,
        user_id=user.id,
        ticker=body.ticker,
        horizon=body.horizon,
        plots=body.plots,
    )
    return Response(answer, media_type="application/json")


@app.get("/api/v1/predictions/", response_model=PredictionPage, response_model_by_alias=True)
def history(
    db: Db,
    user: CurrentUser,
    limit: Limit = 20,
    offset: Offset = 0,
) -> dict:
    return prediction.history(db, user.id, limit, offset)


@app.get(
    "/api/v1/predictions/{prediction_id:int}/",
    response_model=PredictionOut,
    response_model_by_alias=True,
    responses=documented_errors(404),
)
def detail(db: Db, prediction_id: ResourceId, user: CurrentUser) -> Response:
    body = prediction.history_detail_json(db, user.id, prediction_id)
    return Response(body, media_type="application/json")


handler = lambda_handler(app)
