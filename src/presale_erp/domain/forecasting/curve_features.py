"""Features of a live commitment curve at k days before its end, computed for many (curve, k) rows at once.

Honesty is built in: a row is a forecast made at the end of day t = end - k, and every feature reads only what was
known then: the curve's own snapshots at days_before >= k, finals of campaigns of the same group that ended on or
before t, and other campaigns' states at t. Changing anything later cannot change a row's features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from presale_erp.domain.forecasting.commitment_curve import CommitmentCurve, WeekdayPickupBaseline

LOOKBACKS = (1, 3, 7, 14, 28)  # earlier points on the curve's own path (days before the forecast moment)
RECENT = (7, 28)  # how many recently completed campaigns of the group to summarise
SAME_WEEKDAY = 4  # recently completed campaigns ending on the same weekday
LAST_YEAR = (350, 378)  # campaigns that ended this many days before this one: the same season a year ago

FEATURES = (
    "k",
    "group_code",
    "weekday",
    "month",
    "day_of_year",
    "on_books",
    "committed",
    "cancelled",
    "capacity_left",
    *(f"on_books_{j}d_earlier" for j in LOOKBACKS),
    "new_last_7d",
    "cancelled_last_7d",
    "baseline_pickup",
    *(f"recent{n}_{s}" for n in RECENT for s in ("final", "pickup", "conversion")),
    "same_weekday_pickup",
    "same_weekday_conversion",
    "last_year_final",
    "last_year_pickup",
    "last_year_conversion",
)


@dataclass(frozen=True)
class CurvePanel:
    """Curves as dense arrays [curve, days_before 0..depth], sorted by (group, end)."""

    curves: tuple[CommitmentCurve, ...]
    groups: tuple[str, ...]
    group_code: np.ndarray
    end: np.ndarray  # ordinal day of the end
    final: np.ndarray  # nan while unknown
    committed: np.ndarray
    cancelled: np.ndarray
    capacity_left: np.ndarray  # nan where unknown

    @classmethod
    def build(cls, curves: Sequence[CommitmentCurve], depth: int) -> CurvePanel:
        ordered = tuple(sorted(curves, key=lambda c: (c.group, c.ends_on, c.campaign_id)))
        groups = tuple(sorted({c.group for c in ordered}))
        n = len(ordered)
        committed, cancelled = np.zeros((n, depth + 1)), np.zeros((n, depth + 1))
        capacity = np.full((n, depth + 1), np.nan)
        for i, curve in enumerate(ordered):
            _fill_dense(curve, committed[i], cancelled[i], capacity[i])
        return cls(
            curves=ordered,
            groups=groups,
            group_code=np.array([groups.index(c.group) for c in ordered], dtype=int),
            end=np.array([c.ends_on.toordinal() for c in ordered], dtype=int),
            final=np.array([np.nan if c.final_kept is None else c.final_kept for c in ordered]),
            committed=committed,
            cancelled=cancelled,
            capacity_left=capacity,
        )

    @property
    def depth(self) -> int:
        return self.committed.shape[1] - 1

    def on_books(self, k: int) -> np.ndarray:
        return self.committed[:, k] - self.cancelled[:, k]


def _fill_dense(curve: CommitmentCurve, committed: np.ndarray, cancelled: np.ndarray, capacity: np.ndarray) -> None:
    """Step function: at day d the state is the snapshot with the smallest days_before >= d (before any: zero)."""
    if not curve.snapshots:
        return
    days = np.array([s.days_before for s in curve.snapshots])
    pick = np.searchsorted(days, np.arange(committed.size), side="left")
    known = pick < days.size
    at = pick[known]
    committed[known] = np.array([s.committed for s in curve.snapshots])[at]
    cancelled[known] = np.array([s.cancelled for s in curve.snapshots])[at]
    caps = np.array([np.nan if s.capacity_left is None else s.capacity_left for s in curve.snapshots])
    capacity[known] = caps[at]


def feature_frame(panel: CurvePanel, rows: np.ndarray, ks: np.ndarray, baseline: WeekdayPickupBaseline) -> pd.DataFrame:
    """One feature row per (curve index, k); column order is FEATURES."""
    parts = []
    for k in np.unique(ks):
        sel = np.flatnonzero(ks == k)
        part = _features_at(panel, rows[sel], int(k), baseline)
        part.index = sel
        parts.append(part)
    return pd.concat(parts).sort_index()[list(FEATURES)]


def _features_at(panel: CurvePanel, rows: np.ndarray, k: int, baseline: WeekdayPickupBaseline) -> pd.DataFrame:
    if k + max(LOOKBACKS) > panel.depth:
        raise ValueError(f"the panel keeps {panel.depth} days of curve; k={k} needs {k + max(LOOKBACKS)}")
    ends = pd.to_datetime([panel.curves[i].ends_on for i in rows])
    on_books = panel.on_books(k)
    f: dict[str, np.ndarray] = {
        "k": np.full(rows.size, k),
        "group_code": panel.group_code[rows],
        "weekday": ends.weekday.to_numpy(),
        "month": ends.month.to_numpy(),
        "day_of_year": ends.dayofyear.to_numpy(),
        "on_books": on_books[rows],
        "committed": panel.committed[rows, k],
        "cancelled": panel.cancelled[rows, k],
        "capacity_left": panel.capacity_left[rows, k],
        "new_last_7d": panel.committed[rows, k] - panel.committed[rows, k + 7],
        "cancelled_last_7d": panel.cancelled[rows, k] - panel.cancelled[rows, k + 7],
        "baseline_pickup": np.array(
            [baseline.pickup(panel.curves[i].group, panel.curves[i].ends_on.weekday(), k) for i in rows]
        ),
    }
    for j in LOOKBACKS:
        f[f"on_books_{j}d_earlier"] = panel.on_books(k + j)[rows]
    f.update(_analog_features(panel, rows, k))
    return pd.DataFrame(f)


def _analog_features(panel: CurvePanel, rows: np.ndarray, k: int) -> dict[str, np.ndarray]:
    """Summaries of campaigns of the same group that were complete at the forecast moment t = end - k."""
    out = {name: np.full(rows.size, np.nan) for name in FEATURES if name.startswith(("recent", "same_", "last_"))}
    on_books_k = panel.on_books(k)
    weekdays = np.array([c.ends_on.weekday() for c in panel.curves])
    for code in np.unique(panel.group_code[rows]):
        members = np.flatnonzero(panel.group_code == code)
        mine = np.flatnonzero(panel.group_code[rows] == code)
        here, t = rows[mine], panel.end[rows[mine]] - k
        stats = _Window(panel.end[members], panel.final[members], on_books_k[members])
        for n in RECENT:
            hi = stats.completed_by(t)
            final, pickup, conversion = stats.summary(np.maximum(hi - n, 0), hi)
            out[f"recent{n}_final"][mine], out[f"recent{n}_pickup"][mine] = final, pickup
            out[f"recent{n}_conversion"][mine] = conversion
        lo, hi = stats.ending_between(panel.end[here] - LAST_YEAR[1], panel.end[here] - LAST_YEAR[0], t)
        out["last_year_final"][mine], out["last_year_pickup"][mine], out["last_year_conversion"][mine] = stats.summary(
            lo, hi
        )
        for wd in range(7):
            same = members[weekdays[members] == wd]
            mine_wd = mine[weekdays[here] == wd]
            if same.size == 0 or mine_wd.size == 0:
                continue
            week = _Window(panel.end[same], panel.final[same], on_books_k[same])
            hi = week.completed_by(panel.end[rows[mine_wd]] - k)
            _, pickup, conversion = week.summary(np.maximum(hi - SAME_WEEKDAY, 0), hi)
            out["same_weekday_pickup"][mine_wd], out["same_weekday_conversion"][mine_wd] = pickup, conversion
    return out


@dataclass(frozen=True)
class _Window:
    """Prefix sums over campaigns sorted by end, for means over index ranges [lo, hi) of the complete ones."""

    ends: np.ndarray
    final: np.ndarray
    on_books_k: np.ndarray

    def completed_by(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.ends, t, side="right")

    def ending_between(self, first: np.ndarray, last: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo = np.searchsorted(self.ends, first, side="left")
        hi = np.minimum(np.searchsorted(self.ends, last, side="right"), self.completed_by(t))
        return lo, np.maximum(hi, lo)

    def summary(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Mean final, mean pickup (final - on_books at k) and conversion (sum final / sum on_books at k)."""
        known = ~np.isnan(self.final)
        final = np.where(known, self.final, 0.0)
        count = _prefix(known.astype(float))
        finals, books = _prefix(final), _prefix(np.where(known, self.on_books_k, 0.0))
        n = count[hi] - count[lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            total_final, total_books = finals[hi] - finals[lo], books[hi] - books[lo]
            mean_final = np.where(n > 0, total_final / n, np.nan)
            pickup = np.where(n > 0, (total_final - total_books) / n, np.nan)
            conversion = np.where((n > 0) & (total_books > 0), total_final / total_books, np.nan)
        return mean_final, pickup, conversion


def _prefix(values: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(values)])
