"""Receivables (应收): FIFO settlement of invoices, aging buckets, statements. Amounts worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.receivables import (
    Aging,
    ArEntry,
    ArKind,
    OpenInvoice,
    aging,
    allocate,
    business_day,
    open_balance,
    overdue_amount,
    signed_amount,
    statement,
)

D = Decimal
INV, PAY, CN, WO = ArKind.INVOICE, ArKind.PAYMENT, ArKind.CREDIT_NOTE, ArKind.WRITE_OFF


def invoice(key: str, amount: str, on: date, due_on: date) -> ArEntry:
    return ArEntry(key, INV, D(amount), on, due_on)


def credit(key: str, kind: ArKind, amount: str, on: date) -> ArEntry:
    return ArEntry(key, kind, -D(amount), on)


# A distributor on 30-day terms: two invoices, a payment that clears the first and part of the second, a third.
LEDGER = [
    invoice("I1", "4000.00", date(2026, 9, 1), date(2026, 10, 1)),
    invoice("I2", "3000.00", date(2026, 9, 20), date(2026, 10, 20)),
    credit("P1", PAY, "5000.00", date(2026, 10, 5)),
    invoice("I3", "2500.00", date(2026, 10, 15), date(2026, 11, 14)),
]


def test_a_payment_settles_the_oldest_invoices_first():
    result = allocate(LEDGER)

    assert [(i.key, i.open) for i in result.invoices] == [("I1", D("0.00")), ("I2", D("2000.00")), ("I3", D("2500.00"))]
    assert [(s.credit, s.amount, s.on) for s in result.invoices[0].settlements] == [
        ("P1", D("4000.00"), date(2026, 10, 5))
    ]
    assert [(s.credit, s.amount) for s in result.invoices[1].settlements] == [("P1", D("1000.00"))]
    assert result.unapplied == D("0.00")


def test_money_paid_ahead_waits_and_settles_the_next_invoice_on_its_day():
    entries = [
        credit("P0", PAY, "800.00", date(2026, 9, 1)),
        invoice("I1", "500.00", date(2026, 9, 3), date(2026, 10, 3)),
        invoice("I2", "500.00", date(2026, 9, 4), date(2026, 10, 4)),
    ]

    result = allocate(entries)

    assert [(i.key, i.open) for i in result.invoices] == [("I1", D("0.00")), ("I2", D("200.00"))]
    assert [(s.amount, s.on) for s in result.invoices[1].settlements] == [(D("300.00"), date(2026, 9, 4))]
    assert result.unapplied == D("0.00")
    assert allocate(entries[:2]).unapplied == D("300.00")


def test_only_entries_up_to_the_day_count_as_of_that_day():
    before_payment = allocate(LEDGER, as_of=date(2026, 10, 4))

    assert [(o.key, o.open) for o in before_payment.open_invoices] == [("I1", D("4000.00")), ("I2", D("3000.00"))]
    assert open_balance(LEDGER, as_of=date(2026, 10, 4)) == D("7000.00")
    assert open_balance(LEDGER) == D("4500.00")


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # I2 due 10-20 has 2,000.00 open; I3 due 11-14 has 2,500.00
        (date(2026, 10, 20), Aging(current=D("4500.00"))),  # due today is not yet overdue
        (date(2026, 10, 31), Aging(current=D("2500.00"), days_1_30=D("2000.00"))),  # I2 11 days over
        (date(2026, 11, 19), Aging(days_1_30=D("4500.00"))),  # I2 30 days, I3 5 days
        (date(2026, 11, 20), Aging(days_1_30=D("2500.00"), days_31_60=D("2000.00"))),  # I2 31 days
        (date(2026, 12, 25), Aging(days_31_60=D("2500.00"), days_61_90=D("2000.00"))),  # 41 and 66 days
        (date(2027, 1, 19), Aging(days_61_90=D("2500.00"), over_90=D("2000.00"))),  # 66 and 91 days
    ],
)
def test_aging_puts_each_open_invoice_in_the_bucket_of_its_days_overdue(as_of, expected):
    result = allocate(LEDGER, as_of=as_of)

    buckets = aging(result.open_invoices, result.unapplied, as_of)

    assert buckets == expected
    assert buckets.balance == D("4500.00")


def test_credit_paid_ahead_is_not_in_a_bucket_but_lowers_the_balance():
    result = allocate([credit("P0", PAY, "300.00", date(2026, 9, 1))])

    buckets = aging(result.open_invoices, result.unapplied, date(2026, 9, 2))

    assert (buckets.current, buckets.unapplied, buckets.balance) == (D("0.00"), D("300.00"), D("-300.00"))


@pytest.mark.parametrize(
    ("as_of", "grace", "expected"),
    [
        (date(2026, 10, 20), 0, "0.00"),
        (date(2026, 10, 21), 0, "2000.00"),
        (date(2026, 10, 21), 3, "0.00"),
        (date(2026, 11, 15), 0, "4500.00"),
    ],
)
def test_overdue_amount_counts_invoices_past_their_due_day_and_any_grace(as_of, grace, expected):
    invoices = [
        OpenInvoice("I2", date(2026, 9, 20), date(2026, 10, 20), D("2000.00")),
        OpenInvoice("I3", date(2026, 10, 15), date(2026, 11, 14), D("2500.00")),
    ]

    assert overdue_amount(invoices, as_of, grace) == D(expected)


def test_credit_notes_and_write_offs_settle_invoices_like_payments():
    entries = [
        invoice("I1", "1000.00", date(2026, 9, 1), date(2026, 10, 1)),
        credit("C1", CN, "150.00", date(2026, 9, 5)),
        credit("W1", WO, "850.00", date(2026, 12, 31)),
    ]

    result = allocate(entries)

    assert result.invoices[0].open == D("0.00")
    assert [(s.kind, s.amount) for s in result.invoices[0].settlements] == [(CN, D("150.00")), (WO, D("850.00"))]


def test_a_statement_brings_the_balance_forward_and_runs_it_line_by_line():
    result = statement(LEDGER, date(2026, 9, 15), date(2026, 10, 31))

    assert result.opening == D("4000.00")
    assert [(line.key, line.debit, line.credit, line.balance) for line in result.lines] == [
        ("I2", D("3000.00"), D("0.00"), D("7000.00")),
        ("P1", D("0.00"), D("5000.00"), D("2000.00")),
        ("I3", D("2500.00"), D("0.00"), D("4500.00")),
    ]
    assert result.closing == D("4500.00")


def test_a_statement_that_ends_before_it_starts_is_refused():
    with pytest.raises(InvalidRequest):
        statement(LEDGER, date(2026, 10, 31), date(2026, 10, 1))


@pytest.mark.parametrize(
    ("kind", "amount", "signed"),
    [(INV, "100.00", "100.00"), (PAY, "100.00", "-100.00"), (CN, "0.01", "-0.01"), (WO, "5.00", "-5.00")],
)
def test_the_kind_gives_the_amount_its_sign(kind, amount, signed):
    assert signed_amount(kind, D(amount)) == D(signed)


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_an_amount_of_zero_or_below_is_refused(amount):
    with pytest.raises(InvalidRequest):
        signed_amount(PAY, D(amount))


@pytest.mark.parametrize(
    ("moment", "day"),
    [
        (datetime(2026, 11, 1, 15, 59, tzinfo=UTC), date(2026, 11, 1)),
        (datetime(2026, 11, 1, 16, 0, tzinfo=UTC), date(2026, 11, 2)),  # midnight in Beijing
    ],
)
def test_a_business_day_is_a_day_in_beijing(moment, day):
    assert business_day(moment) == day


amounts = st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2)
entries_strategy = st.lists(
    st.tuples(st.sampled_from([INV, PAY, CN, WO]), amounts, st.integers(min_value=0, max_value=60)), max_size=30
)


@given(entries_strategy)
def test_whatever_the_ledger_open_invoices_less_credit_paid_ahead_is_the_balance(drawn):
    start = date(2026, 9, 1)
    entries = [
        invoice(f"E{n}", str(amount), start + timedelta(days=day), start + timedelta(days=day + 30))
        if kind is INV
        else credit(f"E{n}", kind, str(amount), start + timedelta(days=day))
        for n, (kind, amount, day) in enumerate(drawn)
    ]

    result = allocate(entries)

    open_total = sum((i.open for i in result.invoices), D("0.00"))
    assert open_total - result.unapplied == open_balance(entries)
    assert all(i.open >= 0 for i in result.invoices) and result.unapplied >= 0
    assert not (open_total > 0 and result.unapplied > 0)  # credit never waits while an invoice is open
    for i in result.invoices:
        assert sum((s.amount for s in i.settlements), D("0.00")) + i.open == i.amount
