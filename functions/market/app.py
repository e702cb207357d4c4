"""The market's calendar: whether the exchange is open now, and its sessions (public, no sign-in)."""

from datetime import UTC, datetime, timedelta

from tickerwatch.market_time import NEW_YORK, market_state, sessions_in
from tickerwatch.schemas.market import ClosedDayOut, MarketOut, SessionOut, SessionsOut
from tickerwatch.settings import get_settings
from tickerwatch.web import IsoDate, create_app, documented_errors, lambda_handler

get_settings()

app = create_app("tickerwatch market")
DEFAULT_SPAN = timedelta(days=30)


@app.get("/api/v1/market/", response_model=MarketOut)
def market() -> MarketOut:
    feed = get_settings().market_data.split(":", 1)[0]
    return MarketOut.of(market_state(datetime.now(UTC)), feed)


@app.get("/api/v1/market/sessions/", response_model=SessionsOut, responses=documented_errors(400))
def sessions(start: IsoDate | None = None, end: IsoDate | None = None) -> SessionsOut:
    start = start or datetime.now(UTC).astimezone(NEW_YORK).date()
    end = end or start + DEFAULT_SPAN
    found, closed = sessions_in(start, end)
    return SessionsOut(
        start=start,
        end=end,
        sessions=[SessionOut.of(s) for s in found],
        closed=[ClosedDayOut(date=day, reason=why) for day, why in sorted(closed.items())],
    )


handler = lambda_handler(app)
