"""Report arithmetic: Beijing-day windows, fen to yuan, ratios."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.reporting import beijing_window, ratio, yuan_of_fen


def test_a_beijing_day_window_starts_at_16_00_utc_the_day_before_and_includes_the_last_day():
    start, end = beijing_window(date(2026, 11, 11), date(2026, 11, 11))

    assert (start, end) == (datetime(2026, 11, 10, 16, tzinfo=UTC), datetime(2026, 11, 11, 16, tzinfo=UTC))


def test_an_open_window_has_no_bound_on_that_side():
    assert beijing_window(None, date(2026, 1, 1)) == (None, datetime(2026, 1, 1, 16, tzinfo=UTC))


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [(date(2026, 2, 1), date(2026, 1, 31), "is after"), (date(2000, 1, 1), date(2026, 1, 1), "more than")],
)
def test_a_backwards_or_endless_window_is_refused(first, last, message):
    with pytest.raises(InvalidRequest, match=message):
        beijing_window(first, last)


@pytest.mark.parametrize(
    ("fen", "yuan"),
    [
        (12345, "123.45"),
        (Decimal("-1500"), "-15.00"),
        (Decimal("1000.6667"), "10.01"),  # an allocated share: rounded to the fen once, half up
        (1000.5, "10.01"),  # SQLite's float division, read through its shortest decimal form
        (None, "0.00"),
    ],
)
def test_fen_from_the_database_become_yuan_to_the_fen(fen, yuan):
    assert yuan_of_fen(fen) == Decimal(yuan)


@pytest.mark.parametrize(
    ("part", "whole", "expected"),
    [(1, 3, Decimal("0.3333")), (Decimal("186.50"), Decimal("335.00"), Decimal("0.5567")), (5, 0, None)],
)
def test_ratios_to_four_places_and_none_without_a_base(part, whole, expected):
    assert ratio(part, whole) == expected
