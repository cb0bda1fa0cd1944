"""WeChat Pay merchant bills (微信支付账单): the trade bill (交易账单, ALL/SUCCESS/REFUND, current and pre-2018
layouts) and the fund-flow bill (资金账单). Every value is prefixed by a backquote; line 1 is the header, the
second-to-last line the summary header and the last its values (shared/formats/settlement_bills.md, section 2)."""

from __future__ import annotations

from presale_erp.adapters.settlement.reader import Row, amount, read_table, row_time
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.statements import LineKind, Statement, StatementLine

CHANNEL = "wechat"

TRADE_COLUMNS = {
    "time": ("交易时间",),
    "transaction_id": ("微信订单号",),
    "out_trade_no": ("商户订单号",),
    "status": ("交易状态",),
    "settlement_amount": ("应结订单金额", "总金额"),  # 总金额: merchants on the old layout (no 免充值券)
    "refund_id": ("微信退款单号",),
    "out_refund_no": ("商户退款单号",),
    "refund_amount": ("退款金额",),
    "fee": ("手续费",),
}
TRADE_REQUIRED = ("time", "transaction_id", "out_trade_no", "status", "settlement_amount", "fee")
TRADE_SUMMARY = ("总交易单数",)

FUND_COLUMNS = {
    "time": ("记账时间",),
    "business_no": ("微信支付业务单号",),
    "entry_no": ("资金流水单号",),
    "business_name": ("业务名称",),
    "business_type": ("业务类型",),
    "direction": ("收支类型",),
    "amount": ("收支金额(元)", "收支金额"),
    "voucher_no": ("业务凭证号",),
}
FUND_REQUIRED = ("time", "business_no", "entry_no", "business_type", "direction", "amount")
FUND_SUMMARY = ("资金流水总笔数",)


def parse_trade(text: str, source: str) -> Statement:
    """SUCCESS rows are payments (应结订单金额); REFUND and REVOKED rows give money back (退款金额, keyed by the
    微信退款单号). 手续费 is the fee WeChat keeps: charged on payments, returned (negative) on refunds."""
    table = read_table(text, TRADE_COLUMNS, TRADE_REQUIRED, source=source, stop_at=TRADE_SUMMARY)
    return Statement("wechat_trade", CHANNEL, None, None, [_trade_line(row, source) for row in table.rows])


def _trade_line(row: Row, source: str) -> StatementLine:
    status = row.values["status"].upper()
    transaction_id = row.values["transaction_id"]
    fee = -amount(row, "fee", source)
    when = row_time(row, "time", source)
    if status == "SUCCESS":
        paid = amount(row, "settlement_amount", source)
        return StatementLine(
            CHANNEL, when, transaction_id, row.values["out_trade_no"], LineKind.PAYMENT, paid, fee, transaction_id,
            row.raw,
        )  # fmt: skip
    if status in ("REFUND", "REVOKED"):
        back = abs(amount(row, "refund_amount", source)) or abs(amount(row, "settlement_amount", source))
        refund_id = row.values["refund_id"] or transaction_id
        line_ref = f"{refund_id}:{row.values['out_refund_no']}" if row.values["refund_id"] else f"{refund_id}:{status}"
        return StatementLine(
            CHANNEL, when, refund_id, row.values["out_trade_no"], LineKind.REFUND, -back, fee, line_ref, row.raw
        )
    raise InvalidRequest(
        f"{source} line {row.number}: 交易状态 '{row.values['status']}' is not SUCCESS, REFUND or REVOKED."
    )


def parse_fundflow(text: str, source: str) -> Statement:
    """Each row moves the balance: 收支类型 gives the sign of the unsigned 收支金额(元)."""
    table = read_table(text, FUND_COLUMNS, FUND_REQUIRED, source=source, stop_at=FUND_SUMMARY)
    lines = []
    for row in table.rows:
        direction = row.values["direction"]
        if direction not in ("收入", "支出"):
            raise InvalidRequest(f"{source} line {row.number}: 收支类型 '{direction}' is neither 收入 nor 支出.")
        value = abs(amount(row, "amount", source))
        lines.append(
            StatementLine(
                channel=CHANNEL,
                occurred_at=row_time(row, "time", source),
                external_ref=row.values["business_no"],
                order_ref=row.values["voucher_no"],
                kind=_fund_kind(row),
                amount=value if direction == "收入" else -value,
                line_ref=row.values["entry_no"],
                raw=row.raw,
            )
        )
    return Statement("wechat_fundflow", CHANNEL, None, None, lines)


def _fund_kind(row: Row) -> LineKind:
    business = row.values["business_type"]
    if "手续费" in business:  # 扣除交易手续费 / 退还交易手续费: checked before 交易 and 退款, which they contain
        return LineKind.FEE
    if "退款" in business:  # 退款, and 退款关闭 (the money comes back: it nets the refund to zero)
        return LineKind.REFUND
    if "提现" in business or "提现" in row.values["business_name"]:
        return LineKind.WITHDRAWAL
    if "交易" in business:
        return LineKind.PAYMENT
    return LineKind.OTHER
