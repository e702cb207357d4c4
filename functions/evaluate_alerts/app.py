"""evaluate_alerts: every 5 minutes from EventBridge Scheduler (and `tickerwatch evaluate-alerts`)."""

from tickerwatch.alerts import evaluate_alerts
from tickerwatch.observability import instrument_job
from tickerwatch.runtime import get_database, get_email_sender
from tickerwatch.settings import get_settings

settings = get_settings()


@instrument_job
def handler(event, context):
    summary = evaluate_alerts(
        get_database(),
        get_email_sender(),
        max_price_age_minutes=settings.max_price_age_minutes,
        max_attempts=settings.email_max_attempts,
    )
    return summary.as_dict()
