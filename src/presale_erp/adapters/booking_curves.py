"""The hotel booking demand data (Antonio et al., 2019) as commitment curves: one curve per hotel and arrival date.

Two readers of the folder `shared/data/hotel_booking_curves` (see its README):
- `load_curve_file`: the derived `curves.csv.gz`, 22 snapshot days per curve, no capacity;
- `load_daily_curves`: rebuilt from the raw `hotel_bookings.csv.gz` with a snapshot every day up to `depth` days
  before arrival, and the rooms still free on the arrival night (estimated capacity - rooms occupied that night by
  bookings on the books, arrivals of earlier days included), which plays the part of a presale's quota left.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from presale_erp.domain.forecasting.commitment_curve import CommitmentCurve, CurveSnapshot

CURVES_FILE = "curves.csv.gz"
BOOKINGS_FILE = "hotel_bookings.csv.gz"
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September")
MONTHS = {name: n for n, name in enumerate((*MONTH_NAMES, "October", "November", "December"), start=1)}
LONGEST_STAY = 30  # nights counted per booking when filling the night occupancy (longer stays are rare outliers)


def load_curve_file(folder: Path) -> list[CommitmentCurve]:
    frame = pd.read_csv(folder / CURVES_FILE)
    curves = []
    for (hotel, arrival), rows in frame.groupby(["hotel", "arrival_date"], sort=True):
        snapshots = tuple(
            CurveSnapshot(int(r.days_before), int(r.cum_bookings), int(r.cum_cancelled))
            for r in rows.itertuples(index=False)
        )
        first = rows.iloc[0]
        final = int(first.final_checkout + first.final_noshow)
        curves.append(CommitmentCurve(f"{hotel}:{arrival}", str(hotel), date.fromisoformat(arrival), snapshots, final))
    return curves


def load_daily_curves(
    folder: Path, depth: int = 120, capacity_known_before: date | None = None
) -> list[CommitmentCurve]:
    """Daily curves; the capacity of each hotel is the 99th percentile of its occupied rooms per night over nights
    before `capacity_known_before` (all nights if None), so a backtest can keep it out of the test period."""
    bookings = _read_bookings(folder / BOOKINGS_FILE)
    curves = []
    for hotel, rows in bookings.groupby("hotel", sort=True):
        curves.extend(_hotel_curves(str(hotel), rows, depth, capacity_known_before))
    return curves


def _read_bookings(path: Path) -> pd.DataFrame:
    d = pd.read_csv(path)
    d["arrival"] = pd.to_datetime(
        {"year": d.arrival_date_year, "month": d.arrival_date_month.map(MONTHS), "day": d.arrival_date_day_of_month}
    )
    status_at = pd.to_datetime(d.reservation_status_date)
    # a cancelled booking leaves the books this many days before arrival
    d["cancel_days_before"] = np.where(d.reservation_status == "Canceled", (d.arrival - status_at).dt.days, np.nan)
    d["nights"] = (d.stays_in_weekend_nights + d.stays_in_week_nights).clip(lower=1, upper=LONGEST_STAY)
    d["kept"] = d.reservation_status != "Canceled"
    return d


def _hotel_curves(hotel: str, d: pd.DataFrame, depth: int, capacity_known_before: date | None) -> list[CommitmentCurve]:
    days = pd.date_range(d.arrival.min(), d.arrival.max())
    day = (d.arrival - days[0]).dt.days.to_numpy()
    lead, cancel = d.lead_time.to_numpy(), d.cancel_days_before.to_numpy()
    committed = _count_by_days_before(day, lead, len(days), depth)
    cancelled_rows = ~np.isnan(cancel)
    cancelled = _count_by_days_before(day[cancelled_rows], cancel[cancelled_rows].astype(int), len(days), depth)
    occupied = _night_occupancy(d, day, lead, cancel, len(days), depth)
    known = days < pd.Timestamp(capacity_known_before) if capacity_known_before else np.ones(len(days), bool)
    capacity = float(np.percentile(occupied[known, 0], 99))
    final = np.bincount(day, weights=d.kept.to_numpy(), minlength=len(days))
    curves = []
    for i, arrival in enumerate(days.date):
        snapshots = tuple(
            CurveSnapshot(k, int(committed[i, k]), int(cancelled[i, k]), capacity - float(occupied[i, k]))
            for k in range(depth + 1)
        )
        curves.append(CommitmentCurve(f"{hotel}:{arrival.isoformat()}", hotel, arrival, snapshots, int(final[i])))
    return curves


def _count_by_days_before(day: np.ndarray, days_before: np.ndarray, n: int, depth: int) -> np.ndarray:
    """counts[i, k] = events of day i that happened at least k days before it (k = 0..depth)."""
    hits = np.zeros((n, depth + 1))
    np.add.at(hits, (day, np.minimum(days_before, depth)), 1)
    return np.flip(np.cumsum(np.flip(hits, 1), 1), 1)


def _night_occupancy(
    d: pd.DataFrame, day: np.ndarray, lead: np.ndarray, cancel: np.ndarray, n: int, depth: int
) -> np.ndarray:
    """occupied[i, k]: rooms on the books for night i at the end of day i - k, counting stays that began earlier.

    A booking arriving s nights before night i is on the books for it at k days before i when it was made at
    least k - s days before its arrival and not cancelled by then, so its events shift by s."""
    nights = d.nights.to_numpy()
    made, gone = np.zeros((n + LONGEST_STAY, depth + 1)), np.zeros((n + LONGEST_STAY, depth + 1))
    has_cancel = ~np.isnan(cancel)
    for s in range(LONGEST_STAY):
        staying = nights > s
        np.add.at(made, (day[staying] + s, np.minimum(lead[staying] + s, depth)), 1)
        leaving = staying & has_cancel
        np.add.at(gone, (day[leaving] + s, np.minimum(cancel[leaving] + s, depth).astype(int)), 1)
    on_books = np.flip(np.cumsum(np.flip(made - gone, 1), 1), 1)
    return on_books[:n]
