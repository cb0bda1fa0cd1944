"""发货确认: a parcel leaves the warehouse. Which parcels may ship, which bin each line is taken from, what the
line earns and costs, and what the order's status becomes once its goods are out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.transitions import guard_transition

# A parcel's life: allocated -> (picking -> packed) -> shipped; any open parcel may be cancelled.
PARCEL_TRANSITIONS = frozenset(
    {
        ("allocated", "picking"),
        ("allocated", "packed"),
        ("picking", "packed"),
        ("allocated", "shipped"),
        ("picking", "shipped"),
        ("packed", "shipped"),
        ("allocated", "cancelled"),
        ("picking", "cancelled"),
        ("packed", "cancelled"),
    }
)
SHIPPED = "shipped"
GIFT_LINE_FROM = 10001  # parcel lines numbered from here are gifts (赠品): no order line, no revenue


def guard_ship(code: str, status: str) -> None:
    guard_transition(f"Parcel {code}", PARCEL_TRANSITIONS, status, SHIPPED)


def is_gift(line_no: int) -> bool:
    return line_no >= GIFT_LINE_FROM


@dataclass(frozen=True)
class BinStock:
    bin: str
    on_hand: int


def choose_bin(sku: str, warehouse: str, quantity: int, bins: list[BinStock], taken: Mapping[str, int]) -> str:
    """The sellable bin a parcel line is picked from: the fullest one that holds the whole line (a reservation
    ships in one movement, from one bin), counting what earlier lines of the same batch already took. Ties go to
    the lowest bin code, so the choice is the same on a retry."""
    fits = [b for b in bins if b.on_hand - taken.get(b.bin, 0) >= quantity]
    if not fits:
        held = ", ".join(f"{b.bin}: {b.on_hand - taken.get(b.bin, 0)}" for b in bins) or "none"
        raise InvalidRequest(
            f"No single sellable bin in {warehouse} holds {quantity} of {sku} (bins: {held}); "
            "move the goods into one bin (调拨) and confirm again."
        )
    return min(fits, key=lambda b: (-(b.on_hand - taken.get(b.bin, 0)), b.bin)).bin


def fulfilment_after(current: str, ordered: Mapping[int, int], shipped: Mapping[int, int]) -> str | None:
    """The order's fulfilment status once these units are out: `shipped` when every line that is not refunded
    has shipped in full, else unchanged (None). Only fulfilment's own status moves: the platform's status
    (orders.status) stays the platform's, so a newer platform version that still says "paid" (the buyer edits
    a remark before the tracking number reaches the platform) is taken in, not refused as a move backwards. A
    partly shipped order keeps its status too, so the lines still to allocate (presale goods) are not lost."""
    if current in (SHIPPED, "cancelled") or not ordered:
        return None
    complete = all(shipped.get(line, 0) >= quantity for line, quantity in ordered.items())
    return SHIPPED if complete else None


def unit_cost_or_zero(average: Decimal | None) -> tuple[Decimal, bool]:
    """The unit cost booked for a shipment, and whether it was known. A SKU with no cost yet (no receipt costed,
    no catalogue cost) ships at 0.000000 and is reported as uncosted, so finance can correct it; guessing a cost
    would hide the gap in the margin."""
    return (average, True) if average is not None else (Decimal("0.000000"), False)
