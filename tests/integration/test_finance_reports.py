"""Finance reports on a small dataset whose every figure is worked out by hand (finance_report_data.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import ROLE_PERMISSIONS, SYSTEM, Actor, Role
from presale_erp.domain.errors import Forbidden, InvalidRequest
from presale_erp.services import finance_reports as reports
from presale_erp.services.finance_reports import ReportFilters
from tests.integration import finance_report_data

D = Decimal
OCTOBER = ReportFilters(date(2026, 10, 1), date(2026, 10, 31))
PNL_FIELDS = (
    "gross_revenue",
    "refunds",
    "forfeited_deposits",
    "net_revenue",
    "cogs",
    "gross_profit",
    "gross_margin",
    "fees",
    "net_profit",
    "units_shipped",
    "units_returned",
)


@pytest.fixture
def data(db: Database) -> Database:
    finance_report_data.load(db)
    return db


def pnl_row(key, name, *figures) -> dict:
    values = [D(f) if isinstance(f, str) else f for f in figures]
    return {"key": key, "name": name, **dict(zip(PNL_FIELDS, values, strict=True))}


def test_cash_report_gives_each_beijing_day_and_channel_with_running_balances_from_before_the_window(data):
    report = reports.cash(data, SYSTEM, OCTOBER)

    assert [
        (r["day"], r["channel"], r["money_in"], r["money_out"], r["net"], r["balance"]) for r in report["rows"]
    ] == [
        (date(2026, 10, 1), "alipay", D("270.00"), D("0.00"), D("270.00"), D("350.00")),  # opening 80.00
        (date(2026, 10, 5), "alipay", D("0.00"), D("15.01"), D("-15.01"), D("334.99")),
        (date(2026, 10, 11), "alipay", D("0.00"), D("100.00"), D("-100.00"), D("234.99")),  # 10-10 18:00 UTC
        (date(2026, 10, 20), "wechat", D("150.00"), D("4.50"), D("145.50"), D("145.50")),
        (date(2026, 10, 21), "wechat", D("0.00"), D("15.00"), D("-15.00"), D("130.50")),
        (date(2026, 10, 31), "bank", D("0.00"), D("10.00"), D("-10.00"), D("-10.00")),
    ]
    assert report["totals"] == {
        "opening": D("80.00"),
        "money_in": D("420.00"),
        "money_out": D("144.51"),
        "net": D("275.49"),
        "closing": D("355.49"),
    }


def test_cash_report_for_one_shop_leaves_out_the_other_shops_money(data):
    report = reports.cash(data, SYSTEM, ReportFilters(date(2026, 10, 1), date(2026, 11, 1), shop="TM-2"))

    assert [(r["day"], r["net"], r["balance"]) for r in report["rows"]] == [
        (date(2026, 10, 1), D("20.00"), D("20.00")),
        (date(2026, 11, 1), D("243.00"), D("263.00")),
    ]


def test_pnl_by_shop_at_moving_average_cost_with_fees_charged_to_their_shop(data):
    report = reports.pnl(data, SYSTEM, ReportFilters(), "shop")

    assert report["rows"] == [
        pnl_row(
            "TM-1",
            "TM-1 店",
            "450.00",
            "115.00",
            "0.00",
            "335.00",
            "148.50",
            "186.50",
            "0.5567",
            "29.51",
            "156.99",
            4,
            1,
        ),
        pnl_row(
            "TM-2", "TM-2 店", "270.00", "0.00", "20.00", "290.00", "90.00", "200.00", "0.6897", "27.00", "173.00", 3, 0
        ),
    ]
    assert report["totals"]["net_profit"] == D("329.99")
    assert report["totals"]["gross_margin"] == D("0.6184")


def test_pnl_by_sku_spreads_order_fees_by_revenue_share_and_keeps_shop_fees_unallocated(data):
    report = reports.pnl(data, SYSTEM, ReportFilters(), "sku")

    # Order 1's 15.01 of fees: 200/300 to TEA (10.0067 -> 10.01), 100/300 to CUP (5.0033 -> 5.00).
    assert report["rows"] == [
        pnl_row(
            "CUP",
            "CUP 规格",
            "370.00",
            "0.00",
            "20.00",
            "390.00",
            "120.00",
            "270.00",
            "0.6923",
            "32.00",
            "238.00",
            4,
            0,
        ),
        pnl_row(
            "TEA",
            "TEA 规格",
            "350.00",
            "115.00",
            "0.00",
            "235.00",
            "118.50",
            "116.50",
            "0.4957",
            "14.51",
            "101.99",
            3,
            1,
        ),
        pnl_row(None, "未分摊费用", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", None, "10.00", "-10.00", 0, 0),
    ]
    assert report["totals"]["fees"] == D("56.51")


def test_pnl_by_warehouse(data):
    report = reports.pnl(data, SYSTEM, ReportFilters(), "warehouse")

    assert [
        (r["key"], r["net_revenue"], r["cogs"], r["gross_margin"], r["fees"], r["net_profit"]) for r in report["rows"]
    ] == [
        ("HZ", D("390.00"), D("150.50"), D("0.6141"), D("37.01"), D("202.49")),
        ("SH", D("235.00"), D("88.00"), D("0.6255"), D("9.50"), D("137.50")),
        (None, D("0.00"), D("0.00"), None, D("10.00"), D("-10.00")),
    ]


def test_pnl_by_beijing_month_and_day(data):
    months = reports.pnl(data, SYSTEM, ReportFilters(), "month")
    days = reports.pnl(data, SYSTEM, ReportFilters(date(2026, 10, 31), date(2026, 11, 1)), "day")

    assert [(r["key"], r["net_revenue"], r["fees"], r["net_profit"]) for r in months["rows"]] == [
        ("2026-10", D("335.00"), D("29.51"), D("156.99")),
        ("2026-11", D("290.00"), D("27.00"), D("173.00")),  # the forfeit at 10-31 16:30 UTC is 11-01 in Beijing
    ]
    assert [(r["key"], r["net_revenue"], r["fees"]) for r in days["rows"]] == [
        ("2026-10-31", D("0.00"), D("10.00")),
        ("2026-11-01", D("290.00"), D("27.00")),
    ]


def test_pnl_of_one_sku_by_shop_counts_only_that_skus_share_of_fees(data):
    report = reports.pnl(data, SYSTEM, ReportFilters(sku="TEA"), "shop")

    assert report["rows"] == [
        pnl_row(
            "TM-1",
            "TM-1 店",
            "350.00",
            "115.00",
            "0.00",
            "235.00",
            "118.50",
            "116.50",
            "0.4957",
            "14.51",
            "101.99",
            3,
            1,
        ),
    ]


@pytest.mark.parametrize(
    ("group_by", "expected", "totals"),
    [
        (
            "sku",
            [
                ("CUP", 4, 0, "0.0000", "370.00", "0.00", "0.0000"),
                ("TEA", 3, 1, "0.3333", "350.00", "115.00", "0.3286"),
            ],
            (7, 1, "0.1429", "720.00", "115.00", "0.1597"),
        ),
        (
            "shop",
            [
                ("TM-1", 4, 1, "0.2500", "450.00", "115.00", "0.2556"),
                ("TM-2", 3, 0, "0.0000", "270.00", "0.00", "0.0000"),
            ],
            (7, 1, "0.1429", "720.00", "115.00", "0.1597"),
        ),
    ],
)
def test_refund_rates_by_sku_and_shop(data, group_by, expected, totals):
    report = reports.refund_rates(data, SYSTEM, ReportFilters(), group_by)

    fields = ("units_shipped", "units_returned", "return_rate", "revenue", "refunds", "refund_rate")
    assert [(r["key"], *(r[f] for f in fields)) for r in report["rows"]] == [
        (key, shipped, returned, D(rr), D(rev), D(ref), D(rf)) for key, shipped, returned, rr, rev, ref, rf in expected
    ]
    shipped, returned, rr, rev, ref, rf = totals
    assert tuple(report["totals"][f] for f in fields) == (shipped, returned, D(rr), D(rev), D(ref), D(rf))


def test_inventory_valuation_by_warehouse_with_sku_lines(data):
    report = reports.inventory_valuation(data, SYSTEM, ReportFilters())

    damaged = {"damaged_units_without_cost": 0}
    assert report["warehouses"] == [  # HZ: 603.33 + 3 x 80.00 (catalogue cost); one damaged TEA at 60.333333
        {
            "warehouse": "HZ",
            "units": 13,
            "value": D("843.33"),
            "units_without_cost": 0,
            "damaged_units": 1,
            "damaged_value": D("60.33"),
            **damaged,
        },
        {
            "warehouse": "SH",
            "units": 2,
            "value": D("40.25"),
            "units_without_cost": 0,
            "damaged_units": 0,
            "damaged_value": D("0.00"),
            **damaged,
        },
    ]
    assert [(r["warehouse"], r["sku"], r["unit_cost"], r["source"], r["value"]) for r in report["lines"]] == [
        ("HZ", "CUP", D("80.00"), "catalogue", D("240.00")),
        ("HZ", "TEA", D("60.333333"), "moving_average", D("603.33")),
        ("SH", "CUP", D("20.125000"), "moving_average", D("40.25")),
    ]
    assert report["totals"] == {
        "units": 15,
        "value": D("883.58"),
        "units_without_cost": 0,
        "damaged_units": 1,
        "damaged_value": D("60.33"),
    }
    one = reports.inventory_valuation(data, SYSTEM, ReportFilters(sku="CUP"))
    assert [(w["warehouse"], w["value"]) for w in one["warehouses"]] == [("HZ", D("240.00")), ("SH", D("40.25"))]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda db: reports.cash(db, SYSTEM, ReportFilters(shop="NOPE")), "no shop with code 'NOPE'"),
        (lambda db: reports.cash(db, SYSTEM, ReportFilters(sku="TEA")), "cannot be filtered by sku"),
        (lambda db: reports.pnl(db, SYSTEM, ReportFilters(date(2026, 11, 2), date(2026, 11, 1)), "shop"), "after"),
        (lambda db: reports.pnl(db, SYSTEM, ReportFilters(), "buyer"), "group_by must be one of"),
        (lambda db: reports.refund_rates(db, SYSTEM, ReportFilters(), "warehouse"), "group_by must be one of"),
        (lambda db: reports.inventory_valuation(db, SYSTEM, OCTOBER), "cannot be filtered by date_from"),
    ],
)
def test_bad_filters_are_refused_with_the_reason(data, call, message):
    with pytest.raises(InvalidRequest, match=message):
        call(data)


def test_reports_need_finance_read(data):
    warehouse_clerk = Actor("user", "clerk", ROLE_PERMISSIONS[Role.WAREHOUSE])

    with pytest.raises(Forbidden):
        reports.pnl(data, warehouse_clerk, ReportFilters(), "shop")
