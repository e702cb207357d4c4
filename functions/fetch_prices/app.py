"""fetch_prices: every 30 minutes from EventBridge Scheduler, or invoked directly with
``{"tickers": [...], "backfill": true}`` (the predict function does this for a new ticker).
Announces the symbols whose price moved (a "prices.changed" event) so alerts are judged at once."""

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tickerwatch.ingest import fetch_prices
from tickerwatch.observability import instrument_job
from tickerwatch.runtime import get_database, get_market_data, price_change_publisher
from tickerwatch.settings import get_settings

get_settings()


class FetchRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    tickers: list[str] | None = Field(None, max_length=2000)
    backfill: bool = False


@instrument_job
def handler(event, context):
    try:
        request = FetchRequest.model_validate(event if isinstance(event, dict) else {})
    except ValidationError as exc:
        return {"error": "invalid event", "details": exc.errors(include_url=False)}
    result = fetch_prices(
        get_database(),
        get_market_data(),
        request.tickers,
        backfill=request.backfill,
        on_changed=price_change_publisher(),
    )
    return result.as_dict()
