"""The receivables aging report (应收账龄) as a workbook: one row per customer, a totals row."""

from __future__ import annotations

from typing import Any

from presale_erp.adapters.exporting.sheets import Column, Table, workbook

AGING = [
    Column("customer", "客户编码"),
    Column("name", "客户名称"),
    Column("kind", "类型"),
    Column("credit_limit", "信用额度", "money"),
    Column("payment_terms_days", "账期(天)", "int"),
    Column("current", "未到期", "money"),
    Column("days_1_30", "逾期1-30天", "money"),
    Column("days_31_60", "逾期31-60天", "money"),
    Column("days_61_90", "逾期61-90天", "money"),
    Column("over_90", "逾期90天以上", "money"),
    Column("unapplied", "预收未核销", "money"),
    Column("overdue", "逾期合计", "money"),
    Column("balance", "应收余额", "money"),
]


def aging_workbook(as_of: str, rows: list[dict[str, Any]], totals: dict[str, Any]) -> bytes:
    return workbook([Table(f"应收账龄 {as_of}", AGING, rows, totals)])
