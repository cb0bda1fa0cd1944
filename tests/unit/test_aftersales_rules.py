"""售后 rules: the case state machine, the deposit refund rule, what is still refundable, and the cost a return
takes back."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from presale_erp.domain.aftersales import (
    CaseKind,
    CaseState,
    DepositPolicy,
    RefundCause,
    check_refund,
    check_return,
    guard,
    refund_before_shipment,
    refundable,
    returned_cost,
)
from presale_erp.domain.errors import IllegalTransition, InvalidRequest

D = Decimal
R, RR = CaseKind.REFUND_ONLY, CaseKind.RETURN_AND_REFUND
S = CaseState


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (R, [S.REQUESTED, S.APPROVED, S.REFUNDED]),
        (RR, [S.REQUESTED, S.APPROVED, S.AWAITING_RETURN, S.RETURNED, S.REFUNDED]),
        (R, [S.REQUESTED, S.REJECTED]),
        (RR, [S.REQUESTED, S.APPROVED, S.AWAITING_RETURN, S.CANCELLED]),
    ],
)
def test_a_case_walks_its_path(kind, path):
    for before, after in itertools.pairwise(path):
        guard(1, kind, before.value, after)


@pytest.mark.parametrize(
    ("kind", "before", "after"),
    [
        (R, S.REQUESTED, S.REFUNDED),  # not approved
        (R, S.APPROVED, S.AWAITING_RETURN),  # a refund only waits for no goods
        (RR, S.APPROVED, S.REFUNDED),  # a return is refunded once the goods are back
        (RR, S.AWAITING_RETURN, S.REFUNDED),
        (RR, S.RETURNED, S.CANCELLED),  # the goods are back: too late to withdraw
        (R, S.REFUNDED, S.CANCELLED),
        (R, S.REJECTED, S.APPROVED),
    ],
)
def test_a_step_off_the_path_is_an_illegal_transition(kind, before, after):
    with pytest.raises(IllegalTransition) as refused:
        guard(7, kind, before.value, after)
    assert (refused.value.from_state, refused.value.to_state) == (before.value, after.value)


@pytest.mark.parametrize(
    ("deposit_trade", "balance_paid", "policy", "cause", "refund"),
    [
        (True, False, DepositPolicy.KEEP, RefundCause.BUYER, "0.00"),  # 定金不退
        (True, False, DepositPolicy.REFUND, RefundCause.BUYER, "50.00"),  # the shop refunds deposits
        (True, False, DepositPolicy.KEEP, RefundCause.MERCHANT, "50.00"),  # out of stock: the merchant's fault
        (True, True, DepositPolicy.KEEP, RefundCause.BUYER, "199.00"),  # deposit and balance paid: both back
        (False, False, DepositPolicy.KEEP, RefundCause.BUYER, "120.00"),  # no deposit trade: what was paid
    ],
)
def test_what_a_refund_before_shipment_gives_back(deposit_trade, balance_paid, policy, cause, refund):
    amount = refund_before_shipment(
        deposit_trade=deposit_trade,
        paid=D("120.00"),
        deposit=D("50.00"),
        balance=D("149.00"),
        balance_paid=balance_paid,
        policy=policy,
        cause=cause,
    )
    assert amount == D(refund)


@pytest.mark.parametrize(
    ("paid", "claimed", "left"),
    [("199.00", "30.00", "169.00"), ("199.00", "199.00", "0.00"), ("10.00", "12.00", "0.00")],
)
def test_refundable_is_what_was_paid_less_what_cases_claim(paid, claimed, left):
    assert refundable(D(paid), D(claimed)) == D(left)


@pytest.mark.parametrize("amount", ["169.01", "-0.01", "1.001"])
def test_a_refund_beyond_what_is_left_or_not_to_the_fen_is_refused(amount):
    with pytest.raises(InvalidRequest):
        check_refund(1, D(amount), D("199.00"), D("30.00"))


def test_a_refund_of_exactly_what_is_left_passes():
    check_refund(1, D("169.00"), D("199.00"), D("30.00"))


@pytest.mark.parametrize(("units", "claimed"), [(0, 0), (3, 0), (2, 1)])
def test_more_units_than_shipped_and_not_yet_returned_cannot_come_back(units, claimed):
    with pytest.raises(InvalidRequest):
        check_return(1, units, 2, claimed)


@pytest.mark.parametrize(
    ("shipments", "already", "units", "cost", "unit_cost"),
    [
        ([(2, "61.333333")], 0, 1, "61.33", "61.333333"),
        ([(2, "61.333333")], 1, 1, "61.33", "61.333333"),
        ([(1, "60.00"), (2, "66.00")], 0, 2, "126.00", "63.000000"),  # oldest first: 60.00 + 66.00
        ([(1, "60.00"), (2, "66.00")], 1, 2, "132.00", "66.00"),  # the first unit came back before
    ],
)
def test_a_return_takes_back_the_cost_its_units_shipped_at(shipments, already, units, cost, unit_cost):
    booked = [(q, D(c)) for q, c in shipments]

    assert returned_cost(booked, already, units) == (D(cost), D(unit_cost))


def test_returning_units_that_never_shipped_is_refused():
    with pytest.raises(InvalidRequest):
        returned_cost([(2, D("61.333333"))], 1, 2)
