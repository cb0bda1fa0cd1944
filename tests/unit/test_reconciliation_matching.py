"""Pairing a bill with the payments ledger: by platform reference, then order number, never across kinds; sums
for several amounts under one key; what is left over is missing, extra or mismatched, with both amounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from presale_erp.domain.reconciliation import (
    BillAmount,
    FindingKind,
    LedgerAmount,
    bill_amounts,
    charge_entry_key,
    reconcile,
)
from presale_erp.domain.statements import LineKind, StatementLine

AT = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
D = Decimal


def line(
    kind: LineKind, amount: str, ext: str = "", order: str = "", fee: str = "0.00", ref: str = ""
) -> StatementLine:
    return StatementLine("alipay", AT, ext, order, kind, D(amount), D(fee), ref or f"{ext}{order}{kind}")


def entry(id: int, kind: str, amount: str, ext: str = "", order: str = "", in_period: bool = True) -> LedgerAmount:
    return LedgerAmount(id, kind, ext, order, D(amount), in_period)


def findings(lines: list[StatementLine], ledger: list[LedgerAmount]) -> list[tuple]:
    result = reconcile(bill_amounts(lines), ledger)
    return sorted(
        (f.kind.value, f.amount_kind.value, f.external_ref, f.order_ref, f.expected, f.actual, f.difference)
        for f in result.findings
    )


PAY, REFUND, FEE = LineKind.PAYMENT, LineKind.REFUND, LineKind.FEE


@pytest.mark.parametrize(
    ("lines", "ledger", "expected"),
    [
        pytest.param([line(PAY, "199.00", "T1", "O1")], [entry(1, "full_payment", "199.00", "T1", "O1")], [],
                     id="1:1 by platform reference"),
        pytest.param([line(PAY, "199.00", "T1", "O1")], [entry(1, "full_payment", "199.00", "O1", "O1")], [],
                     id="1:1 by order number when the references differ"),
        pytest.param([line(PAY, "199.00", "S1", "O1")],
                     [entry(1, "deposit", "50.00", "O1", "O1"), entry(2, "balance", "149.00", "O1", "O1")], [],
                     id="n:1 deposit and balance settled as one line"),
        pytest.param([line(PAY, "50.00", "T1", "O1"), line(PAY, "149.00", "T2", "O1")],
                     [entry(1, "deposit", "50.00", "O1", "O1"), entry(2, "balance", "149.00", "O1", "O1")], [],
                     id="stepped presale paid as two trades, 1:1 each"),
        pytest.param([line(PAY, "149.00", "T2", "O1")],
                     [entry(1, "deposit", "50.00", "O1", "O1"), entry(2, "balance", "149.00", "O1", "O1")],
                     [("missing", "payment", "O1", "O1", D("50.00"), None, D("-50.00"))],
                     id="only the balance on the bill: the deposit is missing, not the order mismatched"),
        pytest.param([], [entry(1, "full_payment", "99.00", "T9", "O9")],
                     [("missing", "payment", "T9", "O9", D("99.00"), None, D("-99.00"))], id="missing"),
        pytest.param([line(PAY, "88.00", "T8", "O8")], [],
                     [("extra", "payment", "T8", "O8", None, D("88.00"), D("88.00"))], id="extra"),
        pytest.param([line(PAY, "189.00", "T3", "O3")], [entry(1, "full_payment", "199.00", "T3", "O3")],
                     [("mismatch", "payment", "T3", "O3", D("199.00"), D("189.00"), D("-10.00"))], id="mismatch"),
        pytest.param([line(PAY, "199.00", "T4", "O4")],
                     [entry(1, "full_payment", "199.00", "T4", "O4"), entry(2, "refund", "-20.00", "T4", "O4")],
                     [("missing", "refund", "T4", "O4", D("-20.00"), None, D("20.00"))],
                     id="a refund of the same trade is not the payment"),
        pytest.param([line(PAY, "199.00", "T5", "O5", fee="-1.19")],
                     [entry(1, "full_payment", "199.00", "T5", "O5")],
                     [("extra", "fee", "T5", "O5", None, D("-1.19"), D("-1.19"))],
                     id="a fee on a line is an amount of its own"),
        pytest.param([line(LineKind.WITHDRAWAL, "-500.00", "W1")], [], [], id="withdrawals are not reconciled"),
        pytest.param([], [entry(1, "full_payment", "99.00", "T0", "O0", in_period=False)], [],
                     id="an entry outside the period is never missing"),
        pytest.param([line(PAY, "99.00", "T0", "O0")], [entry(1, "full_payment", "99.00", "T0", "O0", in_period=False)],
                     [], id="but it pairs with a line of the bill"),
    ],
)  # fmt: skip
def test_pairing(lines, ledger, expected):
    assert findings(lines, ledger) == expected


def test_a_mismatch_names_the_lines_and_entries_and_explains_both_amounts():
    result = reconcile(bill_amounts([line(PAY, "189.00", "T3", "O3")]), [entry(7, "full_payment", "199.00", "T3")])

    (finding,) = result.findings
    assert (finding.kind, finding.line_nos, finding.entry_ids) == (FindingKind.MISMATCH, (1,), (7,))
    assert "189.00" in finding.explanation and "199.00" in finding.explanation and "-10.00" in finding.explanation


def test_matched_counts_count_lines_whose_every_amount_agrees():
    lines = [line(PAY, "10.00", "A", fee="-0.06"), line(PAY, "20.00", "B"), line(PAY, "30.00", "C")]
    ledger = [entry(1, "full_payment", "10.00", "A"), entry(2, "platform_fee", "-0.06", "A"),
              entry(3, "full_payment", "20.00", "B"), entry(4, "full_payment", "31.00", "C")]  # fmt: skip

    result = reconcile(bill_amounts(lines), ledger)

    assert (result.matched, result.matched_lines, result.matched_entries) == (3, 2, 3)


def test_a_returned_fee_recorded_as_an_adjustment_still_pairs_as_a_fee():
    refund = line(REFUND, "-20.00", "R1", "O1", fee="0.12", ref="R1:x")
    fee = bill_amounts([refund])[1]
    key = charge_entry_key("wechat", fee)
    ledger = [entry(1, "refund", "-20.00", "R1", "O1"),
              LedgerAmount(2, "adjustment", "R1", "O1", D("0.12"), entry_key=key)]  # fmt: skip

    assert key == "settlement:wechat:fee:R1:x:fee"
    assert reconcile(bill_amounts([refund]), ledger).findings == []


def test_a_charge_key_too_long_for_the_ledger_is_hashed_to_a_stable_one():
    long_ref = "x" * 200
    fee = BillAmount(1, FEE, "", "", D("-1.00"), long_ref, AT)

    key = charge_entry_key("pinduoduo", fee)

    assert len(key) <= 160 and key == charge_entry_key("pinduoduo", fee) and key.startswith("settlement:pinduoduo:fee:")
