"""Price alerts: the rules for defining them and the owner's operations (the process_prices job judges them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from tickerwatch.alert_kinds import BY_NAME, CONDITION_FIELDS, INDICATORS
from tickerwatch.data import alerts as store
from tickerwatch.data import prices as price_store
from tickerwatch.data import webhooks as webhook_store
from tickerwatch.db import Database
from tickerwatch.errors import Conflict, InvalidInput, NotFound, Unprocessable
from tickerwatch.market_data import normalise_symbol
from tickerwatch.observability import metrics

MIN_PERIOD, MAX_PERIOD = 2, 400
MAX_HORIZON = 30
MAX_PRICE = Decimal("1000000")
# A threshold more than this factor away from the current price is a typo, not an alert.
MAX_PRICE_FACTOR = Decimal(100)
MAX_SPAN_MINUTES = 7 * 24 * 60  # durations and windows look back through at most a week of quotes
MAX_PERCENT = Decimal(1000)
MAX_COOLDOWN_MINUTES = 365 * 24 * 60


@dataclass(frozen=True)
class AlertDefinition:
    symbol: str
    alert_type: str
    condition: str
    threshold_price: Decimal | None = None
    duration_minutes: int | None = None
    percent: Decimal | None = None
    window_minutes: int | None = None
    indicator: str | None = None  # the average of daily closes the price (or other average) is judged against
    period: int | None = None
    other_indicator: str | None = None  # a second average: indicator(period) is judged against it
    other_period: int | None = None
    horizon: int | None = None  # trading days ahead of the forecast close
    recurring: bool = False
    cooldown_minutes: int = 0
    expires_at: datetime | None = None
    webhook_id: int | None = None  # also delivered to this webhook of the owner's when it fires

    def fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


def validate_definition(d: AlertDefinition, current_price: float | None, now: datetime) -> dict[str, list[str]]:
    """Every rule an alert must satisfy; returns per-field messages (empty when valid)."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    declared = BY_NAME.get(d.alert_type)
    if declared is None:
        add("alert_type", f"Must be one of: {', '.join(sorted(BY_NAME))}.")
        return errors
    condition = declared.condition(d.condition)
    if condition is None:
        names = sorted(c.name for c in declared.conditions)
        add("condition", f"For {d.alert_type} alerts, must be one of: {', '.join(names)}.")
    wanted = set(declared.fields_for(d.condition))
    optional = set(declared.optional)
    own_fields = condition is not None and condition.fields is not None  # outside_band: none of its kind's
    kind = f"{d.condition} alerts" if own_fields else f"{d.alert_type} alerts"
    for name in sorted(CONDITION_FIELDS):
        value = getattr(d, name)
        if name in wanted and value is None:
            add(name, f"This field is required for {kind}.")
        elif name not in wanted | optional and value is not None:
            add(name, f"This field does not apply to {kind}.")
    for name in ("indicator", "other_indicator"):
        if getattr(d, name) is not None and getattr(d, name) not in INDICATORS:
            add(name, f"Must be one of: {', '.join(sorted(INDICATORS))}.")
    for name in ("period", "other_period"):
        value = getattr(d, name)
        if value is not None and not MIN_PERIOD <= value <= MAX_PERIOD:
            add(name, f"Must be between {MIN_PERIOD} and {MAX_PERIOD} daily closes.")
    if (d.other_indicator is None) != (d.other_period is None) and d.alert_type == "indicator":
        missing = "other_period" if d.other_period is None else "other_indicator"
        add(missing, "other_indicator and other_period go together: give both or neither.")
    elif d.other_indicator is not None and (d.other_indicator, d.other_period) == (d.indicator, d.period):
        add("other_period", "Must differ from the first average: an average is never above or below itself.")
    if d.horizon is not None and not 1 <= d.horizon <= MAX_HORIZON:
        add("horizon", f"Must be between 1 and {MAX_HORIZON} trading days.")
    if d.threshold_price is not None:
        if d.threshold_price <= 0:
            add("threshold_price", "Must be greater than zero.")
        elif d.threshold_price > MAX_PRICE:
            add("threshold_price", f"Must be at most {MAX_PRICE}.")
        elif current_price:
            price = Decimal(str(current_price))
            if not price / MAX_PRICE_FACTOR <= d.threshold_price <= price * MAX_PRICE_FACTOR:
                add("threshold_price", f"Is more than {MAX_PRICE_FACTOR}x away from the current price ({price}).")
    for name in ("duration_minutes", "window_minutes"):
        value = getattr(d, name)
        if value is not None and not 1 <= value <= MAX_SPAN_MINUTES:
            add(name, f"Must be between 1 and {MAX_SPAN_MINUTES} minutes.")
    if d.percent is not None and not 0 < d.percent <= MAX_PERCENT:
        add("percent", f"Must be greater than 0 and at most {MAX_PERCENT}.")
    if not 0 <= d.cooldown_minutes <= MAX_COOLDOWN_MINUTES:
        add("cooldown_minutes", f"Must be between 0 and {MAX_COOLDOWN_MINUTES}.")
    if d.cooldown_minutes and not d.recurring:
        add("cooldown_minutes", "Only recurring alerts have a cooldown.")
    if d.expires_at is not None:
        if d.expires_at.tzinfo is None:
            add("expires_at", "Must include a time zone.")
        elif d.expires_at <= now:
            add("expires_at", "Must be in the future.")
    return errors


def _checked(db: Database, user_id: int, d: AlertDefinition, work):
    """Validate against the stock's current price and run ``work`` in the same transaction."""

    def run(conn):
        tracked, price = price_store.current_price(conn, d.symbol)
        if not tracked:
            raise NotFound(f"'{d.symbol}' is not tracked; start tracking it with POST /api/v1/stocks/.")
        problems = validate_definition(d, price, datetime.now(UTC))
        if d.webhook_id is not None and not webhook_store.owns_webhook(conn, user_id, d.webhook_id):
            problems.setdefault("webhook_id", []).append("You have no webhook with this id.")
        if problems:
            raise InvalidInput(problems)
        _check_history(conn, d)
        try:
            return work(conn)
        except store.DuplicateAlert:
            raise Conflict("You already have an identical active alert.") from None

    return db.run(run)


def _check_history(conn, d: AlertDefinition) -> None:
    """An average of more daily closes than the stock has could never be judged: say how many it needs."""
    if d.alert_type != "indicator":
        return
    field, period = max((("period", d.period), ("other_period", d.other_period or 0)), key=lambda fp: fp[1])
    have = price_store.daily_close_count(conn, d.symbol)
    if have < period:
        indicator = d.indicator if field == "period" else d.other_indicator
        message = (
            f"{d.symbol} has {have} daily closes; a {period}-day {INDICATORS[indicator]} needs {period} "
            f"({period - have} more)."
        )
        raise Unprocessable(message, {field: [message]})


# Judged against it when an alert's state is shown; the evaluator gets the same setting.
DEFAULT_MAX_PRICE_AGE = 120
# Told after an alert is defined, changed or resumed, so it is judged at once, not at the next
# price change or schedule (the evaluator judges only what changed).
Announce = Callable[[], object] | None


def create_alert(
    db: Database,
    user_id: int,
    definition: AlertDefinition,
    *,
    max_age: int = DEFAULT_MAX_PRICE_AGE,
    announce: Announce = None,
) -> store.AlertRow:
    d = AlertDefinition(**{**definition.fields(), "symbol": normalise_symbol(definition.symbol, "stock_symbol")})
    alert = _checked(db, user_id, d, lambda conn: store.insert_alert(conn, user_id, d.fields(), max_age))
    metrics.add_metric(name="AlertCreated", unit="Count", value=1)
    if announce:
        announce()
    return alert


def get_alert(db: Database, user_id: int, alert_id: int, *, max_age: int = DEFAULT_MAX_PRICE_AGE) -> store.AlertRow:
    alert = db.one(lambda conn: store.get_alert(conn, user_id, alert_id, max_age))
    if alert is None:
        raise NotFound("Alert not found.")
    return alert


def update_alert(
    db: Database,
    user_id: int,
    alert_id: int,
    changes: dict[str, Any],
    *,
    max_age: int = DEFAULT_MAX_PRICE_AGE,
    announce: Announce = None,
) -> store.AlertRow:
    current = get_alert(db, user_id, alert_id)
    not_null = [
        k for k in ("alert_type", "condition", "recurring", "cooldown_minutes") if k in changes and changes[k] is None
    ]
    if not_null:
        raise InvalidInput({k: ["This field may not be null."] for k in not_null})
    if "stock_symbol" in changes or "symbol" in changes:
        raise InvalidInput({"stock_symbol": ["An alert's stock cannot be changed; create a new alert."]})
    merged = {f: getattr(current, f) for f in AlertDefinition.__dataclass_fields__} | changes
    if "alert_type" in changes:  # switching type drops the old type's fields unless given again
        declared = BY_NAME.get(changes["alert_type"])
        kept = set(declared.accepted) if declared else set()
        for name in set(CONDITION_FIELDS) - kept - set(changes):
            merged[name] = None
    d = AlertDefinition(**merged)
    updated = _checked(db, user_id, d, lambda conn: store.update_alert(conn, user_id, alert_id, d.fields(), max_age))
    if updated is None:
        raise NotFound("Alert not found.")
    if announce:
        announce()
    return updated


def set_paused(
    db: Database,
    user_id: int,
    alert_id: int,
    paused: bool,
    *,
    max_age: int = DEFAULT_MAX_PRICE_AGE,
    announce: Announce = None,
) -> store.AlertRow:
    status = "paused" if paused else "active"
    try:
        alert = db.run(lambda conn: store.set_status(conn, user_id, alert_id, status, max_age))
    except store.DuplicateAlert:
        raise Conflict("You already have an identical active alert.") from None
    if alert is None:
        raise NotFound("Alert not found.")
    if announce and not paused:
        announce()
    return alert


def delete_alert(db: Database, user_id: int, alert_id: int) -> None:
    if not db.one(lambda conn: store.delete_alert(conn, user_id, alert_id)):
        raise NotFound("Alert not found.")


def list_alerts(
    db: Database,
    user_id: int,
    *,
    is_active: bool | None,
    symbol: str | None,
    alert_type: str | None,
    limit: int,
    offset: int,
    max_age: int = DEFAULT_MAX_PRICE_AGE,
) -> tuple[int, list[store.AlertRow]]:
    symbol = normalise_symbol(symbol, "stock_symbol") if symbol else None
    return db.one(
        lambda conn: store.list_alerts(
            conn,
            user_id,
            is_active=is_active,
            symbol=symbol,
            alert_type=alert_type,
            limit=limit,
            offset=offset,
            max_age=max_age,
        )
    )


def trigger_history(db: Database, user_id: int, limit: int, offset: int) -> tuple[int, list[store.TriggerRow]]:
    return db.one(lambda conn: store.list_triggers(conn, user_id, limit, offset))


# ---------------------------------------------------------------- evaluation job
