"""process_prices: on every "prices.changed", "alerts.changed" and "forecasts.changed" event, and every
5 minutes from EventBridge Scheduler for what time alone changes (also `tickerwatch process-prices`):
judges alerts, matches and expires paper orders, sends what they owe (tickerwatch.processing)."""

import time

from tickerwatch.observability import instrument_job
from tickerwatch.processing import process_prices
from tickerwatch.runtime import get_database, get_email_sender, get_live_publisher, get_webhook_poster
from tickerwatch.settings import get_settings

settings = get_settings()


# Stop claiming emails this long before the function's timeout; the rest stay pending for the next run.
SAFETY_SECONDS = 20


@instrument_job
def handler(event, context):
    summary = process_prices(
        get_database(),
        get_email_sender(),
        max_price_age_minutes=settings.max_price_age_minutes,
        max_attempts=settings.email_max_attempts,
        send_rate=settings.email_send_rate,
        send_concurrency=settings.email_concurrency,
        webhook_poster=get_webhook_poster(),
        publisher=get_live_publisher(),
        deadline=time.monotonic() + context.get_remaining_time_in_millis() / 1000 - SAFETY_SECONDS,
    )
    return summary.as_dict()
