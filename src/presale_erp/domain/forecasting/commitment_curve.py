"""Commitment curves: how advance commitments (presale deposits, hotel bookings) build up before a campaign ends.

A campaign (a presale's balance/ship date, a hotel's arrival date) ends on `ends_on`. A snapshot k days before the
end says how many commitments were made so far and how many of those were already cancelled (refunded); the
difference is what is "on the books". When the campaign is over, `final_kept` is the number of commitments that
were honoured (balance paid; guest checked in or no-show). The forecast estimates `final_kept` from a live curve.

Also here: the industry's baseline, additive pickup by weekday, which every model is compared against.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from presale_erp.domain.errors import InvalidRequest


@dataclass(frozen=True)
class CurveSnapshot:
    """The state at the end of day (ends_on - days_before)."""

    days_before: int
    committed: int  # gross commitments made so far (deposits paid)
    cancelled: int  # of those, already cancelled (deposits refunded)
    capacity_left: float | None = None  # how much more could still be sold (quota or rooms left), if known

    @property
    def on_books(self) -> int:
        return self.committed - self.cancelled


EMPTY = CurveSnapshot(days_before=10**6, committed=0, cancelled=0)


@dataclass(frozen=True)
class CommitmentCurve:
    campaign_id: str
    group: str  # the segment analogs come from: a shop, a hotel, a category
    ends_on: date
    snapshots: tuple[CurveSnapshot, ...]  # any order on input; kept sorted by days_before, latest state first
    final_kept: int | None = None  # known once the campaign is over
    _days: tuple[int, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.snapshots, key=lambda s: s.days_before))
        if any(s.days_before < 0 for s in ordered):
            raise InvalidRequest(f"Curve {self.campaign_id}: a snapshot cannot be taken after the campaign ended.")
        object.__setattr__(self, "snapshots", ordered)
        object.__setattr__(self, "_days", tuple(s.days_before for s in ordered))

    def at(self, days_before: int) -> CurveSnapshot:
        """The latest known state on day (end - days_before): the snapshot with the smallest days_before >= it."""
        i = bisect_left(self._days, days_before)
        return self.snapshots[i] if i < len(self.snapshots) else EMPTY

    def is_complete_by(self, day: date) -> bool:
        return self.final_kept is not None and self.ends_on <= day

    def seen_on(self, day: date) -> CommitmentCurve:
        """What was observable at the end of `day`: later snapshots dropped, the final hidden unless over."""
        cutoff = (self.ends_on - day).days
        kept = tuple(s for s in self.snapshots if s.days_before >= cutoff)
        return replace(self, snapshots=kept, final_kept=self.final_kept if self.is_complete_by(day) else None)


def observable_history(curves: Iterable[CommitmentCurve], day: date) -> list[CommitmentCurve]:
    """All curves as they stood at the end of `day`; campaigns that had not started yet are left out."""
    seen = (c.seen_on(day) for c in curves)
    return [c for c in seen if c.snapshots or c.final_kept is not None]


def curve_from_daily_counts(
    campaign_id: str,
    group: str,
    ends_on: date,
    commitments: Mapping[date, int],
    cancellations: Mapping[date, int],
    as_of: date,
    final_kept: int | None = None,
    capacity: float | None = None,
) -> CommitmentCurve:
    """A daily curve from per-day counts (deposits paid, deposits refunded), up to the end of `as_of`.

    Cancellations are counted on the day they happen; `capacity` (a presale quota) gives capacity_left = capacity -
    on_books.
    """
    days = sorted(set(commitments) | set(cancellations))
    if not days:
        return CommitmentCurve(campaign_id, group, ends_on, (), final_kept)
    snapshots, committed, cancelled = [], 0, 0
    day, last = days[0], min(as_of, ends_on)
    while day <= last:
        committed += commitments.get(day, 0)
        cancelled += cancellations.get(day, 0)
        left = None if capacity is None else capacity - (committed - cancelled)
        snapshots.append(CurveSnapshot((ends_on - day).days, committed, cancelled, left))
        day += timedelta(days=1)
    return CommitmentCurve(campaign_id, group, ends_on, tuple(snapshots), final_kept)


@dataclass(frozen=True)
class WeekdayPickupBaseline:
    """The hotel industry's standard: final = on_books_k + mean(final - on_books_k) over past campaigns of the same
    group and end weekday. Falls back to the group's mean over all weekdays, then to no pickup."""

    pickups: Mapping[tuple[str, int, int], float]  # (group, weekday, k) -> mean pickup
    group_pickups: Mapping[tuple[str, int], float]  # (group, k) -> mean pickup

    @classmethod
    def fit(cls, curves: Sequence[CommitmentCurve], horizons: Iterable[int]) -> WeekdayPickupBaseline:
        sums: dict[tuple[str, int, int], list[float]] = defaultdict(list)
        for curve in curves:
            if curve.final_kept is None:
                continue
            for k in horizons:
                sums[(curve.group, curve.ends_on.weekday(), k)].append(curve.final_kept - curve.at(k).on_books)
        by_group: dict[tuple[str, int], list[float]] = defaultdict(list)
        for (group, _, k), values in sums.items():
            by_group[(group, k)].extend(values)
        return cls(
            pickups={key: sum(v) / len(v) for key, v in sums.items()},
            group_pickups={key: sum(v) / len(v) for key, v in by_group.items()},
        )

    def pickup(self, group: str, weekday: int, days_before: int) -> float:
        k = self._nearest_horizon(group, days_before)
        if (group, weekday, k) in self.pickups:
            return self.pickups[(group, weekday, k)]
        return self.group_pickups.get((group, k), 0.0)

    def _nearest_horizon(self, group: str, days_before: int) -> int:
        """A horizon it was not fitted for borrows the nearest one (k = 8 uses k = 7's pickup)."""
        fitted = [k for g, k in self.group_pickups if g == group]
        return min(fitted, key=lambda k: (abs(k - days_before), k)) if fitted else days_before

    def predict(self, curve: CommitmentCurve, days_before: int) -> float:
        return curve.at(days_before).on_books + self.pickup(curve.group, curve.ends_on.weekday(), days_before)
