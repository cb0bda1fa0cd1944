"""Features of the global LightGBM demand model: what is known when the forecast is made, and nothing else.

Known in advance: the calendar, the frame's exogenous columns for the future periods (events, promotion and SNAP
flags, prices) and demand at least `horizon` periods back. Each series' demand is divided by its recent mean so
one model serves a store selling thousands a day and a SKU selling three a week.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from presale_erp.domain.forecasting.series import DAILY, DemandFrame

EVENT_REACH = 14  # periods to/since an event that still matter (Christmas shopping starts about two weeks ahead)


def week_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    return dates.isocalendar().week.to_numpy(dtype="int16")


def day_of_week(dates: pd.DatetimeIndex) -> np.ndarray:
    return dates.dayofweek.to_numpy(dtype="int8")


def day_of_month(dates: pd.DatetimeIndex) -> np.ndarray:
    return dates.day.to_numpy(dtype="int8")


def month(dates: pd.DatetimeIndex) -> np.ndarray:
    return dates.month.to_numpy(dtype="int8")


def day_of_year(dates: pd.DatetimeIndex) -> np.ndarray:
    return dates.dayofyear.to_numpy(dtype="int16")


@dataclass(frozen=True)
class FeaturePlan:
    """Which lags, rolling windows and calendar features a frequency and horizon call for."""

    lags: tuple[int, ...]
    windows: tuple[int, ...]
    date_features: tuple[Callable[[pd.DatetimeIndex], np.ndarray], ...]
    freq: str
    scale_window: int

    @classmethod
    def for_data(cls, demand: DemandFrame, horizon: int) -> FeaturePlan:
        if demand.freq == DAILY:
            # Lag `horizon` is the newest value known; the weekly multiples keep the weekday aligned.
            aligned = math.ceil(horizon / 7) * 7
            lags = (horizon, *(aligned + 7 * k for k in range(5)))
            dates = (day_of_week, day_of_month, month, week_of_year, day_of_year)
            return cls(tuple(sorted(set(lags))), (7, 28, 56), dates, demand.freq, 364)
        lags = (horizon, horizon + 1, horizon + 2, horizon + 3, *((52,) if horizon <= 52 else ()))
        return cls(tuple(sorted(set(lags))), (4, 13, 52), (week_of_year, month), demand.freq, 52)

    @property
    def lookback(self) -> int:
        """Periods of history the features of one row read: the oldest lag plus the longest window."""
        return max(self.lags) + max(self.windows)

    def mlforecast(self, models: dict[str, object]) -> object:
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, RollingStd

        newest = min(self.lags)
        rolling = [RollingMean(window_size=w, min_samples=1) for w in self.windows]
        return MLForecast(
            models=models,
            freq=self.freq,
            lags=list(self.lags),
            lag_transforms={newest: [*rolling, RollingStd(window_size=self.windows[1], min_samples=2)]},
            date_features=list(self.date_features),
            num_threads=1,
        )


def design(
    demand: DemandFrame, future: pd.DataFrame, plan: FeaturePlan
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """History (with scaled target y) and future rows in mlforecast's layout, plus each series' scale."""
    scale = series_scale(demand.data, plan.scale_window)
    both = pd.concat([demand.data, future], ignore_index=True).sort_values(["id", "date"], kind="stable")
    both = both.reset_index(drop=True)
    columns = _exogenous(both, demand.data, demand.exog)
    both["series"] = pd.Categorical(both["id"], categories=sorted(demand.ids))
    both["y"] = both["quantity"] / both["id"].map(scale)
    out = both.rename(columns={"id": "unique_id", "date": "ds"})
    known = out["quantity"].notna() & out["ds"].le(demand.end)
    kept = ["unique_id", "ds", "series", *columns]
    history = out.loc[known, [*kept, "y"]].reset_index(drop=True)
    ahead = out.loc[~known, [c for c in kept if c != "series"]].reset_index(drop=True)
    return history, ahead, scale


def series_scale(data: pd.DataFrame, window: int) -> pd.Series:
    """Mean demand per series over its last `window` periods (all of it if that is zero, else 1)."""
    recent = data.groupby("id", sort=False).tail(window).groupby("id")["quantity"].mean()
    overall = data.groupby("id")["quantity"].mean()
    return recent.where(recent > 0, overall).where(lambda s: s > 0, 1.0)


def _exogenous(both: pd.DataFrame, history: pd.DataFrame, exog: tuple[str, ...]) -> list[str]:
    """Add model columns for each exogenous column; returns their names."""
    names: list[str] = []
    for column in exog:
        values = history[column]
        if pd.api.types.is_numeric_dtype(values) and values.dropna().isin([0, 1]).all():
            names += _flag(both, column)
        elif pd.api.types.is_numeric_dtype(values):
            names += _numeric(both, column)
        else:
            names += _categorical(both, column, values.mode().iloc[0])
    return names


def _flag(both: pd.DataFrame, column: str) -> list[str]:
    """A 0/1 flag (promotion, SNAP day) and the flag of the neighbouring periods (stock-up before, lull after)."""
    both[column] = both[column].fillna(0).astype("int8")
    by_series = both.groupby("id", sort=False)[column]
    both[f"{column}_prev"] = by_series.shift(1).fillna(0).astype("int8")
    both[f"{column}_next"] = by_series.shift(-1).fillna(0).astype("int8")
    return [column, f"{column}_prev", f"{column}_next"]


def _numeric(both: pd.DataFrame, column: str) -> list[str]:
    """A number such as price, also relative to the series' usual level and to the period before (a markdown)."""
    by_series = both.groupby("id", sort=False)[column]
    usual = by_series.transform("median")
    both[f"{column}_vs_usual"] = both[column] / usual.where(usual != 0)
    both[f"{column}_change"] = both[column] / by_series.shift(1).where(lambda s: s != 0)
    return [column, f"{column}_vs_usual", f"{column}_change"]


def _categorical(both: pd.DataFrame, column: str, usual: object) -> list[str]:
    """An event-like category, the categories of the neighbouring periods and the distance to/from the nearest
    period that is not the usual value (days to Christmas, days after Thanksgiving)."""
    values = both[column].astype(str)
    categories = sorted(values.unique())
    by_series = values.groupby(both["id"], sort=False)
    both[column] = pd.Categorical(values, categories=categories)
    both[f"{column}_prev"] = pd.Categorical(by_series.shift(1).fillna(str(usual)), categories=categories)
    both[f"{column}_next"] = pd.Categorical(by_series.shift(-1).fillna(str(usual)), categories=categories)
    position = both.groupby("id", sort=False).cumcount().astype(float)
    marked = position.where(values != str(usual))
    ahead = marked.groupby(both["id"], sort=False).bfill() - position
    behind = position - marked.groupby(both["id"], sort=False).ffill()
    both[f"{column}_ahead"] = ahead.clip(upper=EVENT_REACH).fillna(EVENT_REACH)
    both[f"{column}_behind"] = behind.clip(upper=EVENT_REACH).fillna(EVENT_REACH)
    unusual = values.where(values != str(usual))
    upcoming = unusual.groupby(both["id"], sort=False).bfill().fillna(str(usual))
    latest = unusual.groupby(both["id"], sort=False).ffill().fillna(str(usual))
    both[f"{column}_upcoming"] = pd.Categorical(upcoming, categories=categories)
    both[f"{column}_latest"] = pd.Categorical(latest, categories=categories)
    return [column, *(f"{column}_{s}" for s in ("prev", "next", "ahead", "behind", "upcoming", "latest"))]
