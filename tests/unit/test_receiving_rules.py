"""Receiving rules: what may be received against a purchase order, and what the order's status becomes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from presale_erp.domain.errors import IllegalTransition, InvalidRequest
from presale_erp.domain.receiving import (
    Arrival,
    OrderLine,
    OverReceipt,
    check_arrivals,
    received_after,
    require_receivable,
    status_after,
)

ORDER = [OrderLine(1, "TEA", ordered=100, received=0), OrderLine(2, "CUP", ordered=40, received=30)]


@pytest.mark.parametrize(
    ("arrivals", "received", "status"),
    [
        ([Arrival(1, 60, 0, "A-01")], {1: 60, 2: 30}, "partly_received"),  # under-receipt leaves the line open
        ([Arrival(1, 100, 0, "A-01"), Arrival(2, 10, 0, "A-02")], {1: 100, 2: 40}, "received"),
        ([Arrival(1, 95, 5, "A-01"), Arrival(2, 10, 0, "A-02")], {1: 95, 2: 40}, "partly_received"),  # damaged owed
        ([Arrival(1, 105, 0, "A-01"), Arrival(2, 12, 0, "A-02")], {1: 105, 2: 42}, "received"),  # within 5%
        ([Arrival(2, 0, 3)], {1: 0, 2: 30}, "partly_received"),  # all damaged: nothing received
    ],
)
def test_received_quantities_and_status(arrivals, received, status):
    checked = check_arrivals("PO-1", ORDER, arrivals)
    after = received_after(ORDER, checked)

    assert after == received
    assert status_after("PO-1", "confirmed", ORDER, after) == status


def test_over_receipt_within_tolerance_is_flagged():
    (checked,) = check_arrivals("PO-1", ORDER, [Arrival(1, 104, 0, "A-01")])

    assert checked.over == 4


@pytest.mark.parametrize(
    ("arrivals", "tolerance", "allowed"),
    [
        ([Arrival(1, 106, 0, "A-01")], Decimal("0.05"), 105),  # 100 + 5%
        ([Arrival(2, 11, 0, "A-02")], Decimal("0"), 10),  # 40 ordered, 30 in: exactly 10 more
        ([Arrival(2, 13, 0, "A-02")], Decimal("0.05"), 12),  # 5% of 40 = 2 extra
    ],
)
def test_over_receipt_beyond_tolerance_is_refused(arrivals, tolerance, allowed):
    with pytest.raises(OverReceipt, match=f"at most {allowed} more allowed") as refused:
        check_arrivals("PO-1", ORDER, arrivals, tolerance)

    assert refused.value.lines[0]["allowed"] == allowed


@pytest.mark.parametrize(
    ("arrivals", "message"),
    [
        ([], "at least one line"),
        ([Arrival(9, 1, 0, "A-01")], "no line 9"),
        ([Arrival(1, 1, 0, "A-01"), Arrival(1, 1, 0, "A-01")], "twice"),
        ([Arrival(1, -1, 0, "A-01")], "negative"),
        ([Arrival(1, 0, 0, "A-01")], "nothing arrived"),
        ([Arrival(1, 5, 0, None)], "bin"),
    ],
)
def test_bad_receipts_are_refused(arrivals, message):
    with pytest.raises(InvalidRequest, match=message):
        check_arrivals("PO-1", ORDER, arrivals)


@pytest.mark.parametrize("status", ["draft", "received", "closed", "cancelled"])
def test_only_placed_orders_can_be_received(status):
    with pytest.raises(IllegalTransition):
        require_receivable("PO-1", status)


@pytest.mark.parametrize("status", ["sent", "confirmed", "partly_received"])
def test_placed_orders_can_be_received(status):
    require_receivable("PO-1", status)
