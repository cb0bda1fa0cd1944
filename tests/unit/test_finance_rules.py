"""The payments ledger's and the sales postings' pure rules, with hand-computed Decimals."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from presale_erp.domain import dispatch
from presale_erp.domain.dispatch import BinStock, choose_bin, fulfilment_after
from presale_erp.domain.errors import Conflict, IllegalTransition, InvalidRequest
from presale_erp.domain.finance import (
    Channel,
    PaymentEntry,
    PaymentKind,
    PaymentSource,
    check_entry,
    check_replay,
    cost_of,
    deposit_shares,
    revenue_of_units,
    totals,
)

AT = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)
D = Decimal


def entry(kind: PaymentKind, amount: str, **changes) -> PaymentEntry:
    base = dict(
        entry_key="k1",
        shop_id=1,
        order_id=7,
        kind=kind,
        amount=D(amount),
        channel=Channel.ALIPAY,
        external_ref="T1",
        occurred_at=AT,
        source=PaymentSource.PLATFORM,
    )
    return PaymentEntry(**(base | changes))


@pytest.mark.parametrize(
    ("kind", "amount"),
    [
        (PaymentKind.DEPOSIT, "-50.00"),
        (PaymentKind.BALANCE, "0.00"),
        (PaymentKind.REFUND, "30.00"),
        (PaymentKind.PLATFORM_FEE, "1.99"),
        (PaymentKind.COMMISSION, "0.00"),
        (PaymentKind.ADJUSTMENT, "0.00"),
        (PaymentKind.FULL_PAYMENT, "10.001"),
    ],
)
def test_an_entry_whose_sign_contradicts_its_kind_or_has_fractions_of_a_fen_is_refused(kind, amount):
    with pytest.raises(InvalidRequest):
        check_entry(entry(kind, amount))


@pytest.mark.parametrize(
    ("kind", "amount"),
    [(PaymentKind.DEPOSIT, "50.00"), (PaymentKind.REFUND, "-30.00"), (PaymentKind.ADJUSTMENT, "-0.01")],
)
def test_entries_with_the_right_sign_pass(kind, amount):
    check_entry(entry(kind, amount))


def test_a_key_reused_for_another_amount_is_a_conflict_and_the_same_entry_is_a_retry():
    check_replay(entry(PaymentKind.DEPOSIT, "50.00"), entry(PaymentKind.DEPOSIT, "50.00"))
    with pytest.raises(Conflict):
        check_replay(entry(PaymentKind.DEPOSIT, "50.00"), entry(PaymentKind.DEPOSIT, "50.01"))


def test_totals_net_is_paid_less_refunded_and_fees_stay_apart():
    summary = totals(
        [
            (PaymentKind.DEPOSIT, D("50.00")),
            (PaymentKind.BALANCE, D("149.00")),
            (PaymentKind.REFUND, D("-30.00")),
            (PaymentKind.REFUND, D("-99.50")),
            (PaymentKind.PLATFORM_FEE, D("-1.19")),
        ]
    )

    assert (summary.paid, summary.refunded, summary.fees, summary.net) == (
        D("199.00"),
        D("129.50"),
        D("1.19"),
        D("69.50"),
    )


@pytest.mark.parametrize(
    ("paid", "quantity", "parts", "expected"),
    [
        ("199.00", 2, [1, 1], ["99.50", "99.50"]),
        ("100.00", 3, [1, 2], ["33.34", "66.66"]),  # 33.34 + 33.33 + 33.33: the first unit takes the fen
        ("100.00", 3, [2, 1], ["66.67", "33.33"]),
        ("0.05", 7, [3, 4], ["0.03", "0.02"]),
    ],
)
def test_a_line_shipped_in_parts_books_revenue_that_adds_up_to_the_line(paid, quantity, parts, expected):
    already, got = 0, []
    for units in parts:
        got.append(revenue_of_units(D(paid), quantity, already, units))
        already += units

    assert got == [D(x) for x in expected]
    assert sum(got) == D(paid)


def test_counting_more_units_than_the_line_has_is_refused():
    with pytest.raises(InvalidRequest):
        revenue_of_units(D("10.00"), 2, 1, 2)


@pytest.mark.parametrize(
    ("quantity", "unit_cost", "cost"),
    [(2, "61.333333", "122.67"), (1, "61.333333", "61.33"), (-1, "61.333333", "-61.33"), (3, "0.005", "0.02")],
)
def test_cost_is_units_times_unit_cost_rounded_half_up_to_the_fen(quantity, unit_cost, cost):
    assert cost_of(quantity, D(unit_cost)) == D(cost)


def test_a_deposit_spreads_over_lines_by_their_amounts_to_the_fen():
    assert deposit_shares(D("50.00"), [D("199.00"), D("99.00")]) == [D("33.39"), D("16.61")]
    assert deposit_shares(D("0.03"), [D("0.00"), D("0.00")]) == [D("0.02"), D("0.01")]


@pytest.mark.parametrize(
    ("bins", "taken", "chosen"),
    [
        ([BinStock("A-01", 5), BinStock("A-02", 9)], {}, "A-02"),
        ([BinStock("A-01", 5), BinStock("A-02", 5)], {}, "A-01"),
        ([BinStock("A-01", 5), BinStock("A-02", 9)], {"A-02": 6}, "A-01"),
    ],
)
def test_a_parcel_line_is_picked_from_the_fullest_bin_that_holds_it_all(bins, taken, chosen):
    assert choose_bin("TEA", "HZ", 4, bins, taken) == chosen


def test_no_bin_holding_the_whole_line_is_refused_with_what_each_bin_holds():
    with pytest.raises(InvalidRequest, match="A-01: 3, A-02: 2"):
        choose_bin("TEA", "HZ", 4, [BinStock("A-01", 3), BinStock("A-02", 2)], {})


@pytest.mark.parametrize(
    ("current", "shipped", "expected"),
    [
        ("allocated", {1: 2, 2: 1}, "shipped"),
        ("allocated", {1: 2}, None),  # partly shipped: the order keeps its status
        ("partial", {1: 2}, None),  # presale lines still to allocate stay visible to allocation
        ("partial", {1: 2, 2: 1}, "shipped"),
        ("shipped", {1: 2, 2: 1}, None),
        ("cancelled", {1: 2, 2: 1}, None),
        ("allocated", {}, None),
    ],
)
def test_an_order_is_shipped_once_every_line_is_out_in_full(current, shipped, expected):
    assert fulfilment_after(current, {1: 2, 2: 1}, shipped) == expected


@pytest.mark.parametrize("status", ["allocated", "picking", "packed"])
def test_an_open_parcel_may_ship(status):
    dispatch.guard_ship("P1", status)


@pytest.mark.parametrize("status", ["cancelled", "shipped"])
def test_a_cancelled_or_shipped_parcel_may_not_ship_again(status):
    with pytest.raises(IllegalTransition):
        dispatch.guard_ship("P1", status)


@given(
    paid_fen=st.integers(min_value=0, max_value=10_000_000),
    parts=st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=8),
)
def test_any_split_of_a_line_over_parcels_books_exactly_the_line(paid_fen, parts):
    paid, quantity = Decimal(paid_fen) / 100, sum(parts)
    already, booked = 0, []
    for units in parts:
        booked.append(revenue_of_units(paid, quantity, already, units))
        already += units

    assert sum(booked) == paid
    for part, units in zip(booked, parts, strict=True):  # each part is its units' share, within a fen a unit
        assert abs(part - paid * units / quantity) < Decimal("0.01") * units


@given(
    deposit_fen=st.integers(min_value=0, max_value=1_000_000),
    lines_fen=st.lists(st.integers(min_value=0, max_value=1_000_000), min_size=1, max_size=6),
)
def test_a_deposit_spread_over_lines_adds_up_to_the_deposit(deposit_fen, lines_fen):
    shares = deposit_shares(Decimal(deposit_fen) / 100, [Decimal(f) / 100 for f in lines_fen])

    assert sum(shares) == Decimal(deposit_fen) / 100
    assert all(share >= 0 for share in shares)
