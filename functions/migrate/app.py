"""Applies pending schema migrations; invoked once by the deploy workflow after `sam deploy`."""

from tickerwatch.db import migrate
from tickerwatch.observability import instrument_job, logger
from tickerwatch.runtime import get_database
from tickerwatch.settings import get_settings

get_settings()


@instrument_job
def handler(event, context):
    applied = migrate(get_database().url)
    logger.info("migrations done", extra={"applied": applied})
    return {"applied": applied}
