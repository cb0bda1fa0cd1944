"""The stock ledger on a real database (each test runs on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from presale_erp.adapters.db.tables import audit_log, movements
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import Conflict, InsufficientStock, InvalidRequest, NegativeStock, NotFound
from presale_erp.domain.ledger import MovementKind, ReservationStage, ReservationStatus
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import stock, stock_views
from tests import builders
from tests.conftest import NOW

K = MovementKind


def position(db, sku="TEA-250G", wh="HZ") -> dict:
    return stock_views.position_detail(db, sku=sku, warehouse=wh)


def line(id_: str, quantity: int, stage=ReservationStage.AWAITING_REVIEW, sku="TEA-250G", wh="HZ"):
    return stock.ReservationLine(id_, sku, wh, quantity, stage)


def reserve(db, *lines, order="T1", expires_at=None):
    return stock.reserve(db, SYSTEM, list(lines), shop=None, order_ref=order, expires_at=expires_at, now=NOW)


def test_a_receipt_puts_stock_on_the_shelf_and_in_the_ledger(db):
    builders.stocked(db, 20)

    view = position(db)

    assert (view["on_hand"], view["available_to_sell"]) == (20, 20)
    assert view["bins"] == [{"bin": "A-01", "zone": "A", "sellable": True, "on_hand": 20}]
    assert view["damaged"] == 0
    assert stock.ledger_discrepancies(db) == []


def test_posting_the_same_movement_id_twice_posts_it_once(db):
    builders.stocked(db, 0)
    request = MovementRequest(K.RECEIPT, "TEA-250G", "HZ", 5, bin="A-01")

    first = stock.post_movement(db, SYSTEM, "rcv-1", request, reference=None, now=NOW)
    again = stock.post_movement(db, SYSTEM, "rcv-1", request, reference=None, now=NOW)

    assert (first.replayed, again.replayed) == (False, True)
    assert position(db)["on_hand"] == 5


def test_reusing_a_movement_id_for_different_content_is_refused(db):
    builders.stocked(db, 0)
    stock.post_movement(
        db,
        SYSTEM,
        "rcv-1",
        MovementRequest(K.RECEIPT, "TEA-250G", "HZ", 5, bin="A-01"),
        reference=None,
        now=NOW,
    )

    with pytest.raises(Conflict, match="different movement"):
        stock.post_movement(
            db,
            SYSTEM,
            "rcv-1",
            MovementRequest(K.RECEIPT, "TEA-250G", "HZ", 6, bin="A-01"),
            reference=None,
            now=NOW,
        )


def test_a_refused_movement_writes_nothing(db):
    builders.stocked(db, 3)
    with db.uow(write=False) as uow:
        before = uow.conn.execute(select(func.count()).select_from(movements)).scalar_one()

    with pytest.raises(NegativeStock):
        stock.post_movement(
            db,
            SYSTEM,
            "adj-1",
            MovementRequest(K.ADJUSTMENT, "TEA-250G", "HZ", -5, bin="A-01", reason="damaged"),
            reference=None,
            now=NOW,
        )

    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(func.count()).select_from(movements)).scalar_one() == before
    assert position(db)["on_hand"] == 3


@pytest.mark.parametrize(
    ("request_", "error"),
    [
        (MovementRequest(K.RECEIPT, "NO-SUCH-SKU", "HZ", 1, bin="A-01"), NotFound),
        (MovementRequest(K.RECEIPT, "TEA-250G", "NOWHERE", 1, bin="A-01"), NotFound),
        (MovementRequest(K.RECEIPT, "TEA-250G", "HZ", 1, bin="Z-99"), NotFound),
        (MovementRequest(K.RECEIPT, "TEA-250G", "HZ", 1), InvalidRequest),
    ],
    ids=["unknown sku", "unknown warehouse", "unknown bin", "no bin"],
)
def test_movements_naming_unknown_things_are_refused(db, request_, error):
    builders.stocked(db, 0)

    with pytest.raises(error):
        stock.post_movement(db, SYSTEM, "m-1", request_, reference=None, now=NOW)


def test_a_transfer_between_warehouses_is_in_transit_until_received(db):
    builders.stocked(db, 10)
    builders.warehouse(db, "GZ")

    stock.post_movement(
        db,
        SYSTEM,
        "tr-1",
        MovementRequest(K.TRANSFER, "TEA-250G", "HZ", 4, bin="A-01", to_warehouse="GZ"),
        reference="TR-1",
        now=NOW,
    )
    travelling = position(db, wh="GZ")
    stock.post_movement(
        db,
        SYSTEM,
        "tr-1-in",
        MovementRequest(K.TRANSFER_RECEIPT, "TEA-250G", "GZ", 4, bin="A-02"),
        reference="TR-1",
        now=NOW,
    )

    assert (position(db)["on_hand"], travelling["in_transit_transfer"], travelling["on_hand"]) == (6, 4, 0)
    assert (position(db, wh="GZ")["on_hand"], position(db, wh="GZ")["in_transit_transfer"]) == (4, 0)
    assert stock.ledger_discrepancies(db) == []


def test_an_inbound_notice_counts_as_purchase_in_transit_until_the_receipt(db):
    builders.stocked(db, 0)

    stock.post_movement(
        db,
        SYSTEM,
        "asn-1",
        MovementRequest(K.INBOUND_NOTICE, "TEA-250G", "HZ", 100),
        reference="PO-9",
        now=NOW,
    )
    stock.post_movement(
        db,
        SYSTEM,
        "rcv-9",
        MovementRequest(K.RECEIPT, "TEA-250G", "HZ", 60, bin="A-01", clears_in_transit=True),
        reference="PO-9",
        now=NOW,
    )

    assert (position(db)["on_hand"], position(db)["in_transit_purchase"]) == (60, 40)


def test_a_count_correction_posts_the_difference(db):
    builders.stocked(db, 10)

    stock.post_movement(
        db,
        SYSTEM,
        "cnt-1",
        MovementRequest(K.COUNT_CORRECTION, "TEA-250G", "HZ", 7, bin="A-01"),
        reference="PD-1",
        now=NOW,
    )

    assert position(db)["on_hand"] == 7
    assert stock.ledger_discrepancies(db) == []


def test_reserving_several_lines_is_all_or_nothing_and_names_every_short_line(db):
    builders.stocked(db, 5)
    builders.sku(db, "CUP")
    builders.receive(db, "CUP", "HZ", 1)

    with pytest.raises(InsufficientStock) as short:
        reserve(db, line("T1:1", 3), line("T1:2", 2, sku="CUP"))

    assert [(s.sku, s.wanted, s.available) for s in short.value.lines] == [("CUP", 2, 1)]
    assert position(db)["reserved"] == 0


def test_reserving_again_with_the_same_ids_is_a_no_op(db):
    builders.stocked(db, 5)

    first = reserve(db, line("T1:1", 3))
    again = reserve(db, line("T1:1", 3))

    assert (first.replayed, again.replayed) == (False, True)
    assert position(db)["reserved"] == 3


def test_a_reservation_id_reused_for_other_goods_is_refused(db):
    builders.stocked(db, 5)
    reserve(db, line("T1:1", 3))

    with pytest.raises(Conflict):
        reserve(db, line("T1:1", 2))


def test_shipping_a_reservation_takes_the_goods_and_ends_the_lock(db):
    builders.stocked(db, 5)
    reserve(db, line("T1:1", 3, ReservationStage.AWAITING_SHIPMENT))

    stock.post_movement(
        db,
        SYSTEM,
        "ship-1",
        MovementRequest(K.SHIPMENT, "TEA-250G", "HZ", 3, bin="A-01", reservation_id="T1:1"),
        reference="SF123",
        now=NOW,
    )

    view = position(db)
    assert (view["on_hand"], view["reserved"], view["awaiting_shipment"]) == (2, 0, 0)
    assert (
        stock_views.list_reservations(
            db, sku=None, warehouse=None, status=None, order_ref="T1", after_id=None, limit=10
        )[0]["status"]
        == "posted"
    )
    assert stock.ledger_discrepancies(db) == []


def test_a_released_reservation_cannot_be_released_again(db):
    builders.stocked(db, 5)
    reserve(db, line("T1:1", 3))
    stock.release(db, SYSTEM, ["T1:1"], now=NOW)

    with pytest.raises(InvalidRequest, match="already voided"):
        stock.release(db, SYSTEM, ["T1:1"], now=NOW)
    assert position(db)["reserved"] == 0


def test_restaging_moves_locked_stock_between_the_counters_staff_watch(db):
    builders.stocked(db, 5)
    reserve(db, line("T1:1", 2, ReservationStage.PRESALE_BOOKED))

    stock.restage(db, SYSTEM, ["T1:1"], ReservationStage.AWAITING_SHIPMENT, now=NOW)

    view = position(db)
    assert (view["presale_booked"], view["awaiting_shipment"], view["available_to_ship"]) == (0, 2, 3)


def test_leases_that_ran_out_are_released_by_the_expiry_job(db):
    builders.stocked(db, 5)
    reserve(db, line("T1:1", 2), expires_at=NOW + timedelta(minutes=30), order="T1")
    reserve(db, line("T2:1", 1), expires_at=None, order="T2")

    assert stock.expire_reservations(db, SYSTEM, now=NOW + timedelta(minutes=10)) == 0
    assert stock.expire_reservations(db, SYSTEM, now=NOW + timedelta(minutes=31)) == 1
    assert stock.expire_reservations(db, SYSTEM, now=NOW + timedelta(minutes=32)) == 0

    assert position(db)["reserved"] == 1
    rows = stock_views.list_reservations(
        db,
        sku=None,
        warehouse=None,
        status=ReservationStatus.EXPIRED.value,
        order_ref=None,
        after_id=None,
        limit=10,
    )
    assert [r["id"] for r in rows] == ["T1:1"]


def test_every_write_records_who_did_it(db):
    builders.stocked(db, 5)

    with db.uow(write=False) as uow:
        actors = set(uow.conn.execute(select(audit_log.c.actor)).scalars())
        movement_actors = set(uow.conn.execute(select(movements.c.actor)).scalars())

    assert actors == {"system:jobs"} and movement_actors == {"system:jobs"}


def test_a_retried_reservation_answers_with_what_is_stored(db):
    builders.stocked(db, 5)
    builders.shop(db, "TM-1")
    stock.reserve(db, SYSTEM, [line("T1:1", 2)], shop="TM-1", order_ref="T1", expires_at=None, now=NOW)
    stock.restage(db, SYSTEM, ["T1:1"], ReservationStage.AWAITING_SHIPMENT, now=NOW)

    again = stock.reserve(db, SYSTEM, [line("T1:1", 2)], shop="TM-1", order_ref="T1", expires_at=None, now=NOW)

    assert again.replayed
    assert (again.reservations[0]["shop"], again.reservations[0]["stage"]) == ("TM-1", "awaiting_shipment")
    with pytest.raises(Conflict):
        stock.reserve(db, SYSTEM, [line("T1:1", 2)], shop=None, order_ref="T1", expires_at=None, now=NOW)


def test_a_lease_that_has_already_ended_is_refused(db):
    builders.stocked(db, 5)

    with pytest.raises(InvalidRequest, match="already past"):
        reserve(db, line("T1:1", 1), expires_at=NOW - timedelta(seconds=1))


def ship(id_: str, reservation: str, quantity: int) -> stock.MovementItem:
    request = MovementRequest(MovementKind.SHIPMENT, "TEA-250G", "HZ", quantity, bin="A-01", reservation_id=reservation)
    return stock.MovementItem(id_, request, "P-1")


def test_a_batch_of_shipments_posts_together_consumes_each_lock_and_replays_on_retry(db):
    builders.stocked(db, 20)
    reserve(db, line("S:1", 3), line("S:2", 4))
    batch = [ship("ship:1", "S:1", 3), ship("ship:2", "S:2", 4)]

    first = stock.post_movements(db, SYSTEM, batch, now=NOW)
    again = stock.post_movements(db, SYSTEM, batch, now=NOW)

    assert [m.replayed for m in first] == [False, False] and [m.replayed for m in again] == [True, True]
    p = position(db)
    assert (p["on_hand"], p["reserved"]) == (13, 0)
    assert stock.ledger_discrepancies(db) == []


@pytest.mark.parametrize(
    "bad",
    [
        ship("ship:2", "S:2", 5),  # ships more than its lock holds
        ship("ship:2", "S:2", 4),  # the lock the batch's first movement already consumes
        ship("ship:2", "NO-SUCH-LOCK", 4),
        stock.MovementItem("ship:1", MovementRequest(MovementKind.RECEIPT, "TEA-250G", "HZ", 1, bin="A-01")),
    ],
    ids=["wrong quantity", "a lock consumed twice", "unknown reservation", "an id already used for other content"],
)
def test_a_batch_with_one_bad_movement_posts_none_of_them(db, bad):
    builders.stocked(db, 20)
    reserve(db, line("S:1", 3), line("S:2", 4))
    stock.post_movements(db, SYSTEM, [ship("ship:1", "S:1", 3)], now=NOW)

    with pytest.raises((InvalidRequest, NotFound, Conflict)):
        stock.post_movements(db, SYSTEM, [ship("ship:3", "S:2", 4), bad], now=NOW)  # ship:3 alone would post

    p = position(db)
    assert (p["on_hand"], p["reserved"]) == (17, 4)
    assert stock.ledger_discrepancies(db) == []
