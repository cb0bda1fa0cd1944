"""Buying decisions (newsvendor, safety stock, reorder point, replenishment, stockout date), hand-computed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.forecasting.decisions import (
    Z_80,
    DailyDemand,
    DemandRange,
    Inbound,
    LeadTime,
    StockPicture,
    UnitEconomics,
    newsvendor,
    overstock_units,
    projected_stockout,
    reorder_policy,
    replenishment,
)

SIGMA_100 = DemandRange(point=1000, low=1000 - Z_80 * 100, high=1000 + Z_80 * 100)  # a normal curve, sd 100


@pytest.mark.parametrize(
    ("price", "cost", "salvage", "ratio", "target"),
    [
        ("100", "50", "0", 0.5, 1000),  # as much to lose either way: stock the median
        ("100", "20", "0", 0.8, 1085),  # 1000 + 0.8416 * 100 = 1084.2, rounded up to whole units
        ("100", "80", "0", 0.2, 916),  # 1000 - 0.8416 * 100 = 915.8
        ("100", "60", "20", 0.5, 1000),  # Cu 40, Co 60 - 20 = 40
    ],
)
def test_newsvendor_stocks_up_to_the_critical_ratio_of_demand(price, cost, salvage, ratio, target):
    economics = UnitEconomics(Decimal(cost), Decimal(price), Decimal(salvage))

    decision = newsvendor(SIGMA_100, economics, on_hand=0)

    assert economics.critical_ratio == pytest.approx(ratio)
    assert decision.quantity == target
    assert decision.inputs["target_stock"] == target


def test_newsvendor_buys_only_what_is_missing_from_stock_on_hand():
    decision = newsvendor(SIGMA_100, UnitEconomics(Decimal("50"), Decimal("100")), on_hand=400)

    assert decision.quantity == 600
    assert "buy 600 on top of 400 on hand" in decision.explanation


def test_newsvendor_explains_the_money_on_each_side():
    decision = newsvendor(SIGMA_100, UnitEconomics(Decimal("50"), Decimal("100")), on_hand=0)

    # At the median of a normal curve the expected leftover is sd * pdf(0) = 39.9 units, as is the shortfall.
    assert decision.inputs["expected_leftover_units"] == pytest.approx(39.9, abs=0.3)
    assert decision.inputs["expected_short_units"] == pytest.approx(39.9, abs=0.3)
    assert "Each unit short loses ¥50" in decision.explanation
    assert "80% range 872–1128" in decision.explanation


def test_a_skewed_range_buys_more_than_its_point_when_shortage_costs_more():
    skewed = DemandRange(point=100, low=90, high=160)

    decision = newsvendor(skewed, UnitEconomics(Decimal("20"), Decimal("100")))

    assert decision.quantity > 100 + 0.84 * (10 / Z_80)  # the upper side's spread is the one that counts


def test_safety_stock_covers_demand_and_lead_time_spread():
    # sqrt(9 * 5^2 + 10^2 * 2^2) = 25; z(95%) = 1.645 -> 41.1 -> 42; ROP = 10 * 9 + 42 = 132
    policy = reorder_policy(DailyDemand(10, 5), LeadTime(9, 2), 0.95)

    assert (policy.safety_stock, policy.reorder_point) == (42, 132)
    assert "Reorder when stock you can sell falls to 132 units" in policy.explanation


@pytest.mark.parametrize(
    ("available", "inbound", "min_order", "quantity"),
    [
        (100, 20, 1, 82),  # position 120 <= 132: order up to 132 + 7 days * 10 = 202
        (100, 20, 100, 100),  # rounded up to the supplier's minimum order
        (130, 10, 1, 0),  # position 140 above the reorder point: nothing to order
    ],
)
def test_replenishment_orders_up_to_the_target_when_at_or_below_the_reorder_point(
    available, inbound, min_order, quantity
):
    policy = reorder_policy(DailyDemand(10, 5), LeadTime(9, 2), 0.95)
    stock = StockPicture(available, (Inbound(inbound, date(2026, 12, 1)),))

    decision = replenishment(stock, policy, DailyDemand(10, 5), review_days=7, min_order=min_order)

    assert decision.quantity == quantity


def test_stockout_date_counts_inbound_stock_on_the_day_it_lands():
    stock = StockPicture(25, (Inbound(10, date(2026, 12, 3)),))
    forecast = [(date(2026, 12, d), 10.0) for d in range(1, 8)]

    assert projected_stockout(stock, forecast) == date(2026, 12, 4)
    assert projected_stockout(StockPicture(1000), forecast) is None


def test_overstock_is_what_stock_and_inbound_leave_after_expected_demand():
    stock = StockPicture(300, (Inbound(200, date(2026, 12, 3)),))

    assert overstock_units(stock, 420.4) == 79
    assert overstock_units(stock, 900) == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: DemandRange(point=10, low=12, high=20),
        lambda: UnitEconomics(Decimal("10"), Decimal("0")),
        lambda: UnitEconomics(Decimal("10"), Decimal("20"), salvage_value=Decimal("11")),
        lambda: reorder_policy(DailyDemand(1, 1), LeadTime(1), 1.0),
        lambda: LeadTime(-1),
    ],
)
def test_impossible_inputs_are_refused_with_a_reason(make):
    with pytest.raises(InvalidRequest):
        make()


def test_the_sales_calendar_marks_618_double_eleven_and_double_twelve_in_any_year():
    from presale_erp.domain.forecasting.sales_calendar import promotion_days

    calendar = promotion_days(date(2027, 11, 10), date(2027, 12, 12))

    marked = calendar.loc[calendar["promotion"] == 1, "date"].dt.date.tolist()
    assert marked == [date(2027, 11, 11), date(2027, 12, 12)]
