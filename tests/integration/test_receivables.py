"""Receivables and customer credit on a real database (SQLite and PostgreSQL): a distributor's ledger, FIFO,
aging on two days, its credit score; on-account orders held by review for the limit or for money overdue,
passed within the limit, and invoiced once they ship."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.tables import orders
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.credit import CustomerKind, CustomerTerms
from presale_erp.domain.errors import Conflict, InvalidRequest
from presale_erp.domain.receivables import ArKind, allocate
from presale_erp.services import catalog, customers, intake, receivables, receivables_reports, review
from presale_erp.services.receivables import NewEntry
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import builders
from tests.conftest import NOW

D = Decimal
CIPHER = PiiCipher(b"r" * 32)
LATER = NOW + timedelta(hours=1)  # past the cooling-off time
LINKED_AT = NOW - timedelta(days=90)
TERMS = CustomerTerms("华东经销", CustomerKind.DISTRIBUTOR, D("10000.00"), 30)


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)  # 10:00 in Beijing


def entry(db, code: str, key: str, kind: ArKind, amount: str, day: date) -> dict:
    return receivables.record_entry(db, SYSTEM, code, NewEntry(key, kind, D(amount), at(day)), now=at(day))


def distributor_with_ledger(db) -> None:
    customers.create(db, SYSTEM, "D001", TERMS, now=LINKED_AT)
    entry(db, "D001", "I1", ArKind.INVOICE, "4000.00", date(2026, 9, 1))
    entry(db, "D001", "I2", ArKind.INVOICE, "3000.00", date(2026, 9, 20))
    entry(db, "D001", "BANK-0001", ArKind.PAYMENT, "5000.00", date(2026, 10, 5))
    entry(db, "D001", "I3", ArKind.INVOICE, "2500.00", date(2026, 10, 15))


def test_invoices_take_the_customers_terms_and_a_payment_settles_the_oldest_first(db):
    distributor_with_ledger(db)

    ledger = receivables.entries(db, SYSTEM, "D001")

    assert [(e["entry_key"], e["amount"], e["due_at"]) for e in ledger] == [
        ("I1", D("4000.00"), at(date(2026, 10, 1))),
        ("I2", D("3000.00"), at(date(2026, 10, 20))),
        ("BANK-0001", D("-5000.00"), None),
        ("I3", D("2500.00"), at(date(2026, 11, 14))),
    ]
    with db.uow(write=False) as uow:
        (customer_id,) = [c["id"] for c in customers.list_customers(db, SYSTEM)]
        in_sql = receivables.customer_positions(uow.conn, [customer_id], before=NOW)
    invoices, unapplied = in_sql[customer_id]
    assert [(i.key, i.open) for i in invoices] == [("I2", D("2000.00")), ("I3", D("2500.00"))]
    assert unapplied == D("0.00")
    in_domain = allocate([receivables.as_domain_entry(e) for e in ledger])
    assert in_domain.open_invoices == list(invoices)  # FIFO in SQL and in the domain agree


def test_fifo_in_sql_agrees_with_the_domain_on_a_random_ledger_as_of_any_day(db):
    rng = random.Random(11)
    customers.create(db, SYSTEM, "D009", TERMS, now=LINKED_AT)
    for n in range(40):
        kind = rng.choice([ArKind.INVOICE, ArKind.INVOICE, ArKind.PAYMENT, ArKind.CREDIT_NOTE, ArKind.WRITE_OFF])
        when = at(date(2026, 8, 1) + timedelta(days=rng.randint(0, 80))) + timedelta(minutes=n)
        new = NewEntry(f"E{n}", kind, D(rng.randint(1, 300_000)) / 100, when)
        receivables.record_entry(db, SYSTEM, "D009", new, now=when)
    ledger = [receivables.as_domain_entry(e) for e in receivables.entries(db, SYSTEM, "D009")]

    for as_of in (date(2026, 8, 15), date(2026, 9, 10), date(2026, 10, 1), date(2026, 10, 31)):
        with db.uow(write=False) as uow:
            ids = [c["id"] for c in customers.list_customers(db, SYSTEM)]
            before = receivables.day_start(as_of + timedelta(days=1))
            invoices, unapplied = receivables.customer_positions(uow.conn, ids, before=before).get(
                ids[0], ((), D("0.00"))
            )
        expected = allocate(ledger, as_of)
        assert (list(invoices), unapplied) == (expected.open_invoices, expected.unapplied), as_of


@pytest.mark.parametrize(
    ("as_of", "figures"),
    [
        (date(2026, 10, 31), {"current": "2500.00", "days_1_30": "2000.00", "overdue": "2000.00"}),
        (date(2026, 12, 25), {"days_31_60": "2500.00", "days_61_90": "2000.00", "overdue": "4500.00"}),
    ],
)
def test_aging_as_of_a_day_buckets_open_invoices_by_days_overdue(db, as_of, figures):
    distributor_with_ledger(db)
    customers.create(db, SYSTEM, "W001", replace_terms(name="零批客户", kind=CustomerKind.WHOLESALE), now=NOW)

    report = receivables_reports.aging_report(db, SYSTEM, as_of=as_of)

    zero = dict.fromkeys(("current", "days_1_30", "days_31_60", "days_61_90", "over_90", "unapplied"), D("0.00"))
    expected = zero | {k: D(v) for k, v in figures.items()} | {"balance": D("4500.00")}
    (d001, w001) = report["rows"]
    assert {k: d001[k] for k in expected} == expected
    assert (w001["customer"], w001["balance"]) == ("W001", D("0.00"))
    assert {k: report["totals"][k] for k in expected} == expected


def test_the_aging_workbook_has_a_row_per_customer_and_totals(db):
    distributor_with_ledger(db)

    content = receivables_reports.aging_export(db, SYSTEM, as_of=date(2026, 10, 31))

    sheet = load_workbook(BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:7] == ("客户编码", "客户名称", "类型", "信用额度", "账期(天)", "未到期", "逾期1-30天")
    assert rows[1][:7] == ("D001", "华东经销", "distributor", 10000, 30, 2500, 2000)
    assert rows[2][0] == "合计" and rows[2][-1] == 4500


def test_credit_score_and_grade_from_the_payment_history(db):
    distributor_with_ledger(db)

    _, score = receivables.customer_credit_score(db, SYSTEM, "D001", as_of=date(2026, 10, 31))

    # 1,000 of 5,000 on time: 8; 4,000 paid 4 days late: 18.67; 45% of the limit: 11; 2,000 of 4,500 overdue: 11.11
    assert (score.score, score.grade) == (49, "D")
    assert "2000.00 overdue now (oldest 11 days)" in score.explanation


def test_the_statement_brings_the_balance_forward(db):
    distributor_with_ledger(db)

    _, found = receivables.customer_statement(db, SYSTEM, "D001", start=date(2026, 10, 1), end=date(2026, 10, 31))

    assert (found.opening, found.closing) == (D("7000.00"), D("4500.00"))
    assert [(line.key, line.balance) for line in found.lines] == [("BANK-0001", D("2000.00")), ("I3", D("4500.00"))]


def test_a_retried_payment_is_a_no_op_and_a_reused_key_with_other_content_is_refused(db):
    distributor_with_ledger(db)

    again = entry(db, "D001", "BANK-0001", ArKind.PAYMENT, "5000.00", date(2026, 10, 5))

    assert again["amount"] == D("-5000.00")
    assert len(receivables.entries(db, SYSTEM, "D001")) == 4
    with pytest.raises(Conflict):
        entry(db, "D001", "BANK-0001", ArKind.PAYMENT, "5500.00", date(2026, 10, 5))
    with pytest.raises(InvalidRequest):
        entry(db, "D001", "BANK-0002", ArKind.PAYMENT, "0.00", date(2026, 10, 5))


# --- Review: orders on account ------------------------------------------------------------------------------------


def replace_terms(**changes) -> CustomerTerms:
    return replace(TERMS, **changes)


def shop_with_stock(db) -> None:
    catalog.create_shop(
        db,
        SYSTEM,
        code="TB-1",
        name="淘宝店",
        platform=Platform.TAOBAO,
        platform_shop_id="tb-1",
        stock_lock_policy=StockLockPolicy.ON_PAYMENT,
        now=NOW,
    )
    builders.stocked(db, 10_000, sku_code="TEA-LJ-250G")


def customer_owing(db, code: str, buyer: str, owes: str, invoiced_on: date) -> None:
    customers.create(db, SYSTEM, code, replace_terms(name=f"{code} 经销"), now=LINKED_AT)
    customers.link_buyer(db, CIPHER, SYSTEM, code, shop="TB-1", platform_buyer_id=buyer, now=LINKED_AT)
    entry(db, code, f"{code}-INV-1", ArKind.INVOICE, owes, invoiced_on)


def order(platform_id: str, buyer: str, amount_per_tin: str, tins: int, stage: str = "paid", hours_ago: int = 2):
    return payloads.taobao(
        sample(
            platform_id,
            stage=stage,
            lines=[SimLine("TEA-LJ-250G", tins, D(amount_per_tin))],
            buyer_id=buyer,
            created=NOW - timedelta(hours=2),
            modified=NOW - timedelta(hours=hours_ago),
        )
    )


def push(db, *bodies) -> None:
    intake.intake(db, CIPHER, SYSTEM, "TB-1", list(bodies), source="webhook", now=NOW)


def verdicts(db) -> dict[str, tuple[str, list[str]]]:
    with db.uow(write=False) as uow:
        rows = uow.conn.execute(select(orders.c.platform_order_id, orders.c.review_status, orders.c.review_hits))
        return {pid: (status, [h["reason"] for h in hits or []]) for pid, status, hits in rows}


def test_orders_over_the_limit_or_with_money_overdue_are_held_and_one_within_the_limit_passes(db):
    shop_with_stock(db)
    distributor_with_ledger(db)  # D001: I2 due 10-20 has 2,000.00 open: overdue
    customers.link_buyer(db, CIPHER, SYSTEM, "D001", shop="TB-1", platform_buyer_id="华东经销-采购", now=LINKED_AT)
    customer_owing(db, "D002", "d002-buyer", "6000.00", date(2026, 10, 20))  # due 11-19: not overdue
    customer_owing(db, "D003", "d003-buyer", "6000.00", date(2026, 10, 20))
    push(
        db,
        order("5001", "华东经销-采购", "100.00", 1),
        order("5002", "d002-buyer", "1000.00", 5),  # 6,000 + 5,000 = 11,000
        order("5003", "d003-buyer", "1000.00", 3),  # 6,000 + 3,000 = 9,000
        order("5004", "a-shopper", "398.00", 1),  # not on account
    )

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    found = verdicts(db)
    assert found["5001"] == (
        "held",
        ["逾期未付款: customer D001 (华东经销) has 2000.00 overdue, oldest 13 days past due"],
    )
    assert found["5002"] == (
        "held",
        [
            "超信用额度: customer D002 (D002 经销) 欠款 6000.00 + 未开票订单 0.00 + 本单 5000.00 = 11000.00, "
            "limit 10000.00, over by 1000.00"
        ],
    )
    assert found["5003"] == ("approved", [])
    assert found["5004"] == ("approved", [])


def test_an_approved_order_not_yet_invoiced_counts_against_the_limit_until_it_ships_and_is_invoiced(db):
    shop_with_stock(db)
    customer_owing(db, "D003", "d003-buyer", "6000.00", date(2026, 10, 20))
    push(db, order("6001", "d003-buyer", "1000.00", 3))
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    push(db, order("6002", "d003-buyer", "500.00", 3))  # 6,000 + 3,000 open order + 1,500 = 10,500

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    assert verdicts(db)["6002"] == (
        "held",
        [
            "超信用额度: customer D003 (D003 经销) 欠款 6000.00 + 未开票订单 3000.00 + 本单 1500.00 = 10500.00, "
            "limit 10000.00, over by 500.00"
        ],
    )
    push(db, order("6001", "d003-buyer", "1000.00", 3, stage="shipped", hours_ago=1))

    assert receivables.invoice_shipped_orders(db, SYSTEM, now=LATER) == 1
    assert receivables.invoice_shipped_orders(db, SYSTEM, now=LATER) == 0  # once per order
    invoice = receivables.entries(db, SYSTEM, "D003")[-1]
    assert (invoice["entry_key"][:14], invoice["amount"], invoice["occurred_at"]) == (
        "invoice:order:",
        D("3000.00"),
        NOW - timedelta(hours=1),
    )
    assert invoice["due_at"] == NOW - timedelta(hours=1) + timedelta(days=30)
    with db.uow(write=False) as uow:
        credit = receivables.credit_positions(uow.conn, {(1, CIPHER.blind_index("d003-buyer"))}, LATER)
    (position,) = credit.values()
    assert (position.open_balance, position.open_orders) == (D("9000.00"), D("0.00"))


def test_two_orders_in_one_batch_do_not_both_pass_on_the_same_headroom(db):
    shop_with_stock(db)
    customer_owing(db, "D003", "d003-buyer", "6000.00", date(2026, 10, 20))
    push(db, order("7001", "d003-buyer", "1000.00", 3), order("7002", "d003-buyer", "1000.00", 3))

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    found = verdicts(db)
    assert found["7001"] == ("approved", [])
    assert found["7002"][0] == "held"
    assert "本批前单 3000.00 + 本单 3000.00 = 12000.00" in found["7002"][1][0]


def test_a_buyer_belongs_to_one_customer_and_orders_before_the_link_are_not_on_account(db):
    shop_with_stock(db)
    push(db, order("8001", "d004-buyer", "1000.00", 3, stage="shipped"))
    customers.create(db, SYSTEM, "D004", TERMS, now=NOW)
    customers.link_buyer(db, CIPHER, SYSTEM, "D004", shop="TB-1", platform_buyer_id="d004-buyer", now=NOW)
    customers.create(db, SYSTEM, "D005", TERMS, now=NOW)

    with pytest.raises(Conflict):
        customers.link_buyer(db, CIPHER, SYSTEM, "D005", shop="TB-1", platform_buyer_id="d004-buyer", now=NOW)
    assert receivables.invoice_shipped_orders(db, SYSTEM, now=LATER) == 0
    assert [b["buyer_label"] for b in customers.get(db, SYSTEM, "D004")["buyers"]] == ["d*********"]
