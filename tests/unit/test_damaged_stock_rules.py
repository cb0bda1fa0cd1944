"""Damaged stock (残次品) in the ledger: a line into or out of a non-sellable bin changes the damaged bucket, never
on_hand, so what may be promised to buyers (available to sell) only moves when goods cross between a sellable
and a non-sellable bin."""

from __future__ import annotations

import pytest

from presale_erp.domain.errors import InvalidRequest, NegativeStock
from presale_erp.domain.ledger import Bucket, MovementKind, MovementLine, StockBook, StockPosition
from presale_erp.domain.movements import MovementRequest, plan_lines

K = MovementKind
SKU, WH = "TEA", "HZ"
SHELF, DAMAGED_BIN = "A-01", "X-01"


def book() -> StockBook:
    """10 sellable units on the shelf A-01 (3 of them promised), 4 damaged ones in X-01."""
    return StockBook(
        positions={(SKU, WH): StockPosition(SKU, WH, on_hand=10, reserved=3, awaiting_review=3, damaged=4)},
        bins={(SKU, WH, SHELF): 10, (SKU, WH, DAMAGED_BIN): 4},
        non_sellable_bins={(WH, DAMAGED_BIN)},
    )


def request(kind: MovementKind, quantity: int, bin: str, **more) -> MovementRequest:
    return MovementRequest(kind, SKU, WH, quantity, bin=bin, **more)


@pytest.mark.parametrize(
    ("movement", "lines", "after"),
    [
        pytest.param(
            request(K.RECEIPT, 5, SHELF), [(SHELF, Bucket.ON_HAND, 5)], (15, 4, 15, 4, 12), id="receipt-to-shelf"
        ),
        pytest.param(
            request(K.RECEIPT, 5, DAMAGED_BIN),
            [(DAMAGED_BIN, Bucket.DAMAGED, 5)],
            (10, 9, 10, 9, 7),
            id="receipt-to-damaged-bin",
        ),
        pytest.param(
            request(K.RETURN_RECEIPT, 2, SHELF), [(SHELF, Bucket.ON_HAND, 2)], (12, 4, 12, 4, 9), id="return-resellable"
        ),
        pytest.param(
            request(K.RETURN_RECEIPT, 2, DAMAGED_BIN),
            [(DAMAGED_BIN, Bucket.DAMAGED, 2)],
            (10, 6, 10, 6, 7),
            id="return-damaged",
        ),
        pytest.param(
            request(K.TRANSFER, 3, SHELF, to_bin=DAMAGED_BIN),
            [(SHELF, Bucket.ON_HAND, -3), (DAMAGED_BIN, Bucket.DAMAGED, 3)],
            (7, 7, 7, 7, 4),
            id="found-damaged-on-the-shelf",
        ),
        pytest.param(
            request(K.TRANSFER, 3, DAMAGED_BIN, to_bin=SHELF),
            [(DAMAGED_BIN, Bucket.DAMAGED, -3), (SHELF, Bucket.ON_HAND, 3)],
            (13, 1, 13, 1, 10),
            id="passed-re-inspection",
        ),
        pytest.param(
            request(K.ADJUSTMENT, -4, DAMAGED_BIN, reason="报损"),
            [(DAMAGED_BIN, Bucket.DAMAGED, -4)],
            (10, 0, 10, 0, 7),
            id="scrap",
        ),
        pytest.param(
            request(K.COUNT_CORRECTION, 1, DAMAGED_BIN),
            [(DAMAGED_BIN, Bucket.DAMAGED, -3)],
            (10, 1, 10, 1, 7),
            id="count-of-the-damaged-bin",
        ),
        pytest.param(
            request(K.SHIPMENT, 4, DAMAGED_BIN),
            [(DAMAGED_BIN, Bucket.DAMAGED, -4)],
            (10, 0, 10, 0, 7),
            id="damaged-goods-back-to-the-supplier",
        ),
    ],
)
def test_a_movement_changes_the_bucket_of_the_bin_it_touches(movement, lines, after):
    """`after`: on_hand, damaged, units in the shelf bin, units in the damaged bin, available to sell."""
    stock = book()

    planned = plan_lines(movement, stock)
    stock.post(planned)

    assert [(x.bin, x.bucket, x.quantity) for x in planned] == lines
    position = stock.position(SKU, WH)
    bins = (stock.bins[(SKU, WH, SHELF)], stock.bins[(SKU, WH, DAMAGED_BIN)])
    assert (position.on_hand, position.damaged, *bins, position.available_to_sell) == after


def test_damaged_goods_sent_to_another_warehouse_travel_in_transit_and_take_nothing_promised():
    stock = book()

    planned = plan_lines(MovementRequest(K.TRANSFER, SKU, WH, 4, bin=DAMAGED_BIN, to_warehouse="GZ"), stock)
    stock.post(planned)

    assert [(x.warehouse, x.bucket, x.quantity) for x in planned] == [
        (WH, Bucket.DAMAGED, -4),
        ("GZ", Bucket.IN_TRANSIT_TRANSFER, 4),
    ]
    assert (stock.position(SKU, WH).on_hand, stock.position(SKU, WH).damaged) == (10, 0)


@pytest.mark.parametrize(
    ("movement", "error", "message"),
    [
        (request(K.SHIPMENT, 1, DAMAGED_BIN, reservation_id="R1"), InvalidRequest, "ship from a sellable bin"),
        (request(K.ADJUSTMENT, -5, DAMAGED_BIN, reason="报损"), NegativeStock, "damaged"),
        (request(K.TRANSFER, 5, DAMAGED_BIN, to_bin=SHELF), NegativeStock, "damaged"),
    ],
)
def test_what_the_damaged_bin_cannot_do_is_refused_and_changes_nothing(movement, error, message):
    stock = book()

    with pytest.raises(error, match=message):
        stock.post(plan_lines(movement, stock))

    assert (stock.position(SKU, WH).on_hand, stock.position(SKU, WH).damaged) == (10, 4)
    assert stock.bins == book().bins


@pytest.mark.parametrize(
    ("bin", "bucket"), [(DAMAGED_BIN, Bucket.ON_HAND), (SHELF, Bucket.DAMAGED)], ids=["sellable-into-damaged", "back"]
)
def test_a_line_in_the_wrong_bucket_for_its_bin_is_refused(bin, bucket):
    stock = book()

    with pytest.raises(InvalidRequest, match="cannot go there"):
        stock.post([MovementLine(SKU, WH, bin, bucket, 1)])

    assert stock.bins == book().bins
