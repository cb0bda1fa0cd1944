"""Fulfilment rules as cases: an order (and stock) in, parcels or a waiting reason out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from presale_erp.domain.fulfilment.carriers import CarrierRule, Rate, cheapest, choose_carrier
from presale_erp.domain.fulfilment.gifts import GiftKind, GiftRule
from presale_erp.domain.fulfilment.model import (
    Allocated,
    FulfilmentPolicy,
    Line,
    QueueOrder,
    ShipOrder,
    Strategy,
    Waiting,
    Warehouse,
)
from presale_erp.domain.fulfilment.plan import Catalogue, fulfil

NOW = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
HZ = Warehouse("HZ", covers={"浙江省": 1, "江苏省": 2})
GZ = Warehouse("GZ", covers={"广东省": 1})
TJ = Warehouse("TJ-3PL", kind="3pl", covers={"北京市": 1})
RATES = [
    Rate("ZTO", 1000, Decimal("5.00"), Decimal("2.00")),
    Rate("SF", 1000, Decimal("12.00"), Decimal("4.00")),
    Rate("ZTO", 1000, Decimal("9.00"), Decimal("3.00"), warehouse="GZ", province="浙江省"),
]


def order(*lines: Line, id: int = 1, province: str = "浙江省", buyer: str = "b1", paid_minutes_ago: int = 60, **kw):
    return ShipOrder(
        id=id,
        shop_id=1,
        province=province,
        buyer_index=buyer,
        address_index=f"addr-{buyer}",
        paid_at=NOW - timedelta(minutes=paid_minutes_ago),
        lines=list(lines),
        **kw,
    )


def line(no: int, sku: str, qty: int = 1, grams: int = 500, **kw) -> Line:
    return Line(no, sku, qty, grams, **kw)


def run(
    orders, stock, policy=FulfilmentPolicy(), pins=None, gifts=(), warehouses=(HZ, GZ, TJ), open_parcels=(), held=None
):
    catalogue = Catalogue(
        warehouses=warehouses,
        pins=pins or {},
        cost=lambda wh, province, grams: cheapest(RATES, wh, province, grams),
        gift_rules=gifts,
        weight_grams={"GIFT-CUP": 200},
    )
    return fulfil(list(orders), dict(stock), catalogue, policy, NOW, open_parcels, held)


def boxes(result) -> list[tuple[str, list[tuple[int, str, int]]]]:
    """Parcels as (warehouse, [(order, sku, units)]) for reading in a test."""
    return sorted((p.warehouse, sorted((pl.order_id, pl.sku, pl.quantity) for pl in p.lines)) for p in result.parcels)


ALLOCATION_CASES = [
    pytest.param(
        [order(line(1, "TEA"))],
        {("TEA", "HZ"): 5, ("TEA", "GZ"): 5},
        FulfilmentPolicy(),
        [("HZ", [(1, "TEA", 1)])],
        id="属地仓: a Zhejiang buyer ships from Hangzhou when both warehouses have it",
    ),
    pytest.param(
        [order(line(1, "TEA"), province="广东省")],
        {("TEA", "HZ"): 5, ("TEA", "GZ"): 5},
        FulfilmentPolicy(),
        [("GZ", [(1, "TEA", 1)])],
        id="属地仓: a Guangdong buyer ships from Guangzhou",
    ),
    pytest.param(
        [order(line(1, "TEA"), province="北京市")],
        {("TEA", "TJ-3PL"): 5, ("TEA", "HZ"): 5},
        FulfilmentPolicy(),
        [("TJ-3PL", [(1, "TEA", 1)])],
        id="a 3PL warehouse is an allocation target like our own",
    ),
    pytest.param(
        [order(line(1, "TEA"))],
        {("TEA", "HZ"): 0, ("TEA", "GZ"): 5},
        FulfilmentPolicy(),
        [("GZ", [(1, "TEA", 1)])],
        id="库存: the regional warehouse is out, the next one with stock ships",
    ),
    pytest.param(
        [order(line(1, "TEA"), line(2, "CUP"))],
        {("TEA", "HZ"): 5, ("CUP", "GZ"): 5, ("TEA", "GZ"): 5},
        FulfilmentPolicy(),
        [("GZ", [(1, "CUP", 1), (1, "TEA", 1)])],
        id="最少包裹: one warehouse that holds the whole order beats a nearer one holding half",
    ),
    pytest.param(
        [order(line(1, "TEA"), line(2, "CUP"))],
        {("TEA", "HZ"): 5, ("CUP", "GZ"): 5, ("TEA", "GZ"): 5},
        FulfilmentPolicy(strategies=(Strategy.REGIONAL, Strategy.FEWEST_PARCELS)),
        [("GZ", [(1, "CUP", 1)]), ("HZ", [(1, "TEA", 1)])],
        id="strategy order matters: regional first splits the order between two warehouses",
    ),
    pytest.param(
        [order(line(1, "TEA"), line(2, "CUP"))],
        {("TEA", "HZ"): 5, ("CUP", "GZ"): 5},
        FulfilmentPolicy(),
        [("GZ", [(1, "CUP", 1)]), ("HZ", [(1, "TEA", 1)])],
        id="拆单 by warehouse: no single warehouse can fill the order",
    ),
    pytest.param(
        [order(line(1, "TEA"), province="浙江省")],
        {("TEA", "HZ"): 5, ("TEA", "GZ"): 5},
        FulfilmentPolicy(strategies=(Strategy.LOWEST_COST,)),
        [("HZ", [(1, "TEA", 1)])],
        id="运费最低: the warehouse with the cheaper rate to the buyer ships",
    ),
    pytest.param(
        [order(line(1, "TEA"))],
        {("TEA", "HZ"): 5, ("TEA", "GZ"): 5},
        FulfilmentPolicy(strategies=(Strategy.STOCK,)),
        [("GZ", [(1, "TEA", 1)])],
        id="库存优先 alone: ties broken by code, GZ before HZ",
    ),
]


@pytest.mark.parametrize(("orders", "stock", "policy", "expected"), ALLOCATION_CASES)
def test_allocation(orders, stock, policy, expected):
    assert boxes(run(orders, stock, policy)) == expected


def test_a_pinned_sku_ships_only_from_its_pinned_warehouse():
    result = run([order(line(1, "TEA"))], {("TEA", "HZ"): 5, ("TEA", "GZ"): 5}, pins={"TEA": frozenset({"GZ"})})

    assert boxes(result) == [("GZ", [(1, "TEA", 1)])]


def test_a_pinned_sku_waits_when_its_warehouse_is_out_even_if_another_has_it():
    result = run([order(line(1, "TEA"))], {("TEA", "HZ"): 5, ("TEA", "GZ"): 0}, pins={"TEA": frozenset({"GZ"})})

    assert isinstance(result.decisions[1], Waiting)
    assert "TEA wanted 1, best GZ has 0" in result.decisions[1].reason


def test_a_shop_that_does_not_split_by_warehouse_waits_for_one_warehouse_to_hold_it_all():
    result = run(
        [order(line(1, "TEA"), line(2, "CUP"))],
        {("TEA", "HZ"): 5, ("CUP", "GZ"): 5},
        FulfilmentPolicy(split_across_warehouses=False),
    )

    assert result.decisions[1].reason.startswith("缺货, 无单仓可发全单")


def test_scarce_stock_goes_to_the_earliest_payer_and_the_later_one_waits_with_the_shortage():
    early, late = order(line(1, "TEA", 2), id=1, paid_minutes_ago=90), order(line(1, "TEA", 2), id=2)

    result = run([late, early], {("TEA", "HZ"): 3})

    assert isinstance(result.decisions[1], Allocated)
    assert result.decisions[2].reason == "缺货 (stock short): TEA wanted 2, best HZ has 1"


def test_a_flagged_vip_order_is_served_before_earlier_payers():
    early, vip = order(line(1, "TEA"), id=1, paid_minutes_ago=90), order(line(1, "TEA"), id=2, priority=1)

    result = run([early, vip], {("TEA", "HZ"): 1})

    assert isinstance(result.decisions[2], Allocated) and isinstance(result.decisions[1], Waiting)


def test_deposit_first_serves_the_earliest_presale_deposit_not_the_earliest_balance():
    first_deposit = order(line(1, "TEA"), id=1, deposit_paid_at=NOW - timedelta(days=20), paid_minutes_ago=10)
    later_deposit = order(line(1, "TEA"), id=2, deposit_paid_at=NOW - timedelta(days=5), paid_minutes_ago=50)

    result = run(
        [later_deposit, first_deposit], {("TEA", "HZ"): 1}, FulfilmentPolicy(queue_order=QueueOrder.DEPOSIT_FIRST)
    )

    assert isinstance(result.decisions[1], Allocated) and isinstance(result.decisions[2], Waiting)


LATER = NOW + timedelta(days=10)
SPLIT_CASES = [
    pytest.param(
        FulfilmentPolicy(),
        [("HZ", None, [(1, "TEA", 1)]), ("HZ", LATER, [(1, "MOON", 1)])],
        id="现货先发: the in-stock line ships now, the presale line on its date",
    ),
    pytest.param(
        FulfilmentPolicy(ship_in_stock_first=False),
        [("HZ", LATER, [(1, "MOON", 1), (1, "TEA", 1)])],
        id="the shop says wait: one parcel on the presale date",
    ),
]


@pytest.mark.parametrize(("policy", "expected"), SPLIT_CASES)
def test_mixed_presale_and_in_stock_orders(policy, expected):
    mixed = order(line(1, "TEA"), line(2, "MOON", presale=True, planned_ship_at=LATER))

    result = run([mixed], {("TEA", "HZ"): 5, ("MOON", "HZ"): 5}, policy)

    parcels = [
        (p.warehouse, p.ship_after, sorted((pl.order_id, pl.sku, pl.quantity) for pl in p.lines))
        for p in result.parcels
    ]
    assert sorted(parcels, key=lambda p: p[1] or NOW) == expected


def test_presale_lines_with_different_ship_dates_ship_apart_unless_the_shop_says_otherwise():
    two_dates = order(
        line(1, "MOON", presale=True, planned_ship_at=LATER),
        line(2, "TEA", presale=True, planned_ship_at=LATER + timedelta(days=5)),
    )
    stock = {("TEA", "HZ"): 5, ("MOON", "HZ"): 5}

    assert len(run([two_dates], stock).parcels) == 2
    assert len(run([two_dates], stock, FulfilmentPolicy(split_by_ship_date=False)).parcels) == 1


def test_a_heavy_order_is_split_into_parcels_within_the_weight_limit():
    heavy = order(line(1, "RICE", 5, grams=4000))

    result = run([heavy], {("RICE", "HZ"): 10}, FulfilmentPolicy(max_parcel_weight_grams=10_000))

    assert sorted(p.weight_grams for p in result.parcels) == [4000, 8000, 8000]
    assert all(p.reason == "超重/超体积拆单" for p in result.parcels)


def test_a_single_unit_over_the_limit_still_ships_alone():
    result = run(
        [order(line(1, "SOFA", 1, grams=30_000))], {("SOFA", "HZ"): 1}, FulfilmentPolicy(max_parcel_weight_grams=10_000)
    )

    assert [p.weight_grams for p in result.parcels] == [30_000]


def two_orders(**second):
    return [order(line(1, "TEA"), id=1), order(line(1, "CUP"), id=2, **second)]


MERGE_CASES = [
    pytest.param({}, FulfilmentPolicy(), 1, id="合单: same buyer, address and warehouse become one parcel"),
    pytest.param({}, FulfilmentPolicy(merge=False), 2, id="the shop turned merging off"),
    pytest.param({"buyer": "b2"}, FulfilmentPolicy(), 2, id="different buyers never merge"),
    pytest.param({"cash_on_delivery": True}, FulfilmentPolicy(), 2, id="cash on delivery never merges"),
    pytest.param({"separate_parcels": True}, FulfilmentPolicy(), 2, id="the buyer asked for separate parcels"),
    pytest.param({"paid_minutes_ago": 60 * 100}, FulfilmentPolicy(), 2, id="paid further apart than the window"),
    pytest.param({"presale": True}, FulfilmentPolicy(merge_presale=False), 2, id="presale kept out by the shop"),
    pytest.param({"presale": True}, FulfilmentPolicy(), 1, id="presale orders merge when the shop allows it"),
]


@pytest.mark.parametrize(("second", "policy", "parcels"), MERGE_CASES)
def test_merging(second, policy, parcels):
    result = run(two_orders(**second), {("TEA", "HZ"): 5, ("CUP", "HZ"): 5}, policy)

    assert len(result.parcels) == parcels


def test_orders_with_different_presale_ship_dates_do_not_merge_unless_configured():
    first = order(line(1, "MOON", presale=True, planned_ship_at=LATER), id=1)
    second = order(line(1, "TEA", presale=True, planned_ship_at=LATER + timedelta(days=3)), id=2)
    stock = {("TEA", "HZ"): 5, ("MOON", "HZ"): 5}

    assert len(run([first, second], stock).parcels) == 2
    assert len(run([first, second], stock, FulfilmentPolicy(merge_across_ship_dates=True)).parcels) == 1


def test_a_merge_that_would_break_the_weight_limit_does_not_happen():
    heavy = [order(line(1, "RICE", 2, grams=4000), id=1), order(line(1, "RICE", 2, grams=4000), id=2)]

    result = run(heavy, {("RICE", "HZ"): 10}, FulfilmentPolicy(max_parcel_weight_grams=10_000))

    assert len(result.parcels) == 2


def test_a_fresh_order_waits_for_a_possible_merge_and_says_so():
    result = run(
        [order(line(1, "TEA"), paid_minutes_ago=5)], {("TEA", "HZ"): 5}, FulfilmentPolicy(merge_wait_minutes=30)
    )

    assert result.decisions[1].reason.startswith("等待合单")
    assert result.parcels == []


START, END = NOW - timedelta(days=1), NOW + timedelta(days=1)
BUY_2_GET_CUP = GiftRule(
    1, "买二送杯", GiftKind.BUY_X_GET_Y, "GIFT-CUP", 1, START, END, trigger_sku="TEA", trigger_quantity=2
)
SPEND_300 = GiftRule(2, "满300送杯", GiftKind.SPEND_OVER, "GIFT-CUP", 1, START, END, threshold=Decimal("300.00"))
GIFT_CASES = [
    pytest.param(order(line(1, "TEA", 2)), [BUY_2_GET_CUP], 1, id="buy two, get a cup"),
    pytest.param(order(line(1, "TEA", 1)), [BUY_2_GET_CUP], 0, id="buy one: no cup"),
    pytest.param(order(line(1, "TEA", 4)), [BUY_2_GET_CUP], 1, id="once per order unless the rule repeats"),
    pytest.param(
        order(line(1, "TEA", 4)),
        [GiftRule(1, "每满二送一", GiftKind.BUY_X_GET_Y, "GIFT-CUP", 1, START, END, "TEA", 2, repeat=True)],
        2,
        id="每满: one cup per two teas",
    ),
    pytest.param(order(line(1, "TEA"), amount=Decimal("358.00")), [SPEND_300], 1, id="spend over 300, get a cup"),
    pytest.param(order(line(1, "TEA"), amount=Decimal("299.99")), [SPEND_300], 0, id="299.99 is not over 300"),
    pytest.param(
        order(line(1, "TEA", 2), paid_minutes_ago=60 * 48),
        [BUY_2_GET_CUP],
        0,
        id="paid before the promotion started: no cup",
    ),
]


@pytest.mark.parametrize(("the_order", "rules", "cups"), GIFT_CASES)
def test_gift_rules(the_order, rules, cups):
    result = run([the_order], {("TEA", "HZ"): 10, ("GIFT-CUP", "HZ"): 10}, gifts=rules)

    given = [pl for p in result.parcels for pl in p.lines if pl.gift_rule is not None]
    assert sum(pl.quantity for pl in given) == cups


def test_limited_gifts_run_out_in_queue_order_across_the_batch():
    rule = GiftRule(1, "限量赠品", GiftKind.BUY_X_GET_Y, "GIFT-CUP", 1, START, END, "TEA", 1, remaining=2)
    orders = [order(line(1, "TEA"), id=n, buyer=f"b{n}", paid_minutes_ago=100 - n) for n in range(1, 5)]

    result = run(orders, {("TEA", "HZ"): 10, ("GIFT-CUP", "HZ"): 10}, gifts=[rule])

    with_gift = sorted(pl.order_id for p in result.parcels for pl in p.lines if pl.gift_rule)
    assert with_gift == [1, 2] and result.gifts_left == {1: 0}


def test_a_gift_without_stock_is_left_out_with_a_note_and_the_goods_still_ship():
    result = run([order(line(1, "TEA", 2))], {("TEA", "HZ"): 10, ("GIFT-CUP", "HZ"): 0}, gifts=[BUY_2_GET_CUP])

    decision = result.decisions[1]
    assert isinstance(decision, Allocated) and decision.notes[0].startswith("赠品库存不足")
    assert result.gifts_left == {1: None}


def test_gifts_are_taken_from_free_stock_like_goods():
    stock = {("TEA", "HZ"): 10, ("GIFT-CUP", "HZ"): 1}
    orders = [order(line(1, "TEA", 2), id=1, buyer="a"), order(line(1, "TEA", 2), id=2, buyer="b")]

    result = run(orders, stock, gifts=[BUY_2_GET_CUP])

    assert sum(1 for p in result.parcels for pl in p.lines if pl.gift_rule) == 1


CARRIER_RULES = [
    CarrierRule("SF", max_weight_grams=0, priority=1),
    CarrierRule("ZTO", provinces=frozenset({"浙江省", "江苏省"}), max_weight_grams=20_000, priority=2),
]
CARRIER_CASES = [
    pytest.param(800, "HZ", "浙江省", CARRIER_RULES, "ZTO", Decimal("5.00"), id="cheapest allowed carrier in region"),
    pytest.param(800, "HZ", "新疆维吾尔自治区", CARRIER_RULES, "SF", Decimal("12.00"), id="outside ZTO's region: SF"),
    pytest.param(25_000, "HZ", "浙江省", CARRIER_RULES, "SF", Decimal("108.00"), id="over ZTO's weight: SF"),
    pytest.param(2_500, "HZ", "浙江省", [], "ZTO", Decimal("9.00"), id="no rules: cheapest rate, 续重 per kilo"),
    pytest.param(800, "GZ", "浙江省", [], "ZTO", Decimal("9.00"), id="a warehouse-and-province rate beats the default"),
]


@pytest.mark.parametrize(("grams", "wh", "province", "rules", "carrier", "cost"), CARRIER_CASES)
def test_carrier_choice(grams, wh, province, rules, carrier, cost):
    choice = choose_carrier(grams, wh, province, rules, RATES)

    assert (choice.carrier, choice.cost) == (carrier, cost)


def test_no_carrier_rule_covering_the_parcel_is_a_reason_to_wait():
    choice = choose_carrier(800, "HZ", "西藏自治区", [CarrierRule("ZTO", provinces=frozenset({"浙江省"}))], RATES)

    assert isinstance(choice, Waiting) and "西藏自治区" in choice.reason


def test_an_order_keeps_the_stock_it_locked_at_payment_even_when_nothing_else_is_free():
    locked, latecomer = order(line(1, "TEA", 2), id=1), order(line(1, "TEA"), id=2, paid_minutes_ago=120)

    result = run([latecomer, locked], {("TEA", "HZ"): 0}, held={1: {("TEA", "HZ"): 2}})

    assert isinstance(result.decisions[1], Allocated) and isinstance(result.decisions[2], Waiting)


def test_a_pinned_order_ships_from_its_pin_even_though_its_lock_was_elsewhere():
    pinned_away = order(line(1, "TEA"), id=1, paid_minutes_ago=120)
    next_one = order(line(1, "TEA"), id=2, buyer="b2")

    result = run(
        [pinned_away, next_one],
        {("TEA", "HZ"): 0, ("TEA", "GZ"): 1},
        pins={"TEA": frozenset({"GZ"})},
        held={1: {("TEA", "HZ"): 1}},
        warehouses=(HZ, GZ),
    )

    assert boxes(result) == [("GZ", [(1, "TEA", 1)])]
    assert isinstance(result.decisions[2], Waiting)
