"""What each kind of stock movement does to the ledger, as the lines it posts.

A line into or out of a bin counts in that bin's bucket (StockBook.bin_bucket): on_hand for a sellable bin,
damaged for a non-sellable one (残次品区). So a receipt or return into the damaged bin adds damaged units, a
transfer from a shelf into the damaged bin (found damaged) or back (re-inspection passed) moves units between
the buckets, and scrapping (报损) is a negative adjustment in the damaged bin. Finding goods damaged is a
recorded loss like an adjustment: it may leave promised units uncovered (a shortage), which is the truth."""

from __future__ import annotations

from dataclasses import dataclass

from presale_erp.domain.errors import InsufficientStock, InvalidRequest, Shortfall
from presale_erp.domain.ledger import Bucket, MovementKind, MovementLine, StockBook


@dataclass(frozen=True)
class MovementRequest:
    """A stock movement as asked for. `quantity` means:

    receipt, return_receipt, shipment, transfer, transfer_receipt: units moved (> 0); adjustment and
    inbound_notice: the signed change; count_correction: the quantity counted in the bin (the ledger posts the
    difference).
    """

    kind: MovementKind
    sku: str
    warehouse: str
    quantity: int
    bin: str | None = None
    to_warehouse: str | None = None
    to_bin: str | None = None
    clears_in_transit: bool = False
    reservation_id: str | None = None
    reason: str | None = None


def plan_lines(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    planner = _PLANNERS[request.kind]
    return planner(request, book)


def _in_bin(
    request: MovementRequest, book: StockBook, quantity: int, warehouse: str | None = None, bin: str | None = None
) -> MovementLine:
    """A line into (or out of) a bin, in the bucket that bin's units count in."""
    where = warehouse or request.warehouse
    code = bin or request.bin or ""
    return MovementLine(request.sku, where, code, book.bin_bucket(where, code), quantity)


def _from_damaged_bin(request: MovementRequest, book: StockBook) -> bool:
    return book.bin_bucket(request.warehouse, request.bin or "") is Bucket.DAMAGED


def _need_bin(request: MovementRequest) -> None:
    if not request.bin:
        raise InvalidRequest(f"A {request.kind.value} of {request.sku} must name the bin (货位).")


def _need_positive(request: MovementRequest) -> None:
    if request.quantity <= 0:
        raise InvalidRequest(
            f"A {request.kind.value} must move at least 1 unit of {request.sku}, not {request.quantity}."
        )


def _receipt(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    _need_positive(request)
    _need_bin(request)
    lines = [_in_bin(request, book, request.quantity)]
    if request.clears_in_transit:
        lines.append(MovementLine(request.sku, request.warehouse, None, Bucket.IN_TRANSIT_PURCHASE, -request.quantity))
    return lines


def _need_free_stock(request: MovementRequest, book: StockBook) -> None:
    """Stock that leaves a warehouse without its own reservation may only come from unpromised stock,
    or it would silently take goods already sold to someone else."""
    position = book.position(request.sku, request.warehouse)
    if request.quantity > position.free_on_hand:
        raise InsufficientStock([Shortfall(request.sku, request.warehouse, request.quantity, position.free_on_hand)])


def _shipment(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    _need_positive(request)
    _need_bin(request)
    if _from_damaged_bin(request, book):
        if request.reservation_id is not None:
            raise InvalidRequest(
                f"Bin {request.bin} of {request.warehouse} holds damaged (non-sellable) {request.sku}; "
                "goods promised to a buyer ship from a sellable bin."
            )
        # Damaged goods leaving unreserved (back to the supplier, sold off as seconds) take nothing promised.
        return [_in_bin(request, book, -request.quantity)]
    if request.reservation_id is None:
        _need_free_stock(request, book)
    return [_in_bin(request, book, -request.quantity)]


def _transfer(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    _need_positive(request)
    _need_bin(request)
    destination = request.to_warehouse or request.warehouse
    if destination == request.warehouse:
        if not request.to_bin:
            raise InvalidRequest("A transfer inside one warehouse must name the destination bin (to_bin).")
        if request.to_bin == request.bin:
            raise InvalidRequest(f"Transfer of {request.sku}: source and destination bin are the same.")
        return [_in_bin(request, book, -request.quantity), _in_bin(request, book, request.quantity, bin=request.to_bin)]
    if request.to_bin:
        raise InvalidRequest(
            "Between warehouses the goods go into transit first: leave out to_bin and name the bin in the "
            "transfer_receipt at the destination."
        )
    if not _from_damaged_bin(request, book):
        _need_free_stock(request, book)
    # Between warehouses the goods travel first: they count as transfer in-transit at the destination
    # (调拨在途) until a transfer_receipt puts them into a bin there (a damaged bin, if they are damaged).
    return [
        _in_bin(request, book, -request.quantity),
        MovementLine(request.sku, destination, None, Bucket.IN_TRANSIT_TRANSFER, request.quantity),
    ]


def _transfer_receipt(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    _need_positive(request)
    _need_bin(request)
    return [
        _in_bin(request, book, request.quantity),
        MovementLine(request.sku, request.warehouse, None, Bucket.IN_TRANSIT_TRANSFER, -request.quantity),
    ]


def _adjustment(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    _need_bin(request)
    if request.quantity == 0:
        raise InvalidRequest(f"An adjustment of {request.sku} must change the quantity; 0 changes nothing.")
    if not (request.reason and request.reason.strip()):
        raise InvalidRequest(f"An adjustment of {request.sku} needs a reason (e.g. damaged, found, sample).")
    return [_in_bin(request, book, request.quantity)]


def _count_correction(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    _need_bin(request)
    if request.quantity < 0:
        raise InvalidRequest(f"A count of {request.sku} cannot be negative ({request.quantity}).")
    booked = book.bins.get((request.sku, request.warehouse, request.bin or ""), 0)
    # A count that matches the books still posts a zero line: the count itself is part of the history.
    return [_in_bin(request, book, request.quantity - booked)]


def _inbound_notice(request: MovementRequest, book: StockBook) -> list[MovementLine]:
    if request.quantity == 0:
        raise InvalidRequest(f"An inbound notice of {request.sku} must announce at least 1 unit (or cancel some).")
    return [MovementLine(request.sku, request.warehouse, None, Bucket.IN_TRANSIT_PURCHASE, request.quantity)]


_PLANNERS = {
    MovementKind.RECEIPT: _receipt,
    MovementKind.RETURN_RECEIPT: _receipt,
    MovementKind.SHIPMENT: _shipment,
    MovementKind.TRANSFER: _transfer,
    MovementKind.TRANSFER_RECEIPT: _transfer_receipt,
    MovementKind.ADJUSTMENT: _adjustment,
    MovementKind.COUNT_CORRECTION: _count_correction,
    MovementKind.INBOUND_NOTICE: _inbound_notice,
}
