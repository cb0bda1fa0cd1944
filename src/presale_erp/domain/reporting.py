"""Arithmetic the finance reports share: Beijing-day windows, ratios, fen to yuan."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import FEN

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China keeps no daylight saving: a fixed offset is exact
RATIO_PLACES = Decimal("0.0001")
MAX_DAYS = 3700  # ten years: a longer window is a typo, not a report


def beijing_window(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """The UTC instants [start, end) covering the Beijing days first..last, both included."""
    if first is not None and last is not None:
        if first > last:
            raise InvalidRequest(f"date_from {first} is after date_to {last}; give the earlier day first.")
        if (last - first).days > MAX_DAYS:
            raise InvalidRequest(f"{first}..{last} spans more than {MAX_DAYS} days; ask for a shorter period.")
    start = datetime.combine(first, time(), BEIJING).astimezone(UTC) if first else None
    end = datetime.combine(last + timedelta(days=1), time(), BEIJING).astimezone(UTC) if last else None
    return start, end


def yuan_of_fen(value: int | Decimal | float | None) -> Decimal:
    """A sum of whole fen from the database in yuan. Sums are integers (allocations are split in whole fen); a
    float would only come from an expression that divides on SQLite, and is read through its shortest decimal
    form and rounded half up rather than trusted to the last binary digit."""
    if value is None:
        return Decimal("0.00")
    exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return (exact / 100).quantize(FEN, rounding=ROUND_HALF_UP)


def ratio(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    """part / whole to four places (0.1234 = 12.34%), None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
