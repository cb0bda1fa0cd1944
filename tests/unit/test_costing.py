"""Costing: landed costs spread over receipt lines to the fen, and the moving weighted average cost, checked
against hand-computed Decimal tables."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from presale_erp.domain.costing import (
    AllocationBasis,
    CostLine,
    LandedCost,
    LandedCostKind,
    allocate_landed_costs,
    inbound_value,
    moving_average,
)
from presale_erp.domain.errors import InvalidRequest

FREIGHT, DUTY = LandedCostKind.FREIGHT, LandedCostKind.DUTY
VALUE, QUANTITY, WEIGHT = AllocationBasis.VALUE, AllocationBasis.QUANTITY, AllocationBasis.WEIGHT

# Two lines: 50 × 12.00 (600.00, 200 g each) and 30 × 20.00 (600.00, 500 g each), and one all-damaged line.
LINES = [CostLine(50, D("12.00"), 200), CostLine(30, D("20.00"), 500), CostLine(0, D("9.00"), 100)]


@pytest.mark.parametrize(
    ("costs", "shares"),
    [
        # value 600 : 600 -> half each
        ([LandedCost(FREIGHT, D("30.00"), VALUE)], ["15.00", "15.00", "0.00"]),
        # units 50 : 30 -> 18.75 / 11.25
        ([LandedCost(FREIGHT, D("30.00"), QUANTITY)], ["18.75", "11.25", "0.00"]),
        # grams 10000 : 15000 -> 12.00 / 18.00
        ([LandedCost(FREIGHT, D("30.00"), WEIGHT)], ["12.00", "18.00", "0.00"]),
        # 0.01 by value 1:1 -> the one fen goes to the first of the equal remainders
        ([LandedCost(FREIGHT, D("0.01"), VALUE)], ["0.01", "0.00", "0.00"]),
        # 10.00 by units 50:30 = 6.25 / 3.75 ; plus 0.03 duty by value 1:1 = 0.02 / 0.01
        ([LandedCost(FREIGHT, D("10.00"), QUANTITY), LandedCost(DUTY, D("0.03"), VALUE)], ["6.27", "3.76", "0.00"]),
        # 100.00 by units 50:30 = 62.5 / 37.5 exactly
        ([LandedCost(FREIGHT, D("100.00"), QUANTITY)], ["62.50", "37.50", "0.00"]),
        # 1.00 by units 50:30: 0.625 / 0.375 fen-exact would be 62.5 / 37.5 fen -> 63 / 37 (tie to the first)
        ([LandedCost(FREIGHT, D("1.00"), QUANTITY)], ["0.63", "0.37", "0.00"]),
        ([], ["0.00", "0.00", "0.00"]),
    ],
)
def test_landed_costs_are_spread_over_accepted_units_to_the_fen(costs, shares):
    allocated = allocate_landed_costs(costs, LINES)

    assert allocated == [D(s) for s in shares]
    assert sum(allocated) == sum((c.amount for c in costs), D("0"))


def test_a_landed_cost_with_nothing_to_carry_it_is_refused():
    weightless = [CostLine(10, D("5.00"), 0)]

    with pytest.raises(InvalidRequest, match="weight"):
        allocate_landed_costs([LandedCost(FREIGHT, D("8.00"), WEIGHT)], weightless)
    with pytest.raises(InvalidRequest, match="negative"):
        allocate_landed_costs([LandedCost(FREIGHT, D("-1.00"), QUANTITY)], weightless)


@pytest.mark.parametrize(
    ("on_hand", "average", "accepted", "value", "expected"),
    [
        # (100 × 10 + 50 × 12 + 30 freight) / 150 = 1630 / 150 = 10.8666… -> 10.866667
        (100, D("10.000000"), 50, D("630.00"), "10.866667"),
        # (10 × 3 + 20 × 4.5) / 30 = 120 / 30 = 4
        (10, D("3"), 20, D("90"), "4.000000"),
        # (1 × 1 + 2 × 1 + 0.01) / 3 = 3.01 / 3 = 1.003333…
        (1, D("1"), 2, D("2.01"), "1.003333"),
        # (2 × 0.000001 + 1 × 0.000002) / 3 = 0.0000013… -> 0.000001
        (2, D("0.000001"), 1, D("0.000002"), "0.000001"),
        # half-up at the 7th place: (1 × 0 + 1 × 0.000001) / 2 = 0.0000005 -> 0.000001
        (1, D("0"), 1, D("0.000001"), "0.000001"),
        # no stock before: the new goods' own cost, 61 / 3 = 20.333…
        (0, D("99"), 3, D("61.00"), "20.333333"),
        # a negative count (stock lost before the receipt): the old average is meaningless
        (-5, D("99"), 4, D("10.00"), "2.500000"),
        # no average known yet: the new cost
        (40, None, 10, D("125.00"), "12.500000"),
        # nothing accepted (all damaged): the average stands
        (40, D("7.123456"), 0, D("0"), "7.123456"),
    ],
)
def test_moving_weighted_average(on_hand, average, accepted, value, expected):
    assert moving_average(on_hand, average, accepted, value) == D(expected)


def test_the_inbound_value_keeps_landed_cost_unrounded_per_unit():
    # 3 units at 10.00 carrying 1.00 freight: 31.00 in total, not 3 × 10.33
    assert inbound_value(3, D("10.00"), D("1.00")) == D("31.00")
    assert moving_average(0, None, 3, inbound_value(3, D("10.00"), D("1.00"))) == D("10.333333")


def test_a_cost_without_units_or_a_negative_value_is_refused():
    with pytest.raises(InvalidRequest):
        moving_average(10, None, 0, D("0"))
    with pytest.raises(InvalidRequest):
        moving_average(10, D("1"), 1, D("-1"))
