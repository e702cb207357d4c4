"""Market time: minutes of regular NYSE trading between two instants.

The same rule as the ``market_minutes_between`` SQL function the evaluator uses (a test checks
they agree): 09:30-16:00 New York, Monday to Friday; exchange holidays are not modelled.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from tickerwatch.market_data import NEW_YORK

OPEN, CLOSE = time(9, 30), time(16, 0)


def market_minutes_between(t0: datetime, t1: datetime) -> float:
    l0 = t0.astimezone(NEW_YORK).replace(tzinfo=None)
    l1 = t1.astimezone(NEW_YORK).replace(tzinfo=None)
    if l1 <= l0:
        return 0.0
    if l1 - l0 > timedelta(days=60):
        return 1e9
    total, day = 0.0, l0.date()
    while day <= l1.date():
        if day.weekday() < 5:
            start = max(datetime.combine(day, OPEN), l0)
            end = min(datetime.combine(day, CLOSE), l1)
            total += max(0.0, (end - start).total_seconds() / 60)
        day += timedelta(days=1)
    return total
