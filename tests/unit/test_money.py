"""Money: Decimal yuan to the fen, never float, and amounts split across lines without losing a fen."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import allocate, fen_to_yuan, yuan, yuan_to_fen


@pytest.mark.parametrize(
    ("raw", "amount"), [("398", "398.00"), ("0.005", "0.01"), (12, "12.00"), (Decimal("1.234"), "1.23")]
)
def test_amounts_are_quantised_to_the_fen(raw, amount):
    assert yuan(raw) == Decimal(amount)


@pytest.mark.parametrize("raw", [0.1, "abc", "NaN", "Infinity"])
def test_floats_and_non_numbers_are_refused(raw):
    with pytest.raises(InvalidRequest):
        yuan(raw)


def test_a_deposit_split_across_lines_adds_up_to_the_fen():
    assert allocate(Decimal("100.00"), [1, 1, 1]) == [Decimal("33.34"), Decimal("33.33"), Decimal("33.33")]


@given(
    st.integers(-(10**9), 10**9).map(fen_to_yuan),
    st.lists(st.integers(0, 1000), min_size=1, max_size=20).filter(lambda w: sum(w) > 0),
)
def test_allocation_never_loses_or_invents_a_fen(total, weights):
    parts = allocate(total, weights)

    assert sum(parts) == total
    assert all(yuan_to_fen(p) * 1 == yuan_to_fen(p) for p in parts)
    assert all(p == 0 for p, w in zip(parts, weights, strict=True) if w == 0)
