"""A deposit presale order's money, told end to end through the real services: the buyer pays a deposit and the
balance, the parcel ships at the moving-average cost, the buyer gets 20.00 back for a scuffed box (refund only),
then sends one unit back (return and refund). Its P&L line, the cash report rows and the vouchers for the
accounting package are worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from presale_erp.domain.access import SYSTEM
from presale_erp.domain.aftersales import CaseKind, RefundCause
from presale_erp.services import aftersales, aftersales_settlement, finance_reports, payments, vouchers
from presale_erp.services import shipping_confirmation as shipping
from presale_erp.services.aftersales import CaseLine
from presale_erp.services.finance_reports import ReportFilters
from tests import finance_builders as fb
from tests.conftest import NOW

D = Decimal


def test_a_presale_order_with_deposit_balance_partial_refund_and_a_return_shows_right_in_pnl_and_cash(db):
    _tell_the_story(db)
    [line] = finance_reports.pnl(db, SYSTEM, ReportFilters(sku=fb.TEA), "sku")["rows"]
    # revenue 199.00; refunds 20.00 (allowance) + 99.50 (one unit's share) = 119.50; net revenue 79.50
    # COGS 2 x 61.333333 = 122.67 out, 1 x 61.333333 = 61.33 back: 61.34; gross profit 18.16 = 22.84% of 79.50
    assert {
        k: line[k]
        for k in (
            "gross_revenue",
            "refunds",
            "net_revenue",
            "cogs",
            "gross_profit",
            "gross_margin",
            "fees",
            "net_profit",
            "units_shipped",
            "units_returned",
        )
    } == {
        "gross_revenue": D("199.00"),
        "refunds": D("119.50"),
        "net_revenue": D("79.50"),
        "cogs": D("61.34"),
        "gross_profit": D("18.16"),
        "gross_margin": D("0.2284"),
        "fees": D("0.00"),
        "net_profit": D("18.16"),
        "units_shipped": 2,
        "units_returned": 1,
    }

    cash = finance_reports.cash(db, SYSTEM, ReportFilters(date(2026, 10, 1), date(2026, 11, 30)))
    # Beijing days: deposit at the order's payment time, balance at the version that showed it paid (NOW-3h =
    # 11-02 01:00), refunds at NOW+1d (11-03 04:00) and NOW+3d (11-05 04:00); Tmall money moves through Alipay.
    assert [(r["day"], r["channel"], r["money_in"], r["money_out"], r["balance"]) for r in cash["rows"]] == [
        (date(2026, 10, 23), "alipay", D("50.00"), D("0.00"), D("50.00")),
        (date(2026, 11, 2), "alipay", D("149.00"), D("0.00"), D("199.00")),
        (date(2026, 11, 3), "alipay", D("0.00"), D("20.00"), D("179.00")),
        (date(2026, 11, 5), "alipay", D("0.00"), D("99.50"), D("79.50")),
    ]
    assert cash["totals"]["closing"] == D("79.50")  # what the order left in the merchant's hands: its net revenue


def test_the_same_story_books_balanced_vouchers_with_the_right_lines(db):
    _tell_the_story(db)

    made = vouchers.generate(
        db, SYSTEM, day_from=date(2026, 10, 23), day_to=date(2026, 11, 5), now=NOW + timedelta(days=5)
    )
    booked = vouchers.list_vouchers(db, SYSTEM, limit=100)

    assert made.created == len(booked)
    for voucher in booked:
        assert sum(line.debit for line in voucher.lines) == sum(line.credit for line in voucher.lines)
    lines = sorted(
        (v.date, v.business_type.value, line.account_code, line.debit, line.credit) for v in booked for line in v.lines
    )
    # Money in is a liability (预收账款 2203) until the goods ship; revenue and cost are booked at shipment; a
    # refund allowance and a return reduce revenue (and a return the cost, at the cost booked when it shipped).
    assert lines == sorted(
        [
            (date(2026, 10, 23), "receipts", "1012.01", D("50.00"), D("0")),
            (date(2026, 10, 23), "receipts", "2203", D("0"), D("50.00")),
            (date(2026, 11, 2), "receipts", "1012.01", D("149.00"), D("0")),
            (date(2026, 11, 2), "receipts", "2203", D("0"), D("149.00")),
            (date(2026, 11, 2), "sales", "2203", D("199.00"), D("0")),
            (date(2026, 11, 2), "sales", "6001", D("0"), D("199.00")),
            (date(2026, 11, 2), "sales", "6401", D("122.67"), D("0")),
            (date(2026, 11, 2), "sales", "1405", D("0"), D("122.67")),
            (date(2026, 11, 3), "returns", "6001", D("20.00"), D("0")),
            (date(2026, 11, 3), "returns", "2203", D("0"), D("20.00")),
            (date(2026, 11, 3), "refunds", "2203", D("20.00"), D("0")),
            (date(2026, 11, 3), "refunds", "1012.01", D("0"), D("20.00")),
            (date(2026, 11, 5), "returns", "6001", D("99.50"), D("0")),
            (date(2026, 11, 5), "returns", "2203", D("0"), D("99.50")),
            (date(2026, 11, 5), "returns", "1405", D("61.33"), D("0")),
            (date(2026, 11, 5), "returns", "6401", D("0"), D("61.33")),
            (date(2026, 11, 5), "refunds", "2203", D("99.50"), D("0")),
            (date(2026, 11, 5), "refunds", "1012.01", D("0"), D("99.50")),
        ]
    )


def _tell_the_story(db) -> None:
    """定金 50.00 (paid NOW-9d), 尾款 149.00 (NOW-3h): 2 x TEA at 99.50; moving average 61.333333."""
    [parcel] = fb.presale_story_allocated(db)
    order = fb.order_id(db, "5001")
    payments.record_from_orders(db, SYSTEM, since=NOW - timedelta(days=30), now=NOW)
    shipping.ship_parcels(db, SYSTEM, codes=[parcel["code"]], now=NOW)  # Beijing 11-02 04:00

    scuffed = aftersales.open_case(
        db,
        SYSTEM,
        case_key="c-1",
        order_id=order,
        kind=CaseKind.REFUND_ONLY,
        cause=RefundCause.MERCHANT,
        reason="外盒破损",
        lines=[CaseLine(1, amount=D("20.00"))],
        now=NOW + timedelta(days=1),
    )
    aftersales.approve(db, SYSTEM, scuffed["id"], now=NOW + timedelta(days=1))
    aftersales_settlement.refund(db, SYSTEM, scuffed["id"], refund_ref="R-1", now=NOW + timedelta(days=1))
    back = aftersales.open_case(
        db,
        SYSTEM,
        case_key="c-2",
        order_id=order,
        kind=CaseKind.RETURN_AND_REFUND,
        cause=RefundCause.BUYER,
        reason="不想要了",
        lines=[CaseLine(1, quantity=1)],
        now=NOW + timedelta(days=3),
    )
    aftersales.approve(db, SYSTEM, back["id"], now=NOW + timedelta(days=3))
    aftersales_settlement.receive_return(
        db, SYSTEM, back["id"], warehouse="HZ", bin="A-01", now=NOW + timedelta(days=3)
    )
    aftersales_settlement.refund(db, SYSTEM, back["id"], refund_ref="R-2", now=NOW + timedelta(days=3))
