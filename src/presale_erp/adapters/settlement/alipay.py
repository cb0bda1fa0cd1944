"""Alipay merchant bills (支付宝对账单): 账务明细 (signcustomer, every movement of the balance) and 业务明细
(trade, acquiring payments and refunds). GBK CSV with '#' preamble and footer lines, ID fields padded with a
trailing tab; the header is matched by name, so the classic 12-column and the extended Taobao-bound layouts
read alike (see shared/formats/settlement_bills.md, section 1)."""

from __future__ import annotations

import re
from decimal import Decimal

from presale_erp.adapters.settlement.reader import Row, amount, period, read_table, row_time
from presale_erp.domain.statements import LineKind, Statement, StatementLine

CHANNEL = "alipay"

ACCOUNT_COLUMNS = {
    "entry_no": ("账务流水号",),
    "trade_no": ("业务流水号",),
    "merchant_order_no": ("商户订单号",),
    "base_order_no": ("业务基础订单号",),  # Taobao/Tmall-bound accounts: the platform order number
    "occurred_at": ("发生时间",),
    "income": ("收入金额（+元）", "收入金额"),
    "expense": ("支出金额（-元）", "支出金额"),
    "business_type": ("业务类型",),
    "description": ("业务描述",),
    "remark": ("备注",),
}
ACCOUNT_REQUIRED = ("entry_no", "trade_no", "occurred_at", "income", "expense", "business_type")

TRADE_COLUMNS = {
    "trade_no": ("支付宝交易号",),
    "merchant_order_no": ("商户订单号",),
    "business_type": ("业务类型",),
    "created_at": ("创建时间",),
    "finished_at": ("完成时间",),
    "order_amount": ("订单金额（元）", "订单金额"),
    "refund_no": ("退款批次号/请求号",),
    "fee": ("服务费（元）", "服务费"),
}
TRADE_REQUIRED = ("trade_no", "merchant_order_no", "business_type", "finished_at", "order_amount")

_TAOBAO_PAYMENT_NO = re.compile(r"^T200P(\d+)$")  # 商户订单号 of a Taobao payment: T200P<淘宝订单号>
_PAYMENT_TYPES = ("在线支付", "交易付款", "交易", "即时到账", "担保交易")


def parse_account(text: str, source: str) -> Statement:
    """账务明细: income and expense are two unsigned columns; a line's amount is 收入 − 支出."""
    table = read_table(text, ACCOUNT_COLUMNS, ACCOUNT_REQUIRED, source=source)
    lines = []
    for row in table.rows:
        signed = amount(row, "income", source) - amount(row, "expense", source)
        lines.append(
            StatementLine(
                channel=CHANNEL,
                occurred_at=row_time(row, "occurred_at", source),
                external_ref=row.values["trade_no"],
                order_ref=_order_ref(row),
                kind=_account_kind(row, signed),
                amount=signed,
                line_ref=row.values["entry_no"],
                raw=row.raw,
            )
        )
    start, end = period(table.preamble, source)
    return Statement("alipay_account", CHANNEL, start, end, lines)


def _order_ref(row: Row) -> str:
    base = row.values["base_order_no"]
    if base:
        return base
    merchant_no = row.values["merchant_order_no"]
    taobao = _TAOBAO_PAYMENT_NO.match(merchant_no)
    return taobao.group(1) if taobao else merchant_no


def _account_kind(row: Row, signed: Decimal) -> LineKind:
    business = row.values["business_type"]
    words = business + row.values["description"] + row.values["remark"]
    if "提现" in business:
        return LineKind.WITHDRAWAL
    if "退款" in business:
        return LineKind.REFUND
    if "佣金" in words and signed < 0:
        return LineKind.COMMISSION
    if any(word in business for word in ("收费", "服务费", "手续费")):
        return LineKind.FEE
    if any(word in business for word in _PAYMENT_TYPES) and signed > 0:
        return LineKind.PAYMENT
    return LineKind.OTHER


def parse_trade(text: str, source: str) -> Statement:
    """业务明细: 交易 rows are payments, 退款 rows refunds of the same 支付宝交易号 (some exports sign 订单金额
    negative on refunds, others do not: the sign comes from the row's type). 服务费 is written as the merchant
    sees it (a charge is negative)."""
    table = read_table(text, TRADE_COLUMNS, TRADE_REQUIRED, source=source)
    lines = []
    for row in table.rows:
        business = row.values["business_type"]
        kind = LineKind.REFUND if "退款" in business else LineKind.PAYMENT if "交易" in business else LineKind.OTHER
        gross = abs(amount(row, "order_amount", source))
        trade_no = row.values["trade_no"]
        when = "finished_at" if row.values["finished_at"] else "created_at"
        request_no = row.values["refund_no"] or row.values[when]  # partial refunds of one trade differ by it
        lines.append(
            StatementLine(
                channel=CHANNEL,
                occurred_at=row_time(row, when, source),
                external_ref=trade_no,
                order_ref=row.values["merchant_order_no"],
                kind=kind,
                amount=-gross if kind == LineKind.REFUND else gross,
                fee=amount(row, "fee", source),
                line_ref=trade_no if kind == LineKind.PAYMENT else f"{trade_no}:{kind}:{request_no}",
                raw=row.raw,
            )
        )
    start, end = period(table.preamble, source)
    return Statement("alipay_trade", CHANNEL, start, end, lines)
