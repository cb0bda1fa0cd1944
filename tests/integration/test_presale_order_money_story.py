"""One presale order's money from deposit to return (SQLite and PostgreSQL), every figure computed by hand:

定金 50.00 + 尾款 149.00 for 2 units of TEA-250G at 99.50. Ten units on the shelf at a moving average of
61.333333. Both units ship: revenue 199.00, cost 2 x 61.333333 = 122.666666 -> 122.67. The buyer gets 30.00 back
and keeps the goods (仅退款). Then one unit comes back into the damaged bin (退货退款): its share 99.50 is
refunded, and the cost booked when it left, 61.333333 -> 61.33, is reversed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from presale_erp.adapters.db.tables import stock_costs
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.aftersales import CaseKind, RefundCause
from presale_erp.domain.errors import IllegalTransition
from presale_erp.domain.warehouse import ZoneKind
from presale_erp.services import aftersales, aftersales_settlement, payments, stock, stock_views, warehouses
from presale_erp.services import shipping_confirmation as shipping
from presale_erp.services.aftersales import CaseLine
from tests import finance_builders as fb
from tests.conftest import NOW

LATER = NOW + timedelta(days=3)
RETURNED = NOW + timedelta(days=6)


def damaged_bin(db) -> None:
    warehouses.create_zone(db, SYSTEM, warehouse="HZ", code="D", name="残次品区", kind=ZoneKind.DEFECTIVE, now=NOW)
    warehouses.create_bins(db, SYSTEM, warehouse="HZ", zone="D", codes=["D-01"], now=NOW)


def test_deposit_balance_shipment_partial_refund_and_a_damaged_return_add_up_to_the_fen(db):
    [parcel] = fb.presale_story_allocated(db)
    damaged_bin(db)
    payments.record_from_orders(db, SYSTEM, since=NOW - timedelta(days=30), now=NOW)
    shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)
    order_id = fb.order_id(db, "5001")

    allowance = aftersales.open_case(
        db,
        SYSTEM,
        case_key="AS-1",
        order_id=order_id,
        kind=CaseKind.REFUND_ONLY,
        cause=RefundCause.MERCHANT,
        reason="包装破损, 补偿 30 元",
        lines=[CaseLine(1, amount=Decimal("30.00"))],
        now=LATER,
    )
    aftersales.approve(db, SYSTEM, allowance["id"], now=LATER)
    aftersales_settlement.refund(db, SYSTEM, allowance["id"], refund_ref="RF-1", now=LATER)

    back = aftersales.open_case(
        db,
        SYSTEM,
        case_key="AS-2",
        order_id=order_id,
        kind=CaseKind.RETURN_AND_REFUND,
        cause=RefundCause.BUYER,
        reason="不想要了",
        lines=[CaseLine(1, quantity=1)],
        now=LATER,
    )
    assert back["refund_amount"] == Decimal("99.50")  # one unit's share of 199.00
    assert aftersales.approve(db, SYSTEM, back["id"], now=LATER)["state"] == "awaiting_return"
    aftersales_settlement.receive_return(db, SYSTEM, back["id"], warehouse="HZ", bin="D-01", now=RETURNED)
    done = aftersales_settlement.refund(db, SYSTEM, back["id"], refund_ref="RF-2", now=RETURNED)

    assert done["state"] == "refunded"
    assert fb.postings(db) == [
        ("shipment", 1, 2, Decimal("199.00"), Decimal("61.333333"), Decimal("122.67")),
        ("refund_allowance", 1, 0, Decimal("-30.00"), Decimal("0"), Decimal("0.00")),
        ("return", 1, -1, Decimal("-99.50"), Decimal("61.333333"), Decimal("-61.33")),
    ]
    view = payments.order_payments(db, order_id)
    assert [(e["kind"], e["amount"], e["external_ref"]) for e in view["entries"]] == [
        ("deposit", Decimal("50.00"), "5001"),
        ("balance", Decimal("149.00"), "5001"),
        ("refund", Decimal("-30.00"), "RF-1"),
        ("refund", Decimal("-99.50"), "RF-2"),
    ]
    assert (view["paid"], view["refunded"], view["net"]) == (Decimal("199.00"), Decimal("129.50"), Decimal("69.50"))
    # What is left booked: revenue 199.00 - 30.00 - 99.50 = 69.50, the net paid; cost 122.67 - 61.33 = 61.34.
    booked = fb.postings(db)
    assert sum(p[3] for p in booked) == view["net"] == Decimal("69.50")
    assert sum(p[5] for p in booked) == Decimal("61.34")
    hz = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")
    assert (hz["on_hand"], hz["damaged"], hz["reserved"]) == (8, 1, 0)
    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(stock_costs.c.average_cost)).scalar_one() == Decimal("61.333333")
    assert stock.ledger_discrepancies(db) == []


def test_a_return_cannot_be_refunded_before_the_goods_are_back_nor_received_twice(db):
    [parcel] = fb.presale_story_allocated(db)
    damaged_bin(db)
    shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)
    case = aftersales.open_case(
        db,
        SYSTEM,
        case_key="AS-3",
        order_id=fb.order_id(db, "5001"),
        kind=CaseKind.RETURN_AND_REFUND,
        cause=RefundCause.BUYER,
        reason="",
        lines=[CaseLine(1, quantity=2)],
        now=LATER,
    )
    aftersales.approve(db, SYSTEM, case["id"], now=LATER)

    with pytest.raises(IllegalTransition) as refused:
        aftersales_settlement.refund(db, SYSTEM, case["id"], refund_ref="", now=LATER)
    assert (refused.value.from_state, refused.value.to_state) == ("awaiting_return", "refunded")
    aftersales_settlement.receive_return(db, SYSTEM, case["id"], warehouse="HZ", bin="A-01", now=RETURNED)
    with pytest.raises(IllegalTransition):
        aftersales_settlement.receive_return(db, SYSTEM, case["id"], warehouse="HZ", bin="A-01", now=RETURNED)

    hz = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")
    assert (hz["on_hand"], hz["damaged"]) == (10, 0)  # both back on the shelf, once
    assert fb.postings(db)[-1] == ("return", 1, -2, Decimal("-199.00"), Decimal("61.333333"), Decimal("-122.67"))
