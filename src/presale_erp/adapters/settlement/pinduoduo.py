"""Pinduoduo shop account detail (拼多多店铺账务明细): a GB18030 CSV whose header sits under a few preamble lines
(title, blank, 起始时间/终止时间, a dashed rule) and whose footer lines start with '#'. Rows carry the order
number, never a payment number (shared/formats/settlement_bills.md, section 5)."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from presale_erp.adapters.settlement.reader import Row, amount, period, read_table, row_time
from presale_erp.domain.statements import LineKind, Statement, StatementLine

CHANNEL = "pinduoduo"

COLUMNS = {
    "order_no": ("商户订单号", "商品订单号"),  # both spellings occur in exports
    "occurred_at": ("发生时间",),
    "income": ("收入金额（+元）", "收入金额"),
    "expense": ("支出金额（-元）", "支出金额"),
    "account_type": ("账务类型",),
    "remark": ("备注",),
    "description": ("业务描述",),
}
REQUIRED = ("order_no", "occurred_at", "income", "expense", "account_type")


def parse(text: str, source: str) -> Statement:
    table = read_table(text, COLUMNS, REQUIRED, source=source)
    seen: Counter[tuple[str, ...]] = Counter()
    lines = []
    for row in table.rows:
        signed = amount(row, "income", source) - amount(row, "expense", source)
        # No entry number in this bill: a line is known by what it says, and by its place among identical ones.
        identity = (row.values["order_no"], row.values["occurred_at"], row.values["account_type"], str(signed))
        seen[identity] += 1
        lines.append(
            StatementLine(
                channel=CHANNEL,
                occurred_at=row_time(row, "occurred_at", source),
                external_ref="",
                order_ref=row.values["order_no"],
                kind=_kind(row, signed),
                amount=signed,
                line_ref=":".join(identity) + f":{seen[identity]}",
                raw=row.raw,
            )
        )
    start, end = period(table.preamble, source)
    return Statement("pinduoduo_account", CHANNEL, start, end, lines)


def _kind(row: Row, signed: Decimal) -> LineKind:
    words = row.values["account_type"] + row.values["description"]
    if "提现" in words:
        return LineKind.WITHDRAWAL
    if "退款" in words:
        return LineKind.REFUND
    if "佣金" in words or "推广" in words:  # 多多进宝 commission, promotion charges per order
        return LineKind.COMMISSION
    if "服务费" in words or "手续费" in words:
        return LineKind.FEE
    if "交易收入" in words or "订单收入" in words:
        return LineKind.PAYMENT if signed > 0 else LineKind.OTHER
    return LineKind.OTHER
