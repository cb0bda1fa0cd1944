"""The finance reports as workbooks: which columns each report shows, under which Chinese header."""

from __future__ import annotations

from typing import Any

from presale_erp.adapters.exporting.sheets import Column, Table, workbook

KEY_HEADERS = {"shop": "店铺", "sku": "SKU", "warehouse": "仓库", "day": "日期", "month": "月份"}

CASH = [
    Column("day", "日期", "date"),
    Column("channel", "渠道"),
    Column("money_in", "收入", "money"),
    Column("money_out", "支出", "money"),
    Column("net", "净额", "money"),
    Column("balance", "累计余额", "money"),
]
CASH_GAP = [
    Column("day", "日期", "date"),
    Column("deposits", "定金收款", "money"),
    Column("balances", "尾款及全款收款", "money"),
    Column("refunds", "退款", "money"),
    Column("collected", "实收净额", "money"),
    Column("expected_balances", "待收尾款", "money"),
    Column("payables_due", "应付供应商", "money"),
    Column("net", "当日净额", "money"),
    Column("position", "累计资金头寸", "money"),
]
PNL = [
    Column("gross_revenue", "销售收入", "money"),
    Column("refunds", "退款及折让", "money"),
    Column("forfeited_deposits", "定金没收收入", "money"),
    Column("net_revenue", "净收入", "money"),
    Column("cogs", "销售成本", "money"),
    Column("gross_profit", "毛利", "money"),
    Column("gross_margin", "毛利率", "ratio"),
    Column("fees", "平台费用及佣金", "money"),
    Column("net_profit", "净利润", "money"),
    Column("units_shipped", "发货数量", "int"),
    Column("units_returned", "退货数量", "int"),
]
REFUND_RATES = [
    Column("units_shipped", "发货数量", "int"),
    Column("units_returned", "退货数量", "int"),
    Column("return_rate", "退货率", "ratio"),
    Column("revenue", "销售收入", "money"),
    Column("refunds", "退款金额", "money"),
    Column("refund_rate", "退款率", "ratio"),
]
VALUATION_BY_WAREHOUSE = [
    Column("warehouse", "仓库"),
    Column("units", "数量", "int"),
    Column("value", "库存金额", "money"),
    Column("units_without_cost", "无成本数量", "int"),
    Column("damaged_units", "残次品数量", "int"),
    Column("damaged_value", "残次品金额", "money"),
]
VALUATION_LINES = [
    Column("warehouse", "仓库"),
    Column("sku", "SKU"),
    Column("on_hand", "在库数量", "int"),
    Column("unit_cost", "移动平均成本", "money"),
    Column("source", "成本来源"),
    Column("value", "库存金额", "money"),
    Column("damaged", "残次品数量", "int"),
    Column("damaged_value", "残次品金额", "money"),
]


def keyed(group_by: str, columns: list[Column]) -> list[Column]:
    lead = [Column("key", KEY_HEADERS[group_by])]
    if group_by in ("shop", "sku", "warehouse"):
        lead.append(Column("name", "名称"))
    return lead + columns


def cash_workbook(report: dict[str, Any]) -> bytes:
    return workbook([Table("资金日报", CASH, report["rows"], report["totals"])])


def cash_gap_workbook(report: dict[str, Any]) -> bytes:
    undated = [
        {"figure": "待收尾款(无到期日)", "amount": report["undated"]["expected_balances"]},
        {"figure": "应付供应商(无承诺日期)", "amount": report["undated"]["payables_due"]},
    ]
    return workbook(
        [
            Table("资金缺口", CASH_GAP, report["rows"]),
            Table("未定日期", [Column("figure", "项目"), Column("amount", "金额", "money")], undated),
        ]
    )


def pnl_workbook(report: dict[str, Any]) -> bytes:
    return workbook([Table("利润表", keyed(report["group_by"], PNL), report["rows"], report["totals"])])


def refund_rates_workbook(report: dict[str, Any]) -> bytes:
    columns = keyed(report["group_by"], REFUND_RATES)
    return workbook([Table("退款率", columns, report["rows"], report["totals"])])


def valuation_workbook(report: dict[str, Any]) -> bytes:
    return workbook(
        [
            Table("库存金额(按仓库)", VALUATION_BY_WAREHOUSE, report["warehouses"], report["totals"]),
            Table("库存明细", VALUATION_LINES, report["lines"]),
        ]
    )
