"""The platforms' sales days (大促) every Chinese merchant plans around: known years ahead, so a forecast may use
them as a feature for the future as well as the past."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

PLATFORM_EVENTS: dict[tuple[int, int], str] = {(6, 18): "618", (11, 11): "双11", (12, 12): "双12"}


def event_on(day: date) -> str:
    """The sales event of a day, or ""."""
    return PLATFORM_EVENTS.get((day.month, day.day), "")


def promotion_days(first: date, last: date) -> pd.DataFrame:
    """A calendar (date, promotion 0/1) from first to last, for `demand.forecast(future_exog=...)`."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return pd.DataFrame({"date": pd.to_datetime(days), "promotion": [int(bool(event_on(d))) for d in days]})
