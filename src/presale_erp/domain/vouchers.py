"""Accounting vouchers (记账凭证): double entry, summarised per shop × Beijing day × business type (汇总凭证).

A peak day has a million orders and nobody imports a million vouchers, so each voucher sums one shop's facts of
one kind of business on one day: 收款, 退款, 平台费用, 销售出库, 退货退款, 定金没收.

The scheme (roles are mapped to the merchant's accounts by domain/chart_of_accounts.py):

- 预收账款 (deposits received, a liability) is the clearing account of buyers' money: every receipt credits it,
  every refund debits it, revenue recognised at shipment debits it and revenue given back (return, refund
  allowance) credits it back; a forfeited deposit debits it. For a finished order it nets to zero.
- deposit / balance / full payment:  Dr 其他货币资金-<channel>   Cr 预收账款
- refund (before or after shipment): Dr 预收账款                 Cr 其他货币资金-<channel>
- shipment:  Dr 预收账款 Cr 主营业务收入 (revenue);  Dr 主营业务成本 Cr 库存商品 (cost)
- return / refund allowance: Dr 主营业务收入 (销售退回) Cr 预收账款 (revenue given back);
  a return's cost Dr 库存商品 Cr 主营业务成本. The money then leaves through the refund voucher above, so
  (revenue reversal) + (refund) = Dr 主营业务收入 Cr 其他货币资金, with 预收账款 netting to zero in between.
- platform fee / commission: Dr 销售费用-平台服务费 / 佣金 Cr 其他货币资金-<channel>
- forfeited deposit: Dr 预收账款 Cr 营业外收入 (default; map the role to 6051 其他业务收入 if preferred)
- adjustment (signed): Dr 其他货币资金-<channel> Cr the adjustment account (default 预收账款)

A fact total with the "wrong" sign (a fee rebate, a negative adjustment) swaps debit and credit rather than
writing a negative amount. VAT is left out: amounts are booked as paid, tax included.

Late facts: a day already vouchered keeps its vouchers; when facts arrive for it later, a supplementary voucher
(补记, sequence 1, 2, ...) books only the difference between the facts now and what earlier vouchers booked
(their `basis`), so regenerating an unchanged day writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.chart_of_accounts import (
    AUXILIARY_LABELS,
    CHANNEL_LABELS,
    AccountRole,
    AuxiliaryKind,
    ChartMapping,
)
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import FEN

ZERO = Decimal("0.00")
VOUCHER_WORD = "记"


class BusinessType(StrEnum):
    RECEIPTS = "receipts"  # 收款
    REFUNDS = "refunds"  # 退款
    FEES = "fees"  # 平台费用
    SALES = "sales"  # 销售出库
    RETURNS = "returns"  # 退货退款冲减收入
    FORFEITS = "forfeits"  # 定金没收


BUSINESS_LABELS = {
    BusinessType.RECEIPTS: "收款",
    BusinessType.REFUNDS: "退款",
    BusinessType.FEES: "平台费用",
    BusinessType.SALES: "销售出库",
    BusinessType.RETURNS: "退货退款",
    BusinessType.FORFEITS: "定金没收",
}
_TYPE_ORDER = {t: n for n, t in enumerate(BusinessType)}


class UnbalancedVoucher(InvalidRequest):
    title = "Unbalanced voucher"

    def __init__(self, debit: Decimal, credit: Decimal, where: str) -> None:
        self.debit, self.credit = debit, credit
        super().__init__(f"Voucher {where}: debits {debit} do not equal credits {credit}; it would not balance.")

    def facts(self) -> dict[str, object]:
        return {"debit": str(self.debit), "credit": str(self.credit)}


@dataclass(frozen=True)
class Treatment:
    business_type: BusinessType
    debit: AccountRole
    credit: AccountRole
    sign: int  # +1: the fact total is booked as it is; -1: negated (money out is stored negative)
    label: str


_R = AccountRole
SCHEME: dict[tuple[str, str], Treatment] = {
    # payment_entries: (kind, "amount")
    ("deposit", "amount"): Treatment(BusinessType.RECEIPTS, _R.CHANNEL_MONEY, _R.DEPOSITS_RECEIVED, 1, "收定金"),
    ("balance", "amount"): Treatment(BusinessType.RECEIPTS, _R.CHANNEL_MONEY, _R.DEPOSITS_RECEIVED, 1, "收尾款"),
    ("full_payment", "amount"): Treatment(BusinessType.RECEIPTS, _R.CHANNEL_MONEY, _R.DEPOSITS_RECEIVED, 1, "收全款"),
    ("adjustment", "amount"): Treatment(BusinessType.RECEIPTS, _R.CHANNEL_MONEY, _R.ADJUSTMENT, 1, "收支调整"),
    ("refund", "amount"): Treatment(BusinessType.REFUNDS, _R.DEPOSITS_RECEIVED, _R.CHANNEL_MONEY, -1, "退款"),
    ("platform_fee", "amount"): Treatment(BusinessType.FEES, _R.PLATFORM_FEE, _R.CHANNEL_MONEY, -1, "平台服务费"),
    ("commission", "amount"): Treatment(BusinessType.FEES, _R.COMMISSION, _R.CHANNEL_MONEY, -1, "佣金"),
    # sales_postings: (kind, "revenue" | "cost")
    ("shipment", "revenue"): Treatment(BusinessType.SALES, _R.DEPOSITS_RECEIVED, _R.REVENUE, 1, "发货确认收入"),
    ("shipment", "cost"): Treatment(BusinessType.SALES, _R.COST_OF_SALES, _R.INVENTORY, 1, "结转销售成本"),
    ("return", "revenue"): Treatment(BusinessType.RETURNS, _R.SALES_RETURNS, _R.DEPOSITS_RECEIVED, -1, "退货冲减收入"),
    ("return", "cost"): Treatment(BusinessType.RETURNS, _R.INVENTORY, _R.COST_OF_SALES, -1, "退货冲减成本"),
    ("refund_allowance", "revenue"): Treatment(
        BusinessType.RETURNS, _R.SALES_RETURNS, _R.DEPOSITS_RECEIVED, -1, "售后退款冲减收入"
    ),
    ("refund_allowance", "cost"): Treatment(
        BusinessType.RETURNS, _R.INVENTORY, _R.COST_OF_SALES, -1, "售后退款冲减成本"
    ),
    ("deposit_forfeited", "revenue"): Treatment(
        BusinessType.FORFEITS, _R.DEPOSITS_RECEIVED, _R.FORFEITED_DEPOSIT, 1, "定金不退转收入"
    ),
    ("deposit_forfeited", "cost"): Treatment(BusinessType.FORFEITS, _R.COST_OF_SALES, _R.INVENTORY, 1, "结转成本"),
}
PAYMENT_KINDS = tuple(sorted({kind for kind, part in SCHEME if part == "amount"}))
POSTING_KINDS = tuple(sorted({kind for kind, part in SCHEME if part != "amount"}))


@dataclass(frozen=True)
class AuxItem:
    kind: AuxiliaryKind
    code: str
    name: str

    @property
    def label(self) -> str:
        return AUXILIARY_LABELS[self.kind]


@dataclass(frozen=True)
class VoucherLine:
    summary: str  # 摘要
    account_code: str
    account_name: str
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    auxiliary: tuple[AuxItem, ...] = ()

    @property
    def amount(self) -> Decimal:
        return self.debit or self.credit


@dataclass(frozen=True)
class Voucher:
    """One voucher; constructing one that does not balance (or has a line with both or neither side) fails."""

    date: date
    number: int
    lines: tuple[VoucherLine, ...]
    attachments: int
    preparer: str
    source_key: str  # shop/day/business type: the summary it is
    sequence: int = 0  # 0 the day's voucher, 1, 2, ... supplementary vouchers for late facts
    shop: str = ""
    business_type: BusinessType = BusinessType.RECEIPTS
    basis: Mapping[str, Decimal] = field(default_factory=dict)  # component -> fact amount booked by this voucher
    word: str = VOUCHER_WORD
    id: int | None = None  # the stored row's id, once written

    def __post_init__(self) -> None:
        where = f"{self.source_key}#{self.sequence}"
        if len(self.lines) < 2:
            raise InvalidRequest(f"Voucher {where} needs at least two lines (a debit and a credit).")
        for line in self.lines:
            sides = (line.debit, line.credit)
            if any(s < 0 or s != s.quantize(FEN) for s in sides) or (line.debit == 0) == (line.credit == 0):
                raise InvalidRequest(
                    f"Voucher {where}, line '{line.summary}': a line is a debit or a credit of whole fen, not both "
                    f"(debit {line.debit}, credit {line.credit})."
                )
        if self.total_debit != self.total_credit:
            raise UnbalancedVoucher(self.total_debit, self.total_credit, where)

    @property
    def year(self) -> int:
        return self.date.year

    @property
    def period(self) -> int:
        return self.date.month

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


@dataclass(frozen=True)
class FactTotal:
    """A GROUP BY row: the sum of one kind of fact for a shop, a Beijing day and (for money) a channel."""

    shop: str
    day: date
    kind: str
    part: str  # "amount" (payment_entries), "revenue" or "cost" (sales_postings)
    amount: Decimal
    count: int
    channel: str = ""

    @property
    def component(self) -> str:
        return f"{self.kind}.{self.part}.{self.channel}" if self.channel else f"{self.kind}.{self.part}"


@dataclass(frozen=True)
class Booked:
    """What earlier vouchers of one shop × day × business type already booked."""

    amounts: Mapping[str, Decimal]
    attachments: int
    last_sequence: int


def source_key(shop: str, day: date, business_type: BusinessType) -> str:
    return f"{shop}/{day.isoformat()}/{business_type.value}"


def treatment_of(total: FactTotal) -> Treatment:
    try:
        return SCHEME[(total.kind, total.part)]
    except KeyError:
        raise InvalidRequest(
            f"No accounting treatment for {total.part} of kind '{total.kind}' ({total.shop}, {total.day}); "
            "add it to the voucher scheme before generating vouchers for that day."
        ) from None


def build_summary_vouchers(
    totals: Iterable[FactTotal],
    *,
    mapping: ChartMapping,
    shop_names: Mapping[str, str],
    booked: Mapping[str, Booked],
    next_numbers: Mapping[tuple[int, int], int],
    preparer: str,
) -> list[Voucher]:
    """The vouchers still to write: per shop × day × business type the difference between the facts and what
    `booked` (by source key) already holds; nothing for a group that is fully booked. Numbers continue from
    `next_numbers` per (year, period), in the order day, shop, business type."""
    groups: dict[tuple[date, str, BusinessType], list[FactTotal]] = defaultdict(list)
    for total in totals:
        groups[(total.day, total.shop, treatment_of(total).business_type)].append(total)
    numbers = dict(next_numbers)
    vouchers = []
    for day, shop, btype in sorted(groups, key=lambda g: (g[0], g[1], _TYPE_ORDER[g[2]])):
        key = source_key(shop, day, btype)
        voucher = _group_voucher(groups[(day, shop, btype)], key, booked.get(key), mapping, shop_names, preparer)
        if voucher is None:
            continue
        period = (day.year, day.month)
        number = numbers.get(period, 1)
        numbers[period] = number + 1
        vouchers.append(_numbered(voucher, number))
    return vouchers


@dataclass(frozen=True)
class _Draft:
    day: date
    shop: str
    business_type: BusinessType
    lines: tuple[VoucherLine, ...]
    attachments: int
    preparer: str
    key: str
    sequence: int
    basis: dict[str, Decimal]


def _numbered(draft: _Draft, number: int) -> Voucher:
    return Voucher(
        date=draft.day,
        number=number,
        lines=draft.lines,
        attachments=draft.attachments,
        preparer=draft.preparer,
        source_key=draft.key,
        sequence=draft.sequence,
        shop=draft.shop,
        business_type=draft.business_type,
        basis=draft.basis,
    )


def _group_voucher(
    totals: list[FactTotal],
    key: str,
    booked: Booked | None,
    mapping: ChartMapping,
    shop_names: Mapping[str, str],
    preparer: str,
) -> _Draft | None:
    first = totals[0]
    already = booked.amounts if booked else {}
    now = {t.component: t.amount for t in totals}
    by_component = {t.component: t for t in totals}
    lines: list[VoucherLine] = []
    basis: dict[str, Decimal] = {}
    for component in sorted(now):  # facts are immutable: a component only ever grows new facts
        difference = now[component] - already.get(component, ZERO)
        if difference:
            basis[component] = difference
            lines += _pair(by_component[component], difference, mapping, shop_names, supplement=booked is not None)
    if not lines:
        return None
    count = sum(t.count for t in totals) - (booked.attachments if booked else 0)
    return _Draft(
        day=first.day,
        shop=first.shop,
        business_type=treatment_of(first).business_type,
        lines=tuple(lines),
        attachments=max(count, 0),
        preparer=preparer,
        key=key,
        sequence=booked.last_sequence + 1 if booked else 0,
        basis=basis,
    )


def _pair(
    total: FactTotal, difference: Decimal, mapping: ChartMapping, shop_names: Mapping[str, str], *, supplement: bool
) -> list[VoucherLine]:
    """A debit line and a credit line for one component; a negative booking swaps the sides."""
    how = treatment_of(total)
    amount = difference * how.sign
    debit_role, credit_role = (how.debit, how.credit) if amount > 0 else (how.credit, how.debit)
    amount = abs(amount)
    shop_name = shop_names.get(total.shop, total.shop)
    channel = f" {CHANNEL_LABELS.get(total.channel, total.channel)}" if total.channel else ""
    summary = f"{'补记 ' if supplement else ''}{total.day:%Y-%m-%d} {shop_name} {how.label}{channel}"

    def line(role: AccountRole, *, debit: bool) -> VoucherLine:
        rule = mapping.rule_for(role, shop=total.shop, channel=total.channel)
        aux = tuple(AuxItem(kind, total.shop, shop_name) for kind in rule.auxiliary)
        side = {"debit": amount} if debit else {"credit": amount}
        return VoucherLine(summary, rule.account.code, rule.account.name, auxiliary=aux, **side)

    return [line(debit_role, debit=True), line(credit_role, debit=False)]
