"""Approved orders become parcels through the stock ledger (SQLite and PostgreSQL): the right warehouse, split,
merged, with gifts and a carrier; cancellations give stock back; what waits says why."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.tables import orders
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import StockLockPolicy
from presale_erp.domain.fulfilment.gifts import GiftKind
from presale_erp.domain.fulfilment.model import FulfilmentPolicy
from presale_erp.services import catalog, fulfilment, intake, parcels, preorders, review, stock, stock_views
from presale_erp.services import fulfilment_settings as settings
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import builders
from tests.conftest import NOW

CIPHER = PiiCipher(b"f" * 32)
LATER = NOW + timedelta(hours=1)
TEA, CUP = "TEA-250G", "CUP-GIFT"


def set_up(db, *, hz: int = 10, gz: int = 10, lock_in: str | None = "HZ") -> None:
    builders.warehouse(db, "HZ")
    builders.warehouse(db, "GZ")
    builders.sku(db, TEA)
    builders.sku(db, CUP, presale=False)
    for wh, units in (("HZ", hz), ("GZ", gz)):
        if units:
            builders.receive(db, TEA, wh, units)
    builders.receive(db, CUP, "HZ", 5)
    builders.shop(db, "TM-1")
    catalog.set_stock_locking(db, SYSTEM, "TM-1", policy=StockLockPolicy.ON_PAYMENT, warehouse=lock_in, now=NOW)
    settings.set_coverage(db, SYSTEM, "HZ", {"浙江省": 1, "江苏省": 1}, now=NOW)
    settings.set_coverage(db, SYSTEM, "GZ", {"广东省": 1}, now=NOW)
    settings.set_rate(
        db,
        SYSTEM,
        "ZTO",
        warehouse=None,
        province=None,
        first_weight_grams=1000,
        first_fee=Decimal("5.00"),
        extra_fee_per_kg=Decimal("2.00"),
        now=NOW,
    )


def push(db, order_id: str, units: int = 1, *, province: str = "浙江省", buyer: str = "b1", stage: str = "paid", **kw):
    body = payloads.taobao(
        sample(
            order_id,
            stage=stage,
            lines=[SimLine(TEA, units, Decimal("198.00"))],
            province=province,
            buyer_id=buyer,
            phone=kw.pop("phone", "13800138000"),
            modified=kw.pop("modified", NOW),
            created=NOW - timedelta(hours=2),
            **kw,
        )
    )
    intake.intake(db, CIPHER, SYSTEM, "TM-1", [body], source="fetch", now=NOW)


def approve_and_allocate(db):
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    return fulfilment.allocate(db, SYSTEM, now=LATER)


def order_state(db, platform_id: str) -> tuple[str, str]:
    with db.uow(write=False) as uow:
        row = uow.conn.execute(
            select(orders.c.fulfilment_status, orders.c.fulfilment_reason).where(
                orders.c.platform_order_id == platform_id
            )
        ).one()
    return row.fulfilment_status, row.fulfilment_reason


def position(db, wh: str = "HZ", sku: str = TEA) -> dict:
    return stock_views.position_detail(db, sku=sku, warehouse=wh)


def all_parcels(db, status: str | None = "allocated") -> list[dict]:
    return parcels.parcels(db, status=status, shop=None, after="", limit=1000)


def test_an_approved_order_becomes_one_parcel_from_its_regional_warehouse_with_a_carrier(db):
    set_up(db)
    push(db, "1001", 2)

    report = approve_and_allocate(db)

    assert (report.allocated, report.parcels) == (1, 1)
    [parcel] = all_parcels(db)
    assert (parcel["warehouse"], parcel["carrier"], parcel["shipping_cost"]) == ("HZ", "ZTO", Decimal("5.00"))
    assert [(line["sku"], line["quantity"]) for line in parcel["lines"]] == [(TEA, 2)]
    hz = position(db)
    assert (hz["reserved"], hz["awaiting_shipment"], hz["awaiting_review"]) == (2, 2, 0)  # the lock became 待发货
    assert stock.ledger_discrepancies(db) == []


def test_a_guangdong_buyer_ships_from_guangzhou_and_the_lock_in_hangzhou_is_given_back(db):
    set_up(db)
    push(db, "1002", 3, province="广东省")

    approve_and_allocate(db)

    assert [p["warehouse"] for p in all_parcels(db)] == ["GZ"]
    assert (position(db, "HZ")["reserved"], position(db, "GZ")["reserved"]) == (0, 3)
    assert stock.ledger_discrepancies(db) == []


def test_scarce_stock_goes_in_payment_order_and_the_rest_wait_with_the_shortage(db):
    set_up(db, hz=3, gz=0, lock_in=None)
    for n in range(3):
        push(db, f"20{n}", 2, buyer=f"b{n}", modified=NOW + timedelta(minutes=n))

    report = approve_and_allocate(db)

    assert (report.allocated, report.waiting) == (1, 2)
    assert order_state(db, "202") == ("waiting", "缺货 (stock short): TEA-250G wanted 2, best HZ has 1")
    assert position(db)["reserved"] == 3 - 1


def test_cancelling_an_allocated_order_cancels_its_parcel_and_the_next_order_gets_the_stock(db):
    set_up(db, hz=2, gz=0, lock_in=None)
    push(db, "301", 2, buyer="a")
    push(db, "302", 2, buyer="b", modified=NOW + timedelta(minutes=1))
    approve_and_allocate(db)
    assert order_state(db, "302")[0] == "waiting"

    push(db, "301", 2, buyer="a", stage="cancelled", modified=NOW + timedelta(minutes=5))
    fulfilment.allocate(db, SYSTEM, now=LATER)

    assert order_state(db, "301")[0] == "cancelled"
    assert [p["lines"][0]["order_id"] for p in all_parcels(db)] == [_id(db, "302")]
    assert position(db)["reserved"] == 2
    assert stock.ledger_discrepancies(db) == []


def test_two_orders_of_one_buyer_merge_and_staff_can_unmerge_them(db):
    set_up(db)
    push(db, "401", 1)
    push(db, "402", 2, modified=NOW + timedelta(minutes=1))
    approve_and_allocate(db)
    [merged] = all_parcels(db)
    assert merged["reason"].startswith("合单") and sum(line["quantity"] for line in merged["lines"]) == 3

    codes = parcels.unmerge(db, SYSTEM, merged["code"], now=LATER)

    assert sorted(len(p["lines"]) for p in all_parcels(db)) == [1, 1] and len(codes) == 2


def test_a_later_order_of_the_same_buyer_joins_the_open_parcel(db):
    set_up(db)
    push(db, "501", 1)
    approve_and_allocate(db)
    push(db, "502", 1, modified=NOW + timedelta(minutes=3))

    report = approve_and_allocate(db)

    [parcel] = all_parcels(db)
    assert report.merged_into_open == 1 and {line["order_id"] for line in parcel["lines"]} == {
        _id(db, "501"),
        _id(db, "502"),
    }


def test_a_later_order_of_a_buyer_the_platform_does_not_name_gets_its_own_parcel(db):
    """Two buyers without ids at one address are not known to be one buyer: no merge, however alike."""
    set_up(db)
    push(db, "511", 1, buyer="")
    approve_and_allocate(db)
    push(db, "512", 1, buyer="", modified=NOW + timedelta(minutes=3))

    report = approve_and_allocate(db)

    assert report.merged_into_open == 0 and len(all_parcels(db)) == 2


@pytest.mark.parametrize(
    ("buyer", "address", "shop_merges", "read"),
    [
        ("b1", "a1", True, True),
        ("", "a1", True, False),  # Pinduoduo and Douyin may leave the buyer out
        ("b1", "", True, False),
        ("b1", "a1", False, False),  # the shop does not merge at all
    ],
)
def test_open_parcels_are_read_only_for_buyers_a_new_parcel_could_join(buyer, address, shop_merges, read):
    row = {"shop_id": 1, "buyer_index": buyer, "address_index": address}
    shops = {1: {"policy": FulfilmentPolicy(merge=shop_merges)}}

    assert fulfilment._may_merge_with_stored([row], shops) == ({(1, buyer)} if read else set())


def test_a_buy_two_get_a_cup_gift_is_reserved_like_goods_until_the_gifts_run_out(db):
    set_up(db)
    settings.add_gift_rule(
        db,
        SYSTEM,
        settings.NewGiftRule(
            "TM-1",
            "买二送杯",
            GiftKind.BUY_X_GET_Y,
            CUP,
            1,
            NOW - timedelta(days=1),
            NOW + timedelta(days=1),
            TEA,
            2,
            gift_limit=1,
        ),
        now=NOW,
    )
    push(db, "601", 2, buyer="a", phone="13900000001")
    push(db, "602", 2, buyer="b", phone="13900000002", modified=NOW + timedelta(minutes=1))

    report = approve_and_allocate(db)

    gifts = [(line["order_id"], line["sku"]) for p in all_parcels(db) for line in p["lines"] if line["gift"]]
    assert gifts == [(_id(db, "601"), CUP)] and report.gifts == 1
    assert position(db, "HZ", CUP)["reserved"] == 1
    assert settings.gift_rules(db, "TM-1")[0]["gifts_given"] == 1


def test_a_refund_request_after_allocation_takes_the_order_out_of_its_parcel(db):
    set_up(db)
    push(db, "701", 1)
    approve_and_allocate(db)

    push(db, "701", 1, buyer_remark="请改地址", modified=NOW + timedelta(minutes=10))

    assert all_parcels(db) == [] and order_state(db, "701")[0] == "pending"
    assert position(db)["reserved"] == 1  # the stock stays with the order while it is reviewed again


def _id(db, platform_id: str) -> int:
    with db.uow(write=False) as uow:
        return uow.conn.execute(select(orders.c.id).where(orders.c.platform_order_id == platform_id)).scalar_one()


def test_a_mixed_order_ships_its_in_stock_goods_now_and_its_presale_goods_on_their_date(db):
    set_up(db, lock_in=None)
    builders.sku(db, "MOON-6")
    ship_date = NOW + timedelta(days=10)
    body = payloads.taobao(
        sample(
            "901",
            presale="full_payment",
            ship_by=ship_date,
            lines=[SimLine("MOON-6", 1, Decimal("158.00")), SimLine(TEA, 1, Decimal("198.00"), "1000002")],
            created=NOW - timedelta(hours=2),
            modified=NOW,
        )
    )
    body["orders"]["order"][1]["estimate_con_time"] = None  # the tea is in stock: 现货
    intake.intake(db, CIPHER, SYSTEM, "TM-1", [body], source="fetch", now=NOW)

    approve_and_allocate(db)

    assert order_state(db, "901")[0] == "partial" and "预售商品" in order_state(db, "901")[1]
    assert [[line["sku"] for line in p["lines"]] for p in all_parcels(db)] == [[TEA]]

    builders.receive(db, "MOON-6", "HZ", 5)
    after = ship_date + timedelta(hours=1)
    preorders.activate_due(db, SYSTEM, now=after)
    fulfilment.allocate(db, SYSTEM, now=after)

    assert order_state(db, "901")[0] == "allocated"
    assert sorted(line["sku"] for p in all_parcels(db) for line in p["lines"]) == ["MOON-6", TEA]
    assert len(all_parcels(db)) == 2  # one order split on purpose is not merged back
    assert stock.ledger_discrepancies(db) == []


def test_a_shop_that_waits_keeps_a_mixed_pre_order_whole(db):
    set_up(db, lock_in=None)
    builders.sku(db, "MOON-6")
    settings.set_policy(db, SYSTEM, "TM-1", {"ship_in_stock_first": False}, now=NOW)
    body = payloads.taobao(
        sample(
            "902",
            presale="full_payment",
            ship_by=NOW + timedelta(days=10),
            lines=[SimLine("MOON-6", 1, Decimal("158.00")), SimLine(TEA, 1, Decimal("198.00"), "1000002")],
            created=NOW - timedelta(hours=2),
            modified=NOW,
        )
    )
    body["orders"]["order"][1]["estimate_con_time"] = None
    intake.intake(db, CIPHER, SYSTEM, "TM-1", [body], source="fetch", now=NOW)

    approve_and_allocate(db)

    assert order_state(db, "902") == (
        "waiting",
        "整单等预售商品一起发 (the shop ships the whole order on the presale date)",
    )
    assert all_parcels(db) == []


def test_an_order_split_by_weight_can_be_put_back_in_one_parcel_before_picking(db):
    set_up(db)
    settings.set_policy(db, SYSTEM, "TM-1", {"max_parcel_weight_grams": 700}, now=NOW)  # a tea weighs 300 g
    push(db, "1101", 5)
    approve_and_allocate(db)
    assert len(all_parcels(db)) == 3

    kept = parcels.unsplit(db, SYSTEM, _id(db, "1101"), now=LATER)

    [parcel] = all_parcels(db)
    assert parcel["code"] == kept[0] and parcel["weight_grams"] == 1500 and parcel["lines"][0]["quantity"] == 5
