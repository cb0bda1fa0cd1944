"""发货确认 (SQLite and PostgreSQL): a parcel ships through the stock ledger, consuming its reservation, and books
revenue and cost once; the order becomes shipped."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from presale_erp.adapters.db.tables import orders, parcel_lines, reservations
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.aftersales import CaseKind, RefundCause
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import aftersales, fulfilment, parcels, review, stock, stock_views
from presale_erp.services import fulfilment_settings as settings
from presale_erp.services import shipping_confirmation as shipping
from presale_erp.simulators.payloads import SimLine
from tests import builders
from tests import finance_builders as fb
from tests.conftest import NOW


def order_status(db, platform_order_id: str = "5001") -> str:
    """Fulfilment's status: the platform's own status is left for intake to move."""
    with db.uow(write=False) as uow:
        return uow.conn.execute(
            select(orders.c.fulfilment_status).where(orders.c.platform_order_id == platform_order_id)
        ).scalar_one()


def test_a_shipped_parcel_books_its_revenue_and_cost_at_the_moving_average_and_consumes_its_lock(db):
    [parcel] = fb.presale_story_allocated(db)
    before = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")

    report = shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)

    assert (report.shipped, report.refused, report.postings, report.uncosted) == ([parcel["code"]], {}, 1, [])
    # 2 units: revenue 99.50 x 2 = 199.00 (deposit 50.00 + balance 149.00); cost 2 x 61.333333 = 122.666666
    assert fb.postings(db) == [("shipment", 1, 2, Decimal("199.00"), Decimal("61.333333"), Decimal("122.67"))]
    after = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")
    assert (after["on_hand"], after["reserved"]) == (before["on_hand"] - 2, before["reserved"] - 2)
    with db.uow(write=False) as uow:
        assert set(uow.conn.execute(select(reservations.c.status)).scalars()) <= {"posted", "voided"}
    assert order_status(db) == "shipped"
    assert stock.ledger_discrepancies(db) == []


def test_confirming_a_shipped_parcel_again_by_its_tracking_number_changes_nothing(db):
    [parcel] = fb.presale_story_allocated(db)
    shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)

    again = shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], tracking_numbers=["NO-SUCH-1"], now=NOW)

    assert (again.shipped, again.already_shipped, again.postings) == ([], [parcel["code"]], 0)
    assert again.refused == {"NO-SUCH-1": "No parcel with tracking number NO-SUCH-1."}
    assert len(fb.postings(db)) == 1
    assert stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")["on_hand"] == 8


def test_unknown_parcels_are_refused_by_name_and_an_empty_request_is_bad_input(db):
    report = shipping.ship_parcels(db, SYSTEM, codes=["P-NONE"], now=NOW)

    assert report.refused == {"P-NONE": "No parcel P-NONE."}
    with pytest.raises(InvalidRequest):
        shipping.ship_parcels(db, SYSTEM, now=NOW)


def test_a_line_split_over_parcels_leaves_together_and_its_revenue_adds_up_to_the_line(db):
    fb.shop_and_stock(db)
    settings.set_policy(db, SYSTEM, "TM-1", {"max_parcel_weight_grams": 700}, now=NOW)  # a tea weighs 300 g
    fb.push(db, "5101", stage="paid", presale="none", modified=NOW, lines=[SimLine(fb.TEA, 5, Decimal("99.50"))])
    review.review_pending(db, fb.CIPHER, SYSTEM, now=NOW)
    fulfilment.allocate(db, SYSTEM, now=NOW)
    codes = sorted(p["code"] for p in parcels.parcels_of_order(db, fb.order_id(db, "5101")))
    assert len(codes) == 3  # 2 + 2 + 1 units of one line, one stock lock

    alone = shipping.ship_parcels(db, SYSTEM, codes=codes[:1], now=NOW)
    assert alone.shipped == [] and "confirm them together" in alone.refused[codes[0]]
    assert fb.postings(db) == [] and order_status(db, "5101") == "allocated"

    together = shipping.ship_parcels(db, SYSTEM, codes=codes, now=NOW)

    assert (together.shipped, together.refused) == (codes, {})
    booked = fb.postings(db)
    assert [(q, r) for _, _, q, r, _, _ in booked] == [
        (2, Decimal("199.00")),
        (2, Decimal("199.00")),
        (1, Decimal("99.50")),
    ]
    assert sum(r for _, _, _, r, _, _ in booked) == Decimal("497.50")  # 5 x 99.50: the line, to the fen
    assert order_status(db, "5101") == "shipped"
    hz = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")
    assert (hz["on_hand"], hz["reserved"]) == (5, 0)
    assert stock.ledger_discrepancies(db) == []


def test_a_parcel_whose_order_has_an_open_refund_request_does_not_leave(db):
    [parcel] = fb.presale_story_allocated(db)
    aftersales.open_case(
        db,
        SYSTEM,
        case_key="AS-1",
        order_id=fb.order_id(db, "5001"),
        kind=CaseKind.REFUND_ONLY,
        cause=RefundCause.BUYER,
        reason="",
        lines=[],
        now=NOW,
    )

    report = shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)

    assert report.shipped == [] and "售后中" in report.refused[parcel["code"]]
    assert fb.postings(db) == []
    assert stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")["on_hand"] == 10


def test_a_confirmation_cut_off_after_its_movement_completes_on_retry_from_the_same_bin(db):
    [parcel] = fb.presale_story_allocated(db)
    order_id = fb.order_id(db, "5001")
    with db.uow(write=False) as uow:
        reservation_id = uow.conn.execute(select(parcel_lines.c.reservation_id)).scalar_one()
    movement_id = shipping.posting_key(parcel["code"], order_id, 1)
    request = MovementRequest(MovementKind.SHIPMENT, fb.TEA, "HZ", 2, bin="A-01", reservation_id=reservation_id)
    stock.post_movement(db, SYSTEM, movement_id, request, reference=parcel["code"], now=NOW)  # then the crash
    builders.receive(db, fb.TEA, "HZ", 9, bin="A-02")  # A-02 is now the fullest bin

    report = shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)

    assert (report.shipped, report.refused, report.postings) == ([parcel["code"]], {}, 1)
    hz = stock_views.position_detail(db, sku=fb.TEA, warehouse="HZ")
    assert (hz["on_hand"], hz["reserved"]) == (17, 0)  # 10 - 2 + 9: shipped once
    assert stock.ledger_discrepancies(db) == []
