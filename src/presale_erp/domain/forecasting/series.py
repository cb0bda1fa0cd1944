"""The long layout of demand history: one row per series and period, checked, completed and classified.

Columns: `id` (series), `date`, `quantity` (units demanded), plus optional exogenous columns known in advance
(price, promotion or event flags, any other numeric or categorical column). Models never see a frame that has
not been through `prepare`: every series is then a complete run of periods, so a lag of 7 is always a week.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from presale_erp.domain.errors import InvalidRequest

REQUIRED = ("id", "date", "quantity")
DAILY = "D"
NO_VALUE = ""
# Syntetos & Boylan (2005) cut-offs: average demand interval and squared coefficient of variation of sizes.
ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49


class InvalidDemandData(InvalidRequest, ValueError):
    """The demand history cannot be used as given; the message says which rows or columns and why."""

    title = "Invalid demand data"


@dataclass(frozen=True)
class DemandFrame:
    """A prepared history: complete periods per series, sorted by (id, date), with its frequency."""

    data: pd.DataFrame
    freq: str
    exog: tuple[str, ...]

    @property
    def season_length(self) -> int:
        return season_length(self.freq)

    @property
    def ids(self) -> np.ndarray:
        return self.data["id"].unique()

    @property
    def end(self) -> pd.Timestamp:
        return self.data["date"].max()


def season_length(freq: str) -> int:
    """The seasonal period used by seasonal naive and MASE: a week of days, a year of weeks, else none."""
    if freq == DAILY:
        return 7
    if freq.startswith("W"):
        return 52
    return 1


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Check the layout and return a clean copy (string ids, datetime dates, float quantities)."""
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InvalidDemandData(
            f"Demand data lacks column(s) {', '.join(missing)}; expected id, date, quantity "
            f"(got {', '.join(map(str, frame.columns))})."
        )
    if frame.empty:
        raise InvalidDemandData("Demand data has no rows.")
    out = frame.copy()
    out["id"] = out["id"].astype(str)
    out["date"] = _dates(out["date"])
    out["quantity"] = _quantities(out["quantity"])
    duplicated = out.duplicated(["id", "date"])
    if duplicated.any():
        first = out.loc[duplicated].iloc[0]
        raise InvalidDemandData(
            f"{int(duplicated.sum())} rows repeat an (id, date) pair, e.g. {first['id']} on "
            f"{first['date']:%Y-%m-%d}; sum them into one row per series and period."
        )
    return out.sort_values(["id", "date"], kind="stable").reset_index(drop=True)


def _dates(values: pd.Series) -> pd.Series:
    try:
        dates = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise InvalidDemandData(f"Column date holds values that are not dates: {exc}.") from exc
    if dates.isna().any():
        raise InvalidDemandData(f"Column date is empty in {int(dates.isna().sum())} rows.")
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_localize(None)
    return dates.dt.normalize()


def _quantities(values: pd.Series) -> pd.Series:
    quantity = pd.to_numeric(values, errors="coerce").astype(float)
    bad = ~np.isfinite(quantity.to_numpy())
    if bad.any():
        example = values[bad].iloc[0]
        raise InvalidDemandData(
            f"Column quantity is missing or not a number in {int(bad.sum())} rows (e.g. {example!r})."
        )
    if (quantity < 0).any():
        raise InvalidDemandData(
            f"Column quantity is negative in {int((quantity < 0).sum())} rows; demand is never below zero "
            "(record returns separately)."
        )
    return quantity


def infer_freq(frame: pd.DataFrame) -> str:
    """Daily ("D") or weekly anchored on the weekday the data uses ("W-SUN", ...).

    The period is the greatest common divisor of the gaps between a series' dates, so missing periods (gaps of
    several days or weeks) never change it.
    """
    gaps = frame.groupby("id", sort=False)["date"].diff().dropna().dt.days.astype(int).unique()
    if len(gaps) == 0:
        raise InvalidDemandData("Every series has a single period; at least two are needed to tell the frequency.")
    step = int(np.gcd.reduce(gaps))
    if step == 1:
        return DAILY
    if step % 7 == 0:
        weekdays = frame["date"].dt.dayofweek.unique()
        if len(weekdays) > 1:
            raise InvalidDemandData("Weekly data must fall on one weekday; dates here fall on several.")
        return "W-" + ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")[int(weekdays[0])]
    raise InvalidDemandData(f"Periods are {step} days apart; only daily or weekly demand is supported.")


def prepare(frame: pd.DataFrame) -> DemandFrame:
    """Validate, infer the frequency and reindex every series to a full run of periods.

    Each series runs from its first period to the last period of the whole frame: a period without a row is a
    period without demand (quantity 0), which is what a missing day in a sales export means.
    """
    clean = validate(frame)
    freq = infer_freq(clean)
    exog = tuple(c for c in clean.columns if c not in REQUIRED)
    for column in exog:
        if not pd.api.types.is_numeric_dtype(clean[column]):
            # An empty category cell means "no event" (M5 and CSV exports write it so), not "unknown".
            clean[column] = clean[column].fillna(NO_VALUE).astype(str)
    full = _reindex(clean, freq)
    full = _fill_exogenous(full, exog)
    return DemandFrame(data=full, freq=freq, exog=exog)


def _reindex(frame: pd.DataFrame, freq: str) -> pd.DataFrame:
    step = pd.Timedelta(days=1 if freq == DAILY else 7)
    end = frame["date"].max()
    starts = frame.groupby("id", sort=True)["date"].min()
    lengths = ((end - starts) // step + 1).to_numpy()
    first_row = np.repeat(np.cumsum(lengths) - lengths, lengths)
    position = np.arange(lengths.sum()) - first_row
    dates = np.repeat(starts.to_numpy(), lengths) + position * step.to_timedelta64()
    grid = pd.DataFrame({"id": np.repeat(starts.index.to_numpy(), lengths), "date": dates})
    full = grid.merge(frame, on=["id", "date"], how="left")
    full["quantity"] = full["quantity"].fillna(0.0)
    return full


def _fill_exogenous(frame: pd.DataFrame, exog: tuple[str, ...]) -> pd.DataFrame:
    """Fill the exogenous columns of added periods.

    A column with one value per date across series (an event calendar, a national holiday) is filled from the
    other series on that date; anything else (a price) carries its last known value forward, then back.
    """
    for column in exog:
        if frame[column].isna().any() and _is_date_level(frame, column):
            by_date = frame.dropna(subset=[column]).drop_duplicates("date").set_index("date")[column]
            frame[column] = frame[column].fillna(frame["date"].map(by_date))
        if frame[column].isna().any():
            frame[column] = frame.groupby("id", sort=False)[column].ffill()
            frame[column] = frame[column].fillna(frame.groupby("id", sort=False)[column].bfill())
    return frame


def _is_date_level(frame: pd.DataFrame, column: str) -> bool:
    known = frame.dropna(subset=[column])
    return bool(known.groupby("date")[column].nunique().max() <= 1) and frame["id"].nunique() > 1


def classify(frame: pd.DataFrame) -> pd.DataFrame:
    """Syntetos-Boylan demand classes per series: smooth, erratic, intermittent or lumpy.

    ADI = periods / periods with demand; CV² = squared coefficient of variation of the non-zero sizes. A series
    that never sold has ADI infinite and counts as intermittent (a slow mover, not a smooth one).
    """
    grouped = frame.assign(_nz=frame["quantity"] > 0).groupby("id", sort=True)
    periods = grouped.size()
    nonzero = grouped["_nz"].sum()
    sizes = frame.loc[frame["quantity"] > 0].groupby("id")["quantity"]
    mean, std = sizes.mean().reindex(periods.index), sizes.std(ddof=0).reindex(periods.index)
    adi = (periods / nonzero.replace(0, np.nan)).fillna(np.inf)
    cv2 = ((std / mean) ** 2).fillna(0.0)
    intermittent = adi >= ADI_CUTOFF
    kind = np.where(
        intermittent,
        np.where(cv2 >= CV2_CUTOFF, "lumpy", "intermittent"),
        np.where(cv2 >= CV2_CUTOFF, "erratic", "smooth"),
    )
    return pd.DataFrame(
        {"id": periods.index, "adi": adi.to_numpy(), "cv2": cv2.to_numpy(), "kind": kind, "intermittent": intermittent}
    ).reset_index(drop=True)
