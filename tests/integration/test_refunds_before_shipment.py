"""Refunds before anything ships, and deposits kept when the balance never comes (SQLite and PostgreSQL).

定金 50.00 for 2 units at 99.50 (尾款 149.00). Stock locks at the deposit (付定金锁) in HZ."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from presale_erp.adapters.db import balance_repo
from presale_erp.adapters.db.tables import parcels, sales_postings
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.aftersales import CaseKind, DepositPolicy, RefundCause
from presale_erp.domain.catalog import StockLockPolicy
from presale_erp.domain.errors import Conflict, IllegalTransition, InvalidRequest
from presale_erp.services import aftersales, aftersales_settlement, forfeited_deposits, payments, stock, stock_views
from presale_erp.services.aftersales import CaseLine
from tests import finance_builders as fb
from tests.conftest import NOW

SHIP_BY = NOW + timedelta(days=20)
LATER = NOW + timedelta(hours=2)


def deposit_only(db, policy: DepositPolicy | None = None) -> int:
    fb.shop_and_stock(db, policy=StockLockPolicy.ON_DEPOSIT)
    if policy:
        aftersales.set_deposit_policy(db, SYSTEM, "TM-1", policy, now=NOW)
    fb.push(db, "6001", stage="deposit", modified=NOW - timedelta(days=1), ship_by=SHIP_BY)
    payments.record_from_orders(db, SYSTEM, since=NOW - timedelta(days=30), now=NOW)
    return fb.order_id(db, "6001")


def refund_whole(db, order_id: int, cause: RefundCause = RefundCause.BUYER, key: str = "AS-1") -> dict:
    case = aftersales.open_case(
        db,
        SYSTEM,
        case_key=key,
        order_id=order_id,
        kind=CaseKind.REFUND_ONLY,
        cause=cause,
        reason="",
        lines=[],
        now=LATER,
    )
    aftersales.approve(db, SYSTEM, case["id"], now=LATER)
    return aftersales_settlement.refund(db, SYSTEM, case["id"], refund_ref="", now=LATER)


def forfeited(db) -> list[tuple]:
    with db.uow(write=False) as uow:
        rows = uow.conn.execute(
            select(sales_postings.c.kind, sales_postings.c.quantity, sales_postings.c.revenue, sales_postings.c.cost)
        ).all()
    return [tuple(r) for r in rows]


def test_a_buyer_who_walks_away_from_a_deposit_gets_nothing_back_the_stock_goes_back_and_the_deposit_is_income(db):
    order_id = deposit_only(db)
    assert stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")["reserved"] == 2

    case = refund_whole(db, order_id)

    assert (case["state"], case["refund_amount"], case["before_shipment"]) == ("refunded", Decimal("0.00"), True)
    assert stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")["reserved"] == 0
    view = payments.order_payments(db, order_id)
    assert (view["paid"], view["refunded"], view["net"]) == (Decimal("50.00"), Decimal("0.00"), Decimal("50.00"))
    assert forfeited(db) == [("deposit_forfeited", 0, Decimal("50.00"), Decimal("0.00"))]
    assert stock.ledger_discrepancies(db) == []


@pytest.mark.parametrize(
    ("policy", "cause"),
    [(DepositPolicy.REFUND, RefundCause.BUYER), (DepositPolicy.KEEP, RefundCause.MERCHANT)],
)
def test_the_deposit_comes_back_when_the_shop_refunds_deposits_or_the_merchant_is_at_fault(db, policy, cause):
    order_id = deposit_only(db, policy)

    case = refund_whole(db, order_id, cause)

    assert case["refund_amount"] == Decimal("50.00")
    view = payments.order_payments(db, order_id)
    assert [(e["kind"], e["amount"]) for e in view["entries"]] == [
        ("deposit", Decimal("50.00")),
        ("refund", Decimal("-50.00")),
    ]
    assert view["net"] == Decimal("0.00")
    assert forfeited(db) == []


def test_a_paid_order_refunded_before_shipment_gives_back_deposit_and_balance_and_cancels_its_parcel(db):
    [parcel] = fb.presale_story_allocated(db, "5002")
    payments.record_from_orders(db, SYSTEM, since=NOW - timedelta(days=30), now=NOW)
    order_id = fb.order_id(db, "5002")

    case = refund_whole(db, order_id)

    assert case["refund_amount"] == Decimal("199.00")
    assert payments.order_payments(db, order_id)["net"] == Decimal("0.00")
    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(parcels.c.status).where(parcels.c.code == parcel["code"])).scalar_one() == (
            "cancelled"
        )
    hz = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")
    assert (hz["on_hand"], hz["reserved"]) == (10, 0)
    assert forfeited(db) == []
    with pytest.raises(Conflict):
        refund_whole(db, order_id, key="AS-2")  # one whole-order refund per order


def test_deposits_whose_balance_window_passed_are_booked_as_income_once(db):
    order_id = deposit_only(db)
    with db.uow() as uow:
        balance_repo.mark_expired(uow.conn, [order_id], NOW)
        uow.commit()

    first = forfeited_deposits.record_forfeited_deposits(db, SYSTEM, now=NOW)
    again = forfeited_deposits.record_forfeited_deposits(db, SYSTEM, now=NOW)

    assert (first.orders, first.postings, again.postings) == (1, 1, 0)
    assert forfeited(db) == [("deposit_forfeited", 0, Decimal("50.00"), Decimal("0.00"))]


def test_a_shop_that_refunds_deposits_books_no_forfeiture_when_the_window_passes(db):
    order_id = deposit_only(db, DepositPolicy.REFUND)
    with db.uow() as uow:
        balance_repo.mark_expired(uow.conn, [order_id], NOW)
        uow.commit()

    assert forfeited_deposits.record_forfeited_deposits(db, SYSTEM, now=NOW).postings == 0


def test_cases_refuse_what_cannot_be_true(db):
    order_id = deposit_only(db)
    open_ = dict(case_key="AS-9", order_id=order_id, cause=RefundCause.BUYER, reason="", now=LATER)

    with pytest.raises(InvalidRequest):  # nothing shipped: nothing to return
        aftersales.open_case(db, SYSTEM, kind=CaseKind.RETURN_AND_REFUND, lines=[], **open_)
    with pytest.raises(InvalidRequest):  # before shipment the whole order, not lines
        aftersales.open_case(db, SYSTEM, kind=CaseKind.REFUND_ONLY, lines=[CaseLine(1, amount=Decimal("1"))], **open_)
    case = aftersales.open_case(db, SYSTEM, kind=CaseKind.REFUND_ONLY, lines=[], **open_)
    assert aftersales.open_case(db, SYSTEM, kind=CaseKind.REFUND_ONLY, lines=[], **open_)["id"] == case["id"]
    with pytest.raises(Conflict):
        aftersales.open_case(db, SYSTEM, kind=CaseKind.RETURN_AND_REFUND, lines=[], **open_)
    with pytest.raises(IllegalTransition):
        aftersales_settlement.refund(db, SYSTEM, case["id"], refund_ref="", now=LATER)  # not approved
    assert aftersales.reject(db, SYSTEM, case["id"], now=LATER)["state"] == "rejected"
    with pytest.raises(IllegalTransition):
        aftersales.approve(db, SYSTEM, case["id"], now=LATER)
