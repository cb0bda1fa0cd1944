"""The payments ledger (收支流水) and sales postings (收入成本明细) as pure rules.

A payment entry is one immutable, signed amount: + money in to the merchant, - money out. Its key is chosen by
whoever records it, so recording the same fact twice is a no-op, and reusing a key for another fact is refused.
Revenue of a line is the line's paid amount; when a line ships in parts (or comes back in parts) each part takes
the shares of its own units, to the fen, so the parts always add up to the line exactly.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from presale_erp.domain.catalog import Platform
from presale_erp.domain.errors import Conflict, InvalidRequest
from presale_erp.domain.money import FEN, allocate

ZERO = Decimal("0.00")


class PaymentKind(StrEnum):
    DEPOSIT = "deposit"  # 定金
    BALANCE = "balance"  # 尾款
    FULL_PAYMENT = "full_payment"  # 全款
    REFUND = "refund"  # 退款
    PLATFORM_FEE = "platform_fee"  # 平台服务费 / 技术服务费
    COMMISSION = "commission"  # 佣金 (淘宝客, 达人)
    ADJUSTMENT = "adjustment"  # 调账


class Channel(StrEnum):
    ALIPAY = "alipay"
    WECHAT = "wechat"
    DOUYIN = "douyin"
    PINDUODUO = "pinduoduo"
    JD = "jd"
    SHOPIFY = "shopify"
    BANK = "bank"


class PaymentSource(StrEnum):
    PLATFORM = "platform"  # derived from the platform's order (intake)
    AFTERSALES = "aftersales"
    SETTLEMENT = "settlement"  # a settlement or bill file
    MANUAL = "manual"


# Where a platform's buyers pay: Tmall and Taobao settle through Alipay (their bills carry our platform order id as
# 商户订单号); the others through their own wallets. Offline orders are paid to the bank.
CHANNEL_OF_PLATFORM: dict[Platform, Channel] = {
    Platform.TMALL: Channel.ALIPAY,
    Platform.TAOBAO: Channel.ALIPAY,
    Platform.JD: Channel.JD,
    Platform.PINDUODUO: Channel.PINDUODUO,
    Platform.DOUYIN: Channel.DOUYIN,
    Platform.SHOPIFY: Channel.SHOPIFY,
    Platform.OFFLINE: Channel.BANK,
}

MONEY_IN = {PaymentKind.DEPOSIT, PaymentKind.BALANCE, PaymentKind.FULL_PAYMENT}
MONEY_OUT = {PaymentKind.REFUND, PaymentKind.PLATFORM_FEE, PaymentKind.COMMISSION}


@dataclass(frozen=True)
class PaymentEntry:
    entry_key: str
    shop_id: int
    order_id: int | None
    kind: PaymentKind
    amount: Decimal
    channel: Channel
    external_ref: str
    occurred_at: datetime
    source: PaymentSource
    note: str = ""

    def content(self) -> tuple[object, ...]:
        """What must match for a second recording under the same key to be the same fact."""
        return (
            self.shop_id,
            self.order_id,
            self.kind.value,
            self.amount,
            self.channel.value,
            self.external_ref,
            self.occurred_at,
            self.source.value,
            self.note,
        )


def check_entry(entry: PaymentEntry) -> None:
    """Refuse an entry that cannot be true: a payment going out, a refund coming in, fractions of a fen."""
    if not entry.entry_key.strip() or len(entry.entry_key) > 160:
        raise InvalidRequest("A payment entry needs a key of 1 to 160 characters (e.g. order:123:deposit).")
    if entry.amount != entry.amount.quantize(FEN):
        raise InvalidRequest(f"{entry.amount} has fractions of a fen; amounts are kept to 0.01 yuan.")
    if entry.kind in MONEY_IN and entry.amount <= 0:
        raise InvalidRequest(f"A {entry.kind.value} is money in: its amount must be positive, not {entry.amount}.")
    if entry.kind in MONEY_OUT and entry.amount >= 0:
        raise InvalidRequest(f"A {entry.kind.value} is money out: its amount must be negative, not {entry.amount}.")
    if entry.kind is PaymentKind.ADJUSTMENT and entry.amount == 0:
        raise InvalidRequest("An adjustment of 0.00 changes nothing.")
    if entry.occurred_at.tzinfo is None:
        raise InvalidRequest("occurred_at must carry a time zone.")
    if len(entry.external_ref) > 80 or len(entry.note) > 300:
        raise InvalidRequest("external_ref is at most 80 characters, note at most 300.")


def check_replay(existing: PaymentEntry, new: PaymentEntry) -> None:
    """Same key, same content: a retry (no-op). Same key, other content: refused."""
    if existing.content() != new.content():
        raise Conflict(
            f"Payment entry {new.entry_key} was already recorded with other content "
            f"({existing.kind.value} {existing.amount}); entries never change: record a new one with a new key."
        )


@dataclass(frozen=True)
class PaymentTotals:
    paid: Decimal  # deposits, balances and full payments
    refunded: Decimal  # refunds, as a positive amount
    fees: Decimal  # platform fees and commissions, as a positive amount
    adjustments: Decimal  # signed
    net: Decimal  # paid - refunded (what the buyer has left with us; fees are the platform's, not the buyer's)


def totals(entries: Iterable[tuple[PaymentKind, Decimal]]) -> PaymentTotals:
    sums = dict.fromkeys(PaymentKind, ZERO)
    for kind, amount in entries:
        sums[kind] += amount
    paid = sums[PaymentKind.DEPOSIT] + sums[PaymentKind.BALANCE] + sums[PaymentKind.FULL_PAYMENT]
    refunded = -sums[PaymentKind.REFUND]
    fees = -(sums[PaymentKind.PLATFORM_FEE] + sums[PaymentKind.COMMISSION])
    return PaymentTotals(paid, refunded, fees, sums[PaymentKind.ADJUSTMENT], paid - refunded)


# --- Sales postings -----------------------------------------------------------------------------------------------


class PostingKind(StrEnum):
    SHIPMENT = "shipment"  # goods left: + units, + revenue, + cost
    RETURN = "return"  # goods came back: - units, - revenue refunded for them, - the cost booked when they shipped
    REFUND_ALLOWANCE = "refund_allowance"  # 仅退款 after shipment: - revenue, goods kept, no cost change
    DEPOSIT_FORFEITED = "deposit_forfeited"  # 定金不退: the balance never came; the kept deposit is income


def unit_shares(line_paid: Decimal, quantity: int) -> list[Decimal]:
    """The line's paid amount as one share per unit, to the fen, adding up to the line exactly."""
    if quantity <= 0:
        raise InvalidRequest(f"A line needs at least one unit to share its amount over, not {quantity}.")
    return allocate(line_paid, [1] * quantity)


def revenue_of_units(line_paid: Decimal, quantity: int, already: int, units: int) -> Decimal:
    """Revenue of `units` more units of a line of `quantity` units paid `line_paid`, of which `already` were
    counted before (earlier parcels). Taking the unit shares in order means the parts add up to the line."""
    if units < 0 or already < 0 or already + units > quantity:
        raise InvalidRequest(f"Cannot count units {already + 1}..{already + units} of a line of {quantity} units.")
    return sum(unit_shares(line_paid, quantity)[already : already + units], ZERO)


def cost_of(quantity: int, unit_cost: Decimal) -> Decimal:
    """quantity x unit cost, rounded half-up to the fen (signed like the quantity)."""
    return (quantity * unit_cost).quantize(FEN, rounding=ROUND_HALF_UP)


def deposit_shares(deposit: Decimal, line_paid: Sequence[Decimal]) -> list[Decimal]:
    """A deposit spread over an order's lines in proportion to what each line costs (all equal when every line
    is free), adding up to the deposit exactly."""
    weights = [int(amount * 100) for amount in line_paid]
    if sum(weights) <= 0:
        weights = [1] * len(line_paid)
    return allocate(deposit, weights)
