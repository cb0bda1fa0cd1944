"""Reconciliation on both databases, with bills built in the platforms' real formats and planted differences: the
findings are exactly the planted ones, fees and commissions land in the ledger and match, and importing the same
file again changes nothing."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from presale_erp.adapters.db import lookups
from presale_erp.adapters.db.tables import (
    audit_log,
    payment_entries,
    reconciliation_findings,
    settlement_imports,
    settlement_lines,
)
from presale_erp.domain.access import SYSTEM, Actor, Permission
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound
from presale_erp.domain.finance import Channel, PaymentKind, PaymentSource
from presale_erp.services import catalog, payments, reconciliation
from tests import builders
from tests import finance_builders as fb
from tests.conftest import NOW
from tests.settlement_builders import DAY_START, OPENED, alipay_account_bill, push, wechat_trade_bill, wx

D = Decimal


def record(db, order: str, kind: PaymentKind, amount: str, ref: str, at: datetime, channel=Channel.ALIPAY) -> None:
    with db.uow(write=False) as uow:
        shop_id = lookups.shop_ids(uow.conn, ["TM-1"])["TM-1"]
    entry = payments.manual_entry(
        entry_key=f"test:{order}:{kind.value}:{ref}",
        shop_id=shop_id,
        order_id=fb.order_id(db, order),
        kind=kind,
        amount=D(amount),
        channel=channel,
        external_ref=ref,
        occurred_at=at,
        source=PaymentSource.AFTERSALES if kind is PaymentKind.REFUND else PaymentSource.PLATFORM,
    )
    payments.record_entry(db, SYSTEM, entry, now=NOW)


def count(db, table) -> int:
    with db.uow(write=False) as uow:
        return uow.conn.execute(select(func.count()).select_from(table)).scalar_one()


def findings_of(db, import_id: int) -> list[tuple]:
    rows, _ = reconciliation.list_findings(db, SYSTEM, import_id=import_id, limit=100)
    return sorted(
        (r["kind"], r["amount_kind"], r["external_ref"], r["order_ref"], r["expected"], r["actual"], r["difference"])
        for r in rows
    )


# --- Alipay 账务明细 ------------------------------------------------------------------------------------------------


@pytest.fixture
def ledger(db) -> None:
    """Shop TM-1's alipay ledger for 2026-10-31 (Beijing), from orders through the real intake and payments
    ledger, plus a refund from after-sales; and money the bill must not be held against (another day, another
    shop, another channel)."""
    fb.shop_and_stock(db, 0)
    builders.shop(db, "TM-2")
    for order in ("5001", "5004", "5005", "5006", "5007"):
        push(db, order)
    push(db, "5002", presale="deposit")
    push(db, "5008", at=OPENED - timedelta(days=9))  # paid on another day: not this bill's
    push(db, "5009", shop="TM-2")  # another shop's money
    assert payments.record_from_orders(db, SYSTEM, since=OPENED - timedelta(days=30), now=NOW) == 9
    record(db, "5006", PaymentKind.REFUND, "-20.00", "RF5006", OPENED + timedelta(hours=5))
    record(db, "5007", PaymentKind.REFUND, "-199.00", "RF5007", OPENED + timedelta(hours=6))
    record(db, "5001", PaymentKind.FULL_PAYMENT, "30.00", "4200005001", OPENED, channel=Channel.WECHAT)


PLANTED = [
    ("2026103122005001", "T200P5001", "红茶礼盒", OPENED + timedelta(minutes=1), "199.00", "交易付款"),
    ("2026103122005002", "T200P5002", "定金", OPENED + timedelta(minutes=1), "50.00", "交易付款"),
    ("2026103122005012", "T200P5002", "尾款", OPENED + timedelta(hours=3), "149.00", "交易付款"),
    # 5004's payment is left out: the ledger has it, the bill does not
    ("2026103122005005", "T200P5005", "红茶礼盒", OPENED + timedelta(minutes=1), "189.00", "交易付款"),  # 199 in ledger
    ("2026103122005006", "T200P5006", "红茶礼盒", OPENED + timedelta(minutes=1), "199.00", "交易付款"),
    # 5006's refund of 20.00 (ledger) is left out
    ("2026103122005007", "T200P5007", "红茶礼盒", OPENED + timedelta(minutes=1), "199.00", "交易付款"),
    ("2026103122005007", "T200P5007", "红茶礼盒", OPENED + timedelta(hours=6), "-199.00", "交易退款"),
    ("2026103122005999", "T200P5999", "红茶礼盒", OPENED + timedelta(hours=7), "88.00", "交易付款"),  # nobody's order
    ("2026103190005001", "T200P5001", "佣金", OPENED + timedelta(days=0, hours=8), "-9.95", "收费|天猫佣金"),
    ("2026103190005002", "T200P5002", "服务费", OPENED + timedelta(hours=8), "-1.00", "收费|基础软件服务费"),
    ("2026103199000001", "", "提现", OPENED + timedelta(hours=9), "-300.00", "提现"),
]


def test_an_alipay_bill_with_planted_differences_finds_each_one_and_nothing_else(db, ledger):
    bill = alipay_account_bill(PLANTED)

    first = reconciliation.import_bill(db, SYSTEM, bill, file_name="20885212319120680156_账务明细.csv",
                                       shops=["TM-1"], now=NOW)  # fmt: skip

    assert findings_of(db, first["id"]) == sorted(
        [
            ("missing", "payment", "5004", "5004", D("199.00"), None, D("-199.00")),
            ("mismatch", "payment", "2026103122005005", "5005", D("199.00"), D("189.00"), D("-10.00")),
            ("missing", "refund", "RF5006", "5006", D("-20.00"), None, D("20.00")),
            ("extra", "payment", "2026103122005999", "5999", None, D("88.00"), D("88.00")),
        ]
    )
    assert (first["line_count"], first["matched_count"], first["charges_recorded"]) == (11, 8, 2)
    assert first["findings"] == {"missing": 2, "extra": 1, "mismatch": 1}
    assert (first["channel"], first["format"], first["shops"]) == ("alipay", "alipay_account", ["TM-1"])
    assert (first["period_start"], first["period_end"]) == (DAY_START, DAY_START + timedelta(days=1))
    with db.uow(write=False) as uow:
        charges = uow.conn.execute(
            select(payment_entries.c.kind, payment_entries.c.amount, payment_entries.c.external_ref,
                   payment_entries.c.order_id)
            .where(payment_entries.c.source == "settlement").order_by(payment_entries.c.amount)
        ).all()  # fmt: skip
    assert [tuple(c) for c in charges] == [
        ("commission", D("-9.95"), "2026103190005001", fb.order_id(db, "5001")),
        ("platform_fee", D("-1.00"), "2026103190005002", fb.order_id(db, "5002")),
    ]


def test_importing_the_same_bill_again_changes_nothing_and_answers_the_first_import(db, ledger):
    bill = alipay_account_bill(PLANTED)
    first = reconciliation.import_bill(db, SYSTEM, bill, file_name="a.csv", shops=["TM-1"], now=NOW)
    before = [count(db, t) for t in (settlement_imports, settlement_lines, reconciliation_findings, payment_entries)]

    again = reconciliation.import_bill(db, SYSTEM, bill, file_name="renamed.csv", shops=["TM-1"], now=NOW)

    after = [count(db, t) for t in (settlement_imports, settlement_lines, reconciliation_findings, payment_entries)]
    assert after == before == [1, 11, 4, 14]
    assert again["id"] == first["id"] and again["already_imported"] and again["file_name"] == "a.csv"


def test_a_second_bill_repeating_the_fee_lines_does_not_record_them_twice(db, ledger):
    reconciliation.import_bill(db, SYSTEM, alipay_account_bill(PLANTED), file_name="a.csv", shops=["TM-1"], now=NOW)
    fees_only = alipay_account_bill(PLANTED[-3:-1])  # another file (e.g. a re-export) with the same two charges

    second = reconciliation.import_bill(db, SYSTEM, fees_only, file_name="b.csv", shops=["TM-1"], now=NOW)

    assert second["charges_recorded"] == 0 and count(db, payment_entries) == 14
    assert {f[0] for f in findings_of(db, second["id"])} == {"missing"}  # this file lacks the day's payments


def test_a_finding_is_resolved_once_with_a_note(db, ledger):
    imported = reconciliation.import_bill(db, SYSTEM, alipay_account_bill(PLANTED), file_name="a.csv",
                                          shops=["TM-1"], now=NOW)  # fmt: skip
    rows, _ = reconciliation.list_findings(db, SYSTEM, import_id=imported["id"], kind="mismatch")
    finding_id = rows[0]["id"]

    resolved = reconciliation.resolve_finding(db, SYSTEM, finding_id, note="平台少结 10 元，已申诉", now=NOW)
    same = reconciliation.resolve_finding(db, SYSTEM, finding_id, note="平台少结 10 元，已申诉", now=NOW)

    assert (resolved["resolved_by"], resolved["resolution_note"]) == ("system:jobs", "平台少结 10 元，已申诉")
    assert same["resolved_at"] == resolved["resolved_at"]
    with pytest.raises(Conflict, match="was resolved by system:jobs"):
        reconciliation.resolve_finding(db, SYSTEM, finding_id, note="another story", now=NOW)
    open_rows, open_total = reconciliation.list_findings(db, SYSTEM, import_id=imported["id"], resolved=False)
    assert open_total == 3 and finding_id not in {r["id"] for r in open_rows}
    assert count(db, audit_log) > 0


def test_imports_are_refused_without_a_known_shop_or_the_permission(db, ledger):
    bill = alipay_account_bill(PLANTED)
    reader = Actor("user", "viewer", frozenset({Permission.FINANCE_READ}))

    with pytest.raises(NotFound):
        reconciliation.import_bill(db, SYSTEM, bill, file_name="a.csv", shops=["NOPE"], now=NOW)
    with pytest.raises(InvalidRequest, match="Name the shop"):
        reconciliation.import_bill(db, SYSTEM, bill, file_name="a.csv", shops=[], now=NOW)
    with pytest.raises(Forbidden):
        reconciliation.import_bill(db, reader, bill, file_name="a.csv", shops=["TM-1"], now=NOW)
    with pytest.raises(InvalidRequest, match="not a bill"):
        reconciliation.import_bill(db, SYSTEM, b"hello,world\n1,2\n", file_name="x.csv", shops=["TM-1"], now=NOW)
    assert count(db, settlement_imports) == 0


# --- WeChat Pay 交易账单 --------------------------------------------------------------------------------------------


REFUND_STARTED = DAY_START - timedelta(hours=1)  # 23:00 Beijing the day before the bill's day


def test_a_wechat_bill_with_planted_differences_finds_each_one_and_nothing_else(db):
    fb.shop_and_stock(db, 0)
    for order in ("6001", "6002", "6003", "6004"):
        push(db, order)
    for order, amount in (("6001", "99.00"), ("6002", "199.00"), ("6003", "59.00"), ("6004", "120.00")):
        record(db, order, PaymentKind.FULL_PAYMENT, amount, f"420000{order}", OPENED, channel=Channel.WECHAT)
    record(db, "6002", PaymentKind.REFUND, "-50.00", "503000006002", REFUND_STARTED, Channel.WECHAT)
    push(db, "6005", at=OPENED - timedelta(days=1))  # paid the day before: that day's bill has it, not this one
    record(db, "6005", PaymentKind.FULL_PAYMENT, "199.00", "4200006005", OPENED - timedelta(days=1), Channel.WECHAT)
    bill = wechat_trade_bill(
        [
            wx("SUCCESS", OPENED, "4200006001", "6001", "99.00", "0.59400"),
            wx("SUCCESS", OPENED, "4200006002", "6002", "199.00", "1.19400"),
            wx("REFUND", REFUND_STARTED, "4200006002", "6002", "199.00", "-0.30000",  # asked for the day before
               微信退款单号="503000006002", 商户退款单号="R6002", 退款金额="50.00", 退款状态="SUCCESS"),
            # 6003's payment (59.00 in the ledger) is left out
            wx("SUCCESS", OPENED, "4200006004", "6004", "102.00", "0.61200"),  # 120.00 in the ledger
            wx("SUCCESS", OPENED + timedelta(hours=4), "4200006999", "6999", "10.00", "0.06000"),  # nobody's order
        ]
    )  # fmt: skip

    imported = reconciliation.import_bill(db, SYSTEM, bill, file_name="tradebill.csv", shops=["TM-1"], now=NOW)

    assert findings_of(db, imported["id"]) == sorted(
        [
            ("missing", "payment", "4200006003", "6003", D("59.00"), None, D("-59.00")),
            ("mismatch", "payment", "4200006004", "6004", D("120.00"), D("102.00"), D("-18.00")),
            ("extra", "payment", "4200006999", "6999", None, D("10.00"), D("10.00")),
        ]
    )
    # Five fees charged and one returned on the refund, all written into the ledger and matched.
    assert imported["charges_recorded"] == 5
    assert (imported["period_start"], imported["period_end"]) == (DAY_START, DAY_START + timedelta(days=1))
    with db.uow(write=False) as uow:
        fees = uow.conn.execute(
            select(payment_entries.c.kind, payment_entries.c.amount).where(payment_entries.c.source == "settlement")
        ).all()
    assert sorted(fees) == [("adjustment", D("0.30")), *sorted(("platform_fee", D(f)) for f in
                            ("-0.59", "-1.19", "-0.61", "-0.06"))]  # fmt: skip
    again = reconciliation.import_bill(db, SYSTEM, bill, file_name="tradebill.csv", shops=["TM-1"], now=NOW)
    assert again["already_imported"] and count(db, reconciliation_findings) == 3


# --- Douyin settlement details (fen) ---------------------------------------------------------------------------------


def douyin_answer(rows: list[dict]) -> bytes:
    """order.getSettleBillDetailV3's answer as the official SDK describes it (amounts in fen)."""
    return json.dumps({"code": "100000", "code_msg": "success", "data": {"data": rows, "is_end": 1}}).encode()


def test_a_douyin_settlement_of_a_presale_order_pays_deposit_and_balance_in_one_row(db):
    fb.shop_and_stock(db, 0)
    catalog.create_shop(db, SYSTEM, code="DY-1", name="抖店", platform=Platform.DOUYIN, platform_shop_id="dy-1",
                        stock_lock_policy=StockLockPolicy.ON_PAYMENT, now=NOW)  # fmt: skip
    push(db, "8001", presale="deposit", shop="DY-1", platform="douyin")
    push(db, "8002", shop="DY-1", platform="douyin")
    assert payments.record_from_orders(db, SYSTEM, since=OPENED - timedelta(days=1), now=NOW) == 3
    settled = (OPENED + timedelta(hours=8) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")  # Beijing 18:00
    bill = douyin_answer(
        [
            {"settle_time": settled, "request_no": "DS8001", "shop_order_id": "8001", "order_id": "80011",
             "settle_amount": 18905, "trade_type": 0, "platform_service_fee": 995, "commission": 0},
            {"settle_time": settled, "request_no": "DS8002", "shop_order_id": "8002", "order_id": "80021",
             "settle_amount": 18905, "trade_type": 0, "platform_service_fee": 995, "commission": 0},
        ]
    )  # fmt: skip

    with pytest.raises(InvalidRequest, match="TM-1 is not one"):
        reconciliation.import_bill(db, SYSTEM, bill, file_name="settle.json", shops=["TM-1"], now=NOW)
    imported = reconciliation.import_bill(db, SYSTEM, bill, file_name="settle.json", shops=["DY-1"], now=NOW)

    assert findings_of(db, imported["id"]) == []  # 8001: deposit 50.00 + balance 149.00 = one row's 199.00 (n:1)
    assert (imported["line_count"], imported["matched_count"], imported["charges_recorded"]) == (4, 4, 2)
    assert payments.order_payments(db, fb.order_id(db, "8001"))["fees"] == D("9.95")
