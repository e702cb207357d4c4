"""fetch_prices: each minute of every session from EventBridge Scheduler (a cron in New York time),
fetching again within the minute every FETCH_INTERVAL_SECONDS; or invoked directly with
``{"tickers": [...], "backfill": true}`` (the predict function does this for a new ticker).
After each commit it pushes the moved quotes to the live channel and announces the symbols
("prices.changed") so alerts are judged and orders matched at once."""

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tickerwatch.ingest import fetch_in_session, fetch_prices
from tickerwatch.observability import instrument_job
from tickerwatch.runtime import get_database, get_market_data, live_price_publisher, price_change_publisher
from tickerwatch.settings import get_settings

settings = get_settings()


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
    scheduled = isinstance(event, dict) and event.get("source") == "aws.scheduler"
    in_aws = bool(settings.lambda_function_name)  # locally the server's scheduler decides when

    def fetch_once():
        return fetch_prices(
            get_database(),
            get_market_data(),
            request.tickers,
            backfill=request.backfill,
            on_changed=price_change_publisher(),
            on_quotes=live_price_publisher(),
        )

    if not (scheduled and in_aws):
        return fetch_once().as_dict()
    runs = fetch_in_session(fetch_once, datetime.now(UTC), settings.session_fetch_interval_seconds)
    if not runs:
        return {"skipped": "no session now (a holiday, an early close, or past the closing quote)"}
    return {**runs[-1].as_dict(), "fetches": len(runs)}
