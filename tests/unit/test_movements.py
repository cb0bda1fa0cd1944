"""What each movement kind posts to the ledger: (request in, lines out)."""

from __future__ import annotations

import pytest

from presale_erp.domain.errors import InsufficientStock, InvalidRequest, NegativeStock
from presale_erp.domain.ledger import Bucket, MovementKind, MovementLine, StockBook, StockPosition
from presale_erp.domain.movements import MovementRequest, plan_lines

K = MovementKind
ON_HAND, PURCHASE, TRANSFER = Bucket.ON_HAND, Bucket.IN_TRANSIT_PURCHASE, Bucket.IN_TRANSIT_TRANSFER


def book_with(on_hand: int = 10, reserved: int = 0, bin_qty: int | None = None) -> StockBook:
    return StockBook(
        positions={
            ("TEA", "HZ"): StockPosition(
                sku="TEA", warehouse="HZ", on_hand=on_hand, reserved=reserved, awaiting_review=reserved
            )
        },
        bins={("TEA", "HZ", "A-01"): on_hand if bin_qty is None else bin_qty},
    )


CASES = [
    (
        "receipt into a bin",
        MovementRequest(K.RECEIPT, "TEA", "HZ", 5, bin="A-01"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, 5)],
    ),
    (
        "receipt against an inbound notice clears purchase in transit",
        MovementRequest(K.RECEIPT, "TEA", "HZ", 5, bin="A-01", clears_in_transit=True),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, 5), MovementLine("TEA", "HZ", None, PURCHASE, -5)],
    ),
    (
        "shipment from a bin",
        MovementRequest(K.SHIPMENT, "TEA", "HZ", 4, bin="A-01"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, -4)],
    ),
    (
        "bin to bin inside a warehouse",
        MovementRequest(K.TRANSFER, "TEA", "HZ", 3, bin="A-01", to_bin="B-01"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, -3), MovementLine("TEA", "HZ", "B-01", ON_HAND, 3)],
    ),
    (
        "between warehouses the goods travel first",
        MovementRequest(K.TRANSFER, "TEA", "HZ", 3, bin="A-01", to_warehouse="GZ"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, -3), MovementLine("TEA", "GZ", None, TRANSFER, 3)],
    ),
    (
        "transfer receipt lands the travelling goods",
        MovementRequest(K.TRANSFER_RECEIPT, "TEA", "HZ", 3, bin="A-01"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, 3), MovementLine("TEA", "HZ", None, TRANSFER, -3)],
    ),
    (
        "adjustment with a reason",
        MovementRequest(K.ADJUSTMENT, "TEA", "HZ", -2, bin="A-01", reason="damaged"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, -2)],
    ),
    (
        "count finds less than the books",
        MovementRequest(K.COUNT_CORRECTION, "TEA", "HZ", 7, bin="A-01"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, -3)],
    ),
    (
        "a count that agrees still leaves a record",
        MovementRequest(K.COUNT_CORRECTION, "TEA", "HZ", 10, bin="A-01"),
        [MovementLine("TEA", "HZ", "A-01", ON_HAND, 0)],
    ),
    (
        "inbound notice announces purchase stock",
        MovementRequest(K.INBOUND_NOTICE, "TEA", "HZ", 600),
        [MovementLine("TEA", "HZ", None, PURCHASE, 600)],
    ),
]


@pytest.mark.parametrize(("request_", "lines"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_movement_lines(request_: MovementRequest, lines: list[MovementLine]):
    assert plan_lines(request_, book_with()) == lines


REFUSED = [
    ("receipt without a bin", MovementRequest(K.RECEIPT, "TEA", "HZ", 5), "must name the bin"),
    ("receipt of nothing", MovementRequest(K.RECEIPT, "TEA", "HZ", 0, bin="A-01"), "at least 1 unit"),
    (
        "adjustment without a reason",
        MovementRequest(K.ADJUSTMENT, "TEA", "HZ", 1, bin="A-01"),
        "needs a reason",
    ),
    (
        "transfer to the same bin",
        MovementRequest(K.TRANSFER, "TEA", "HZ", 1, bin="A-01", to_bin="A-01"),
        "same",
    ),
    ("bin transfer without a destination", MovementRequest(K.TRANSFER, "TEA", "HZ", 1, bin="A-01"), "to_bin"),
    (
        "negative count",
        MovementRequest(K.COUNT_CORRECTION, "TEA", "HZ", -1, bin="A-01"),
        "cannot be negative",
    ),
]


@pytest.mark.parametrize(("request_", "message"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_movements_say_why(request_: MovementRequest, message: str):
    with pytest.raises(InvalidRequest, match=message):
        plan_lines(request_, book_with())


def test_a_shipment_without_its_own_reservation_cannot_take_promised_stock():
    with pytest.raises(InsufficientStock):
        plan_lines(MovementRequest(K.SHIPMENT, "TEA", "HZ", 8, bin="A-01"), book_with(on_hand=10, reserved=3))


def test_a_shipment_against_its_reservation_may_take_locked_stock():
    request = MovementRequest(K.SHIPMENT, "TEA", "HZ", 8, bin="A-01", reservation_id="R1")

    assert plan_lines(request, book_with(on_hand=10, reserved=8)) == [MovementLine("TEA", "HZ", "A-01", ON_HAND, -8)]


def test_a_bin_can_never_go_negative_even_if_the_warehouse_has_stock_elsewhere():
    book = book_with(on_hand=10, bin_qty=2)

    with pytest.raises(NegativeStock, match="bin A-01"):
        book.post(plan_lines(MovementRequest(K.ADJUSTMENT, "TEA", "HZ", -3, bin="A-01", reason="x"), book))


def test_a_refused_movement_changes_nothing():
    book = book_with(on_hand=10)
    lines = [MovementLine("TEA", "HZ", "A-01", ON_HAND, -4), MovementLine("TEA", "HZ", "A-01", ON_HAND, -7)]

    with pytest.raises(NegativeStock):
        book.post(lines)

    assert book.positions[("TEA", "HZ")].on_hand == 10
    assert book.bins[("TEA", "HZ", "A-01")] == 10
