"""A payment platform's bill (对账单), as read from its file: one StatementLine per movement of money.

Amounts are signed from the merchant's view: + money in (a buyer's payment), - money out (a refund, a fee, a
withdrawal). Times are aware UTC; the platforms write Beijing time, the parsers convert it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum


class LineKind(StrEnum):
    PAYMENT = "payment"  # a buyer paid (deposit, balance or full payment)
    REFUND = "refund"  # money back to a buyer
    FEE = "fee"  # the platform's charge: 手续费, 服务费, 技术服务费
    COMMISSION = "commission"  # commission to the platform or an affiliate: 佣金, 淘宝客佣金
    WITHDRAWAL = "withdrawal"  # the merchant moved money out to its bank (提现): not an order's money
    OTHER = "other"  # anything the parser cannot name; reconciliation shows it to a person


LINE_KIND_NAMES_ZH: dict[LineKind, str] = {
    LineKind.PAYMENT: "收款",
    LineKind.REFUND: "退款",
    LineKind.FEE: "手续费",
    LineKind.COMMISSION: "佣金",
    LineKind.WITHDRAWAL: "提现",
    LineKind.OTHER: "其他",
}


@dataclass(frozen=True)
class StatementLine:
    channel: str  # alipay | wechat | douyin | pinduoduo (as payment_entries.channel)
    occurred_at: datetime  # aware UTC
    external_ref: str  # the platform's trade, refund or settlement number ("" when the bill has none)
    order_ref: str  # the merchant's / platform's order number ("" when the bill has none)
    kind: LineKind
    amount: Decimal  # signed, merchant's view
    fee: Decimal = Decimal("0.00")  # signed, merchant's view: a fee charged on this line is negative
    line_ref: str = ""  # what identifies this line on the platform (账务流水号, 资金流水单号, ...): stable keys
    raw: dict[str, str] = field(default_factory=dict)  # the row as the file had it, by column header


@dataclass(frozen=True)
class Statement:
    """A parsed bill file: its format, the period it says it covers (None where the file does not say), lines."""

    format: str
    channel: str
    period_start: datetime | None
    period_end: datetime | None
    lines: list[StatementLine]
