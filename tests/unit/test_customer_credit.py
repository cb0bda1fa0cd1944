"""Customer credit: exposure after an order, the credit score from payment history, and the review rules
超信用额度 and 逾期未付款. Points worked out by hand: 40 on time + 20 lateness + 20 limit use + 20 nothing overdue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from presale_erp.domain.credit import CustomerCredit, amounts_ahead, credit_score
from presale_erp.domain.receivables import ArEntry, ArKind, OpenInvoice, allocate
from presale_erp.domain.review.engine import default_settings, review
from presale_erp.domain.review.model import Decision, ReviewContext, ReviewOrder

D = Decimal
LIMIT = D("10000.00")


def inv(key: str, amount: str, on: date, due: date) -> ArEntry:
    return ArEntry(key, ArKind.INVOICE, D(amount), on, due)


def paid(key: str, amount: str, on: date, kind: ArKind = ArKind.PAYMENT) -> ArEntry:
    return ArEntry(key, kind, -D(amount), on)


I1 = inv("I1", "4000.00", date(2026, 9, 1), date(2026, 10, 1))
I2 = inv("I2", "3000.00", date(2026, 9, 20), date(2026, 10, 20))
I3 = inv("I3", "2500.00", date(2026, 10, 15), date(2026, 11, 14))
AS_OF = date(2026, 10, 31)

SCORES = [
    # name, entries, score, grade
    ("a new customer: half marks for history it has not got", [], 70, "B"),
    ("everything paid on time, nothing owed", [I1, paid("P", "4000.00", date(2026, 9, 30))], 100, "A"),
    (
        # on time 1,000 of 5,000: 40 x 0.2 = 8; 4,000 paid 4 days late: 20 x (1 - 4/60) = 18.67;
        # 4,500 of 10,000 used: 20 x 0.55 = 11; 2,000 of 4,500 overdue: 20 x 2,500/4,500 = 11.11 -> 48.78
        "paid mostly late, part overdue",
        [I1, I2, paid("P1", "5000.00", date(2026, 10, 5)), I3],
        49,
        "D",
    ),
    (
        # the same payment five days earlier: all on time: 40 + 20 + 11 + 11.11 = 82.11
        "paid on time, part overdue",
        [I1, I2, paid("P1", "5000.00", date(2026, 9, 30)), I3],
        82,
        "B",
    ),
    (
        # written off: 0 on time, no late payments 20, nothing used 20, nothing overdue 20
        "a debt written off",
        [I1, paid("W", "4000.00", date(2026, 10, 30), ArKind.WRITE_OFF)],
        60,
        "C",
    ),
    (
        # a credit note is not a payment: history is the 3,000.00 paid on time
        "goods taken back by credit note",
        [I1, paid("C", "1000.00", date(2026, 10, 20), ArKind.CREDIT_NOTE), paid("P", "3000.00", date(2026, 9, 30))],
        100,
        "A",
    ),
]


@pytest.mark.parametrize(("name", "entries", "score", "grade"), SCORES, ids=[s[0] for s in SCORES])
def test_credit_score_and_grade_from_payment_history(name, entries, score, grade):
    result = credit_score(allocate(entries, AS_OF), LIMIT, AS_OF)

    assert (result.score, result.grade) == (score, grade)
    assert result.explanation.startswith(f"Grade {grade} ({score}/100): ")


def test_the_explanation_gives_the_figures_behind_the_grade():
    result = credit_score(allocate([I1, I2, paid("P1", "5000.00", date(2026, 10, 5)), I3], AS_OF), LIMIT, AS_OF)

    assert result.explanation == (
        "Grade D (49/100): 20% of 5000.00 settled paid on time, late payments 4.0 days late on average; "
        "45% of the 10000.00 limit in use; 2000.00 overdue now (oldest 11 days)."
    )
    assert (result.on_time_ratio, result.average_days_late, result.utilisation, result.overdue) == (
        D("0.2"),
        D("4"),
        D("0.45"),
        D("2000.00"),
    )


CREDIT = CustomerCredit(
    customer="D001",
    name="华东经销",
    credit_limit=LIMIT,
    open_invoices=(
        OpenInvoice("I2", date(2026, 9, 20), date(2026, 10, 20), D("2000.00")),
        OpenInvoice("I3", date(2026, 10, 15), date(2026, 11, 14), D("2500.00")),
    ),
    unapplied=D("0.00"),
    open_orders=D("1500.00"),
)


@pytest.mark.parametrize(
    ("credit", "order", "exposure"),
    [
        (CREDIT, "1000.00", "7000.00"),  # 4,500 open + 1,500 approved not invoiced + 1,000
        (replace(CREDIT, unapplied=D("500.00")), "1000.00", "6500.00"),  # paid ahead lowers it
        (replace(CREDIT, open_invoices=(), open_orders=D("0.00")), "10000.00", "10000.00"),
    ],
)
def test_exposure_after_an_order_is_open_balance_plus_open_orders_plus_the_order(credit, order, exposure):
    assert credit.exposure_after(D(order)) == D(exposure)


NOW = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 2026-11-01 noon in Beijing: I2 12 days overdue


def an_order(amount: str, order_id: int = 1) -> ReviewOrder:
    return ReviewOrder(
        id=order_id,
        shop_id=1,
        total_amount=D(amount),
        paid_at=NOW.replace(hour=1),
        province="浙江省",
        city="杭州市",
        district="西湖区",
        street="文三路 90 号",
        phone="13800138000",
        buyer_index="dist",
        phone_index="p1",
        address_index="a1",
        buyer_remark="",
        seller_remark="",
        lines=[],
    )


def credit_hits(order: ReviewOrder, credit: CustomerCredit, ahead: dict[int, Decimal] | None = None) -> list[str]:
    ctx = ReviewContext(now=NOW, customer_credit={(1, "dist"): credit}, credit_ahead=ahead or {})
    verdict = review(
        order, ctx, [s for s in default_settings() if s.code in ("credit_limit_exceeded", "overdue_balance")]
    )
    return [hit.reason for hit in verdict.hits]


CURRENT = replace(CREDIT, open_invoices=CREDIT.open_invoices[1:])  # nothing overdue: 2,500 open


@pytest.mark.parametrize(
    ("credit", "order", "ahead", "reasons"),
    [
        (CURRENT, "6000.00", {}, []),  # 2,500 + 1,500 + 6,000 = 10,000: at the limit, not over
        (
            CURRENT,
            "6000.01",
            {},
            [
                "超信用额度: customer D001 (华东经销) 欠款 2500.00 + 未开票订单 1500.00 + 本单 6000.01 = 10000.01, "
                "limit 10000.00, over by 0.01"
            ],
        ),
        (
            CURRENT,
            "1000.00",
            {1: D("5500.00")},
            [
                "超信用额度: customer D001 (华东经销) 欠款 2500.00 + 未开票订单 1500.00 + 本批前单 5500.00 + 本单 "
                "1000.00 = 10500.00, limit 10000.00, over by 500.00"
            ],
        ),
        (CREDIT, "100.00", {}, ["逾期未付款: customer D001 (华东经销) has 2000.00 overdue, oldest 12 days past due"]),
    ],
)
def test_credit_rules_hold_orders_over_the_limit_or_with_money_overdue(credit, order, ahead, reasons):
    assert credit_hits(an_order(order), credit, ahead) == reasons


def test_an_order_within_the_limit_from_a_customer_who_owes_nothing_overdue_is_approved():
    ctx = ReviewContext(now=NOW, customer_credit={(1, "dist"): CURRENT})
    rules = [s for s in default_settings() if s.code in ("credit_limit_exceeded", "overdue_balance")]

    assert review(an_order("500.00"), ctx, rules).decision is Decision.APPROVED


def test_a_buyer_not_on_account_is_not_checked_for_credit():
    ctx = ReviewContext(now=NOW, customer_credit={(2, "dist"): CREDIT})
    rules = [s for s in default_settings() if s.code in ("credit_limit_exceeded", "overdue_balance")]

    assert review(an_order("99999.00"), ctx, rules).hits == []


@pytest.mark.parametrize(
    ("batch", "ahead"),
    [
        ([], {}),
        ([(1, "D1", D("100.00"))], {1: D("0.00")}),
        (
            [(1, "D1", D("100.00")), (2, "D2", D("50.00")), (3, "D1", D("30.00")), (4, "D1", D("5.00"))],
            {1: D("0.00"), 2: D("0.00"), 3: D("100.00"), 4: D("130.00")},
        ),
    ],
)
def test_orders_earlier_in_a_batch_count_against_the_same_customers_later_ones(batch, ahead):
    assert amounts_ahead(batch) == ahead
