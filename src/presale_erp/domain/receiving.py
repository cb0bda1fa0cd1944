"""Receiving (收货入库): checking what arrived against what a purchase order still expects, and what the order's
status becomes.

Rules:

- Only a placed order can be received: sent, confirmed or partly received (not a draft, a received, closed or
  cancelled one).
- Accepted units go into a sellable bin as sellable stock and count as received on the order line.
- Damaged units are recorded on the receipt but are not received: the supplier owes them again (or a credit),
  so the line stays open for them (拒收). They go through the stock ledger into the warehouse's damaged bin
  (残次品区: the one the receipt names, else its first non-sellable bin) as damaged stock, never sellable.
- Under-receipt leaves the line open. Over-receipt is allowed up to a tolerance of the ordered quantity
  (suppliers round to full cartons), flagged on the receipt; beyond it the whole receipt is refused.
- The order becomes `received` when every line has received its ordered quantity, else `partly_received`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from presale_erp.domain.errors import IllegalTransition, InvalidRequest
from presale_erp.domain.transitions import guard_transition

DEFAULT_OVER_RECEIPT_TOLERANCE = Decimal("0.05")  # 5% of the ordered quantity, rounded down to whole units

RECEIVABLE = frozenset({"sent", "confirmed", "partly_received"})
TRANSITIONS = frozenset(
    {
        ("sent", "partly_received"),
        ("sent", "received"),
        ("confirmed", "partly_received"),
        ("confirmed", "received"),
        ("partly_received", "partly_received"),
        ("partly_received", "received"),
    }
)


class OverReceipt(InvalidRequest):
    title = "Over-receipt"

    def __init__(self, lines: list[dict[str, object]]) -> None:
        self.lines = lines
        parts = [
            f"line {x['line_no']} ({x['sku']}): ordered {x['ordered']}, already received {x['received']}, "
            f"{x['arriving']} arriving, at most {x['allowed']} more allowed"
            for x in lines
        ]
        super().__init__(
            "More arrived than the purchase order allows (over-receipt tolerance exceeded): "
            + "; ".join(parts)
            + ". Receive only the allowed quantity and return the rest, or amend the order first."
        )

    def facts(self) -> dict[str, object]:
        return {"lines": self.lines}


@dataclass(frozen=True)
class OrderLine:
    """A purchase order line as receiving needs it."""

    line_no: int
    sku: str
    ordered: int
    received: int

    @property
    def outstanding(self) -> int:
        return max(self.ordered - self.received, 0)


@dataclass(frozen=True)
class Arrival:
    """What arrived for one order line: accepted into `bin`, and damaged."""

    line_no: int
    accepted: int
    damaged: int = 0
    bin: str | None = None


@dataclass(frozen=True)
class CheckedArrival:
    arrival: Arrival
    line: OrderLine
    over: int  # units beyond the ordered quantity, within tolerance (flagged, not refused)


def require_receivable(po_code: str, status: str) -> None:
    if status not in RECEIVABLE:
        raise IllegalTransition(f"Purchase order {po_code}", status, "partly_received")


def allowed_more(line: OrderLine, tolerance: Decimal) -> int:
    """Units the line may still take, tolerance included."""
    extra = math.floor(line.ordered * tolerance)
    return max(line.ordered + extra - line.received, 0)


def check_arrivals(
    po_code: str,
    lines: Sequence[OrderLine],
    arrivals: Sequence[Arrival],
    tolerance: Decimal = DEFAULT_OVER_RECEIPT_TOLERANCE,
) -> list[CheckedArrival]:
    """Refuse what cannot be received as a whole, before anything is written."""
    if not arrivals:
        raise InvalidRequest(f"A receipt against {po_code} needs at least one line.")
    if tolerance < 0:
        raise InvalidRequest("The over-receipt tolerance cannot be negative.")
    by_no = {line.line_no: line for line in lines}
    seen: set[int] = set()
    checked, too_many = [], []
    for arrival in arrivals:
        line = _line_for(po_code, by_no, arrival, seen)
        _check_quantities(po_code, arrival, line)
        allowed = allowed_more(line, tolerance)
        if arrival.accepted > allowed:
            too_many.append(
                {
                    "line_no": line.line_no,
                    "sku": line.sku,
                    "ordered": line.ordered,
                    "received": line.received,
                    "arriving": arrival.accepted,
                    "allowed": allowed,
                }
            )
        checked.append(CheckedArrival(arrival, line, max(arrival.accepted - line.outstanding, 0)))
    if too_many:
        raise OverReceipt(too_many)
    return checked


def _line_for(po_code: str, by_no: dict[int, OrderLine], arrival: Arrival, seen: set[int]) -> OrderLine:
    line = by_no.get(arrival.line_no)
    if line is None:
        raise InvalidRequest(f"Purchase order {po_code} has no line {arrival.line_no}.")
    if arrival.line_no in seen:
        raise InvalidRequest(f"Line {arrival.line_no} appears twice in one receipt; give it once with the totals.")
    seen.add(arrival.line_no)
    return line


def _check_quantities(po_code: str, arrival: Arrival, line: OrderLine) -> None:
    if arrival.accepted < 0 or arrival.damaged < 0:
        raise InvalidRequest(f"Line {arrival.line_no} of {po_code}: quantities cannot be negative.")
    if arrival.accepted + arrival.damaged == 0:
        raise InvalidRequest(f"Line {arrival.line_no} of {po_code}: nothing arrived (accepted and damaged are 0).")
    if arrival.accepted > 0 and not (arrival.bin and arrival.bin.strip()):
        raise InvalidRequest(f"Line {arrival.line_no} ({line.sku}): name the bin (货位) the accepted units go into.")


def damaged_bin_for(
    po_code: str,
    warehouse: str,
    checked: Sequence[CheckedArrival],
    named: str | None,
    non_sellable_bins: Sequence[str],
) -> str | None:
    """The bin the receipt's damaged units go into, given the warehouse's non-sellable bins in their order;
    None when nothing arrived damaged. Accepted units may not go into a non-sellable bin."""
    for c in checked:
        if c.arrival.accepted and c.arrival.bin in non_sellable_bins:
            raise InvalidRequest(
                f"Line {c.arrival.line_no} of {po_code}: bin {c.arrival.bin} is a non-sellable (残次品) bin; "
                "accepted units go into a sellable bin, damaged ones are given as damaged."
            )
    if not any(c.arrival.damaged for c in checked):
        return None
    if named is not None:
        if named not in non_sellable_bins:
            raise InvalidRequest(
                f"Bin {named} of warehouse {warehouse} is not a non-sellable (残次品) bin; damaged units of "
                f"{po_code} go into one of: {', '.join(non_sellable_bins) or 'none set up yet'}."
            )
        return named
    if not non_sellable_bins:
        raise InvalidRequest(
            f"Warehouse {warehouse} has no non-sellable (残次品) bin for the damaged units of {po_code}: add a bin "
            "with sellable=false first, or name one on the receipt."
        )
    return non_sellable_bins[0]


def received_after(lines: Sequence[OrderLine], checked: Sequence[CheckedArrival]) -> dict[int, int]:
    """Each line's received quantity once this receipt is booked (damaged units do not count)."""
    received = {line.line_no: line.received for line in lines}
    for c in checked:
        received[c.line.line_no] += c.arrival.accepted
    return received


def status_after(po_code: str, current: str, lines: Sequence[OrderLine], received: dict[int, int]) -> str:
    """`received` once every line has its ordered quantity, else `partly_received`."""
    complete = all(received[line.line_no] >= line.ordered for line in lines)
    new = "received" if complete else "partly_received"
    guard_transition(f"Purchase order {po_code}", TRANSITIONS, current, new)
    return new
