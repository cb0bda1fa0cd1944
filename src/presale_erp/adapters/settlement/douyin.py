"""Douyin shop settlement details (抖店结算明细), as order.getSettleBillDetailV3 answers them: every amount is an
integer in fen (分). Read from the API's JSON (one answer, a list of pages, or the rows alone) or from a CSV with
the same fields under their API or Chinese names (shared/formats/settlement_bills.md, section 6).

A settled row pays the order's income less the platform's charges: it becomes a payment line (the income), a fee
line (平台服务费, 渠道分成, 站外推广, 其他分成) and a commission line (佣金, 团长服务费), which add up to 商家实收."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

from presale_erp.adapters.settlement.reader import MAX_AMOUNT, Row, read_records, read_table, row_time
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import fen_to_yuan
from presale_erp.domain.statements import LineKind, Statement, StatementLine

CHANNEL = "douyin"

COLUMNS = {
    "settle_time": ("settle_time", "结算时间"),
    "request_no": ("request_no", "结算单号"),
    "shop_order_id": ("shop_order_id", "订单号"),
    "order_id": ("order_id", "子订单号"),
    "settle_amount": ("settle_amount", "商家实收"),
    "trade_type": ("trade_type", "结算单类型"),
    "platform_service_fee": ("platform_service_fee", "平台服务费"),
    "good_learn_channel_fee": ("good_learn_channel_fee", "渠道分成"),
    "channel_promotion_fee": ("channel_promotion_fee", "直播间站外推广"),
    "other_sharing_amount": ("other_sharing_amount", "其他分成"),
    "commission": ("commission", "佣金"),
    "colonel_service_fee": ("colonel_service_fee", "团长服务费"),
}
REQUIRED = ("settle_time", "request_no", "shop_order_id", "settle_amount", "trade_type")
FEES = ("platform_service_fee", "good_learn_channel_fee", "channel_promotion_fee", "other_sharing_amount")
COMMISSIONS = ("commission", "colonel_service_fee")
SETTLED, REFUNDED, DEPOSIT_RETURNED, REFUNDED_ELSEWHERE = "0", "1", "2", "3"


def parse(text: str, source: str) -> Statement:
    if text.lstrip().startswith(("{", "[")):
        rows = read_records(_records(text, source), COLUMNS, REQUIRED, source=source)
    else:
        rows = read_table(text, COLUMNS, REQUIRED, source=source).rows
    lines = [line for row in rows for line in _lines(row, source)]
    return Statement("douyin_settlement", CHANNEL, None, None, lines)


def _records(text: str, source: str) -> list[dict]:
    try:
        answer = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"{source} is not valid JSON: {exc.msg} at line {exc.lineno}.") from None
    pages = answer if isinstance(answer, list) else [answer]
    records: list[dict] = []
    for page in pages:
        if isinstance(page, dict) and ("data" in page or "code" in page):  # an answer envelope, not a row
            code = str(page.get("code", "100000"))
            if code not in ("100000", "10000", "0"):
                raise InvalidRequest(f"{source}: the API answered code {code} ({page.get('code_msg', '')}), not data.")
            body = page.get("data")
            rows = body.get("data") if isinstance(body, dict) else body
            if not isinstance(rows, list):
                raise InvalidRequest(f"{source}: the answer's data holds no list of settlement rows.")
            records.extend(rows)
        else:
            records.append(page)
    return records


def _fen(row: Row, field: str, source: str) -> Decimal:
    text = row.values[field] or "0"
    try:
        fen = Decimal(text)
    except InvalidOperation:
        fen = Decimal("NaN")
    if not fen.is_finite() or fen != fen.to_integral_value() or abs(fen) > MAX_AMOUNT * 100:
        name = row.names.get(field, field)
        raise InvalidRequest(f"{source} record {row.number}: {name} '{text}' is not a whole number of fen.")
    return fen_to_yuan(int(fen))


def _lines(row: Row, source: str) -> list[StatementLine]:
    when = row_time(row, "settle_time", source)
    request_no, order_no, sub_order = row.values["request_no"], row.values["shop_order_id"], row.values["order_id"]
    settled = _fen(row, "settle_amount", source)
    trade_type = row.values["trade_type"]

    def line(kind: LineKind, value: Decimal, suffix: str) -> StatementLine:
        return StatementLine(CHANNEL, when, request_no, order_no, kind, value, Decimal("0.00"),
                             f"{request_no}:{sub_order}{suffix}", row.raw)  # fmt: skip

    if trade_type in (REFUNDED, REFUNDED_ELSEWHERE):
        return [line(LineKind.REFUND, -abs(settled), "")]
    if trade_type == DEPOSIT_RETURNED:
        return [line(LineKind.OTHER, settled, "")]
    if trade_type != SETTLED:
        raise InvalidRequest(f"{source} record {row.number}: 结算单类型 '{trade_type}' is not 0, 1, 2 or 3.")
    fees = sum((_fen(row, f, source) for f in FEES), Decimal("0.00"))
    commissions = sum((_fen(row, f, source) for f in COMMISSIONS), Decimal("0.00"))
    lines = [line(LineKind.PAYMENT, settled + fees + commissions, "")]
    if fees:
        lines.append(line(LineKind.FEE, -fees, ":fee"))
    if commissions:
        lines.append(line(LineKind.COMMISSION, -commissions, ":commission"))
    return lines
