"""Response models of the market's calendar."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from tickerwatch.market_time import NEW_YORK, MarketState, Session


class SessionOut(BaseModel):
    date: date
    opens_at: datetime = Field(description="UTC")
    closes_at: datetime = Field(description="UTC")
    opens_at_new_york: datetime = Field(description="The same instant in New York time, with its offset")
    closes_at_new_york: datetime
    early_close: bool = Field(description="The session closes before 16:00 New York")
    note: str = Field(description="The occasion of an early close, if any")

    @classmethod
    def of(cls, session: Session) -> "SessionOut":
        return cls(
            date=session.day,
            opens_at=session.opens_at,
            closes_at=session.closes_at,
            opens_at_new_york=session.opens_at.astimezone(NEW_YORK),
            closes_at_new_york=session.closes_at.astimezone(NEW_YORK),
            early_close=session.early_close,
            note=session.note,
        )


class MarketOut(BaseModel):
    exchange: str = "XNYS"
    now: datetime
    is_open: bool
    session: SessionOut = Field(description="The session in progress, or else the next to open")
    closed_for: str | None = Field(description="Why today holds no session (a holiday's name, or Weekend)")
    feed: str = Field(description="Where prices come from: yfinance, csv, replay or anytime")
    always_open: bool = Field(
        description="The prices move whatever the exchange's hours: the local replay open at any hour"
    )

    @classmethod
    def of(cls, state: MarketState, feed: str) -> "MarketOut":
        return cls(
            now=state.now,
            is_open=state.is_open,
            session=SessionOut.of(state.session),
            closed_for=state.closed_for,
            feed=feed,
            always_open=feed == "anytime",
        )


class ClosedDayOut(BaseModel):
    date: date
    reason: str


class SessionsOut(BaseModel):
    start: date
    end: date
    sessions: list[SessionOut]
    closed: list[ClosedDayOut] = Field(description="Weekdays in the span without a session")
