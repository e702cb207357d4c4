"""forecast_alerts: after the day's prices land ("prices.changed"), when forecast alerts are defined
("alerts.changed"), and hourly as a backstop, makes the forecasts that forecast alerts are judged on
(only for symbols that have them, once per new daily bar) and announces them ("forecasts.changed")."""

from tickerwatch.forecast_alerts import refresh_forecasts
from tickerwatch.observability import instrument_job
from tickerwatch.runtime import forecast_change_publisher, get_database, get_forecasters
from tickerwatch.settings import get_settings

get_settings()
get_forecasters()  # load the weights at init, not in the first run


@instrument_job
def handler(event, context):
    return refresh_forecasts(get_database(), get_forecasters(), on_forecasts=forecast_change_publisher()).as_dict()
