"""The alert evaluator as the README states its rules, one alert at a time, in plain Python.

A run at ``now`` looks at each symbol whose latest quote changed since the last run; a quote is
fresh when it is at most ``max_age`` market minutes old. It judges every active, unexpired alert
that is armed and whose symbol changed to a fresh quote, and every alert defined, changed or
resumed since the last run. A judged alert fires when its condition holds on its symbol's latest
quote (a fresh one); firing disarms it (a one-time alert becomes ``triggered``) and records the
trigger. Then every recurring alert that fired, whose cooldown has passed, re-arms once its plain
state (above, below, moved) is false on a fresh quote.

The conditions, on the latest quote (price p, time t) and the quote just before it (p0):
- threshold above/below: p >= / <= the threshold; crosses_above: some step between consecutive quotes
  since the symbol was last judged (from the quote it was judged on, or from p0 when that is later or
  there is none) goes from below the threshold to at or above it, onto a quote newer than the alert's
  last event (its definition, resumption or last firing); crosses_below likewise.
- duration above/below: every quote from the one in force ``duration`` minutes before t through t
  is >= / <= the threshold, and the quotes since that one have no gap over ``max_age``.
- percent_change up/down: the move from the quote in force ``window`` minutes before t is at least
  ``percent`` percent, with the same coverage rule.
- indicator: the price (or a first average) against an average of the daily closes before the
  quote's day (for p0: before p0's day); above/below/crossings as for thresholds.
- forecast: the newest bar's forecast close ``horizon`` days ahead >= / <= the threshold (judged
  when the alert is defined, changed or resumed, or a new forecast is made; a quote alone does not
  change it); or the price outside the next day's 95% band forecast from the bar before the quote's day.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from reference.calendar import NEW_YORK, market_minutes


@dataclass
class Alert:
    id: int
    symbol: str
    alert_type: str
    condition: str
    threshold_price: Decimal | None = None
    duration_minutes: int | None = None
    percent: Decimal | None = None
    window_minutes: int | None = None
    indicator: str | None = None
    period: int | None = None
    other_indicator: str | None = None
    other_period: int | None = None
    horizon: int | None = None
    recurring: bool = False
    cooldown_minutes: int = 0
    expires_at: datetime | None = None
    events_after: datetime | None = None
    status: str = "active"
    armed: bool = True
    needs_judging: bool = True
    last_triggered_at: datetime | None = None
    trigger_count: int = 0


@dataclass
class Market:
    quotes: dict[str, list[tuple[datetime, Decimal]]] = field(default_factory=dict)  # oldest first
    closes: dict[str, dict[date, Decimal]] = field(default_factory=dict)
    forecasts: dict[str, dict[date, list[dict]]] = field(default_factory=dict)

    def quote(self, symbol: str, at: datetime, price: Decimal) -> None:
        """A quote; one at the time of another replaces it (a provider's correction)."""
        kept = [q for q in self.quotes.get(symbol, []) if q[0] != at]
        self.quotes[symbol] = sorted([*kept, (at, price)], key=lambda q: q[0])

    def latest(self, symbol: str) -> tuple[datetime, Decimal] | None:
        return self.quotes.get(symbol, [None])[-1]

    def before(self, symbol: str, at: datetime) -> tuple[datetime, Decimal] | None:
        earlier = [q for q in self.quotes.get(symbol, []) if q[0] < at]
        return earlier[-1] if earlier else None

    def in_force(self, symbol: str, at: datetime) -> tuple[datetime, Decimal] | None:
        earlier = [q for q in self.quotes.get(symbol, []) if q[0] <= at]
        return earlier[-1] if earlier else None

    def last_bar_before(self, symbol: str, day: date) -> date | None:
        days = [d for d in self.closes.get(symbol, {}) if d < day]
        return max(days) if days else None

    def average(self, symbol: str, kind: str, period: int, through: date | None) -> float | None:
        if through is None:
            return None
        closes = [c for d, c in sorted(self.closes.get(symbol, {}).items()) if d <= through]
        if len(closes) < period:
            return None
        if kind == "sma":
            return float(sum(closes[-period:]) / period)
        window = closes[-4 * period :]
        ema = float(sum(window[:period]) / period)
        alpha = 2.0 / (period + 1)
        for close in window[period:]:
            ema = alpha * float(close) + (1 - alpha) * ema
        return ema


def new_york_day(at: datetime) -> date:
    return at.astimezone(NEW_YORK).date()


@dataclass
class Evaluator:
    market: Market
    max_age: int
    alerts: dict[int, Alert] = field(default_factory=dict)
    judged: dict[str, tuple[datetime, Decimal]] = field(default_factory=dict)
    since: dict[str, datetime] = field(
        default_factory=dict
    )  # this run's: the quote each moved symbol was last judged on
    triggers: list[tuple[int, int, Decimal, datetime]] = field(default_factory=list)  # alert, sequence, price, time

    def fresh(self, symbol: str, now: datetime) -> bool:
        latest = self.market.latest(symbol)
        return latest is not None and market_minutes(latest[0], now) <= self.max_age

    def covered_since(self, symbol: str, now: datetime) -> datetime:
        """The first quote after the latest gap longer than the staleness limit (the last 8 days)."""
        recent = [q[0] for q in self.market.quotes[symbol] if q[0] >= now - timedelta(days=8)]
        since = recent[0]
        for earlier, later in itertools.pairwise(recent):
            if market_minutes(earlier, later) > self.max_age:
                since = later
        return since

    # ------------------------------------------------------------ one alert's condition

    def values(self, a: Alert, latest, previous) -> tuple:
        """(subject now, subject before, reference now, reference before) of an indicator alert."""
        day = new_york_day(latest[0])
        through = self.market.last_bar_before(a.symbol, day)
        before = self.market.last_bar_before(a.symbol, new_york_day(previous[0])) if previous else None
        first_now = self.market.average(a.symbol, a.indicator, a.period, through)
        first_before = self.market.average(a.symbol, a.indicator, a.period, before)
        if a.other_indicator is None:
            return (float(latest[1]), float(previous[1]) if previous else None, first_now, first_before)
        return (
            first_now,
            first_before,
            self.market.average(a.symbol, a.other_indicator, a.other_period, through),
            self.market.average(a.symbol, a.other_indicator, a.other_period, before),
        )

    def forecast(self, a: Alert, latest) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        """(the close forecast at the horizon, the band's low and high) the alert is judged against."""
        stored = self.market.forecasts.get(a.symbol, {})
        closes = self.market.closes.get(a.symbol, {})
        if a.condition == "outside_band":
            as_of = self.market.last_bar_before(a.symbol, new_york_day(latest[0]))
        else:
            as_of = max(closes) if closes else None
        steps = stored.get(as_of)
        if not steps:
            return None, None, None
        close = Decimal(str(steps[a.horizon - 1]["close"])) if a.horizon else None
        return close, Decimal(str(steps[0]["low_95"])), Decimal(str(steps[0]["high_95"]))

    def held_throughout(self, a: Alert, latest, now: datetime) -> bool:
        start = self.market.in_force(a.symbol, latest[0] - timedelta(minutes=a.duration_minutes))
        if start is None or start[0] < self.covered_since(a.symbol, now):
            return False
        span = [p for t, p in self.market.quotes[a.symbol] if start[0] <= t <= latest[0]]
        if a.condition == "above":
            return all(p >= a.threshold_price for p in span)
        return all(p <= a.threshold_price for p in span)

    def moved(self, a: Alert, latest, now: datetime, *, covered: bool) -> bool | None:
        start = self.market.in_force(a.symbol, latest[0] - timedelta(minutes=a.window_minutes))
        if start is None:
            return None
        if covered and start[0] < self.covered_since(a.symbol, now):
            return False
        change = (latest[1] - start[1]) / start[1] * 100
        return change >= a.percent if a.condition == "up" else -change >= a.percent

    def fires(self, a: Alert, now: datetime) -> bool:
        latest = self.market.latest(a.symbol)
        if latest is None or not self.fresh(a.symbol, now):
            return False
        price, at = latest[1], latest[0]
        previous = self.market.before(a.symbol, at)
        new_event = a.events_after is None or at > a.events_after
        if a.alert_type == "threshold":
            t = a.threshold_price
            if a.condition == "above":
                return price >= t
            if a.condition == "below":
                return price <= t
            if previous is None:
                return False
            start = min(self.since.get(a.symbol, previous[0]), previous[0])
            span = [q for q in self.market.quotes[a.symbol] if start <= q[0] <= at]
            steps = [
                (p0, p1)
                for (_, p0), (t1, p1) in itertools.pairwise(span)
                if a.events_after is None or t1 > a.events_after
            ]
            if a.condition == "crosses_above":
                return any(p0 < t <= p1 for p0, p1 in steps)
            return any(p0 > t >= p1 for p0, p1 in steps)
        if a.alert_type == "duration":
            return self.held_throughout(a, latest, now)
        if a.alert_type == "percent_change":
            return bool(self.moved(a, latest, now, covered=True))
        if a.alert_type == "indicator":
            s_now, s_before, r_now, r_before = self.values(a, latest, previous)
            if s_now is None or r_now is None:
                return False
            if a.condition == "above":
                return s_now >= r_now
            if a.condition == "below":
                return s_now <= r_now
            if s_before is None or r_before is None:
                return False
            if a.condition == "crosses_above":
                return s_before < r_before and s_now >= r_now and new_event
            return s_before > r_before and s_now <= r_now and new_event
        close, low, high = self.forecast(a, latest)
        if a.condition == "outside_band":
            return low is not None and (price < low or price > high)
        if close is None:
            return False
        return close >= a.threshold_price if a.condition == "forecast_above" else close <= a.threshold_price

    def state_true(self, a: Alert, now: datetime) -> bool | None:
        """The plain state a recurring alert must leave before it re-arms; None when unknown."""
        latest = self.market.latest(a.symbol)
        if latest is None or not self.fresh(a.symbol, now):
            return None
        price = latest[1]
        if a.alert_type == "indicator":
            s_now, _, r_now, _ = self.values(a, latest, self.market.before(a.symbol, latest[0]))
            if s_now is None or r_now is None:
                return None
            return s_now >= r_now if a.condition in ("above", "crosses_above") else s_now <= r_now
        if a.alert_type == "forecast":
            close, low, high = self.forecast(a, latest)
            if a.condition == "outside_band":
                return None if low is None else (price < low or price > high)
            if close is None:
                return None
            return close >= a.threshold_price if a.condition == "forecast_above" else close <= a.threshold_price
        if a.alert_type == "percent_change":
            return self.moved(a, latest, now, covered=False)
        if a.condition in ("above", "crosses_above"):
            return price >= a.threshold_price
        return price <= a.threshold_price

    # ------------------------------------------------------------ a run

    def live(self, a: Alert, now: datetime) -> bool:
        return a.status == "active" and (a.expires_at is None or a.expires_at > now)

    def run(self, now: datetime) -> None:
        moved = set()
        self.since = {}
        for symbol in self.market.quotes:
            latest = self.market.latest(symbol)
            if self.judged.get(symbol) != latest:
                if symbol in self.judged:
                    self.since[symbol] = self.judged[symbol][0]
                self.judged[symbol] = latest
                if self.fresh(symbol, now):
                    moved.add(symbol)
        for a in sorted(self.alerts.values(), key=lambda a: a.id):
            # a forecast threshold does not depend on the price: judged when its forecast is made (or
            # the alert defined, changed or resumed), not on every quote
            on_quotes = not (a.alert_type == "forecast" and a.condition != "outside_band")
            if not self.live(a, now) or not ((a.armed and on_quotes and a.symbol in moved) or a.needs_judging):
                continue
            if a.armed and self.fires(a, now):
                latest = self.market.latest(a.symbol)
                a.armed, a.needs_judging = False, False
                a.status = "active" if a.recurring else "triggered"
                a.trigger_count += 1
                a.last_triggered_at, a.events_after = now, latest[0]
                self.triggers.append((a.id, a.trigger_count, latest[1], latest[0]))
            else:
                a.needs_judging = False
        for a in self.alerts.values():
            if (
                self.live(a, now)
                and a.recurring
                and not a.armed
                and a.last_triggered_at + timedelta(minutes=a.cooldown_minutes) <= now
                and self.state_true(a, now) is False
            ):
                a.armed = True

    def pause(self, alert_id: int) -> None:
        a = self.alerts[alert_id]
        a.status, a.needs_judging = "paused", False

    def change(self, alert_id: int, now: datetime, **fields) -> None:
        """The owner redefines the alert: a new condition, armed and judged afresh."""
        a = self.alerts[alert_id]
        for name, value in fields.items():
            setattr(a, name, value)
        a.armed, a.needs_judging, a.events_after = True, True, now

    def resume(self, alert_id: int, now: datetime) -> None:
        a = self.alerts[alert_id]
        a.status, a.armed, a.needs_judging, a.events_after = "active", True, True, now
