"""Receivables (应收) of wholesale and distributor customers who buy on account (挂账): an immutable ledger of
invoices, payments, credit notes and write-offs; payments settle the oldest open invoices first (FIFO); open
balance, overdue amount and aging buckets as of a business day; a customer statement with a running balance.

Days are business days (Beijing); the service turns stored UTC times into them with `business_day`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest

ZERO = Decimal("0.00")
BUSINESS_UTC_OFFSET = timedelta(hours=8)  # a day, for a person reading it, is a day in Beijing


def business_day(moment: datetime) -> date:
    return (moment.astimezone(UTC) + BUSINESS_UTC_OFFSET).date()


class ArKind(StrEnum):
    INVOICE = "invoice"  # 应收: the customer owes (+)
    PAYMENT = "payment"  # 收款 (-)
    CREDIT_NOTE = "credit_note"  # 红字/折让: goods back or price allowed (-)
    WRITE_OFF = "write_off"  # 坏账核销: given up on (-)


KIND_NAMES_ZH = {ArKind.INVOICE: "应收", ArKind.PAYMENT: "收款", ArKind.CREDIT_NOTE: "折让", ArKind.WRITE_OFF: "核销"}


def signed_amount(kind: ArKind, amount: Decimal) -> Decimal:
    """People type amounts without a sign; the kind says which way it goes."""
    if amount <= 0:
        raise InvalidRequest(f"A {kind.value} amount must be above zero, not {amount}.")
    return amount if kind is ArKind.INVOICE else -amount


@dataclass(frozen=True)
class ArEntry:
    key: str
    kind: ArKind
    amount: Decimal  # signed: + owed by the customer, - paid or credited
    on: date
    due_on: date | None = None  # invoices only
    order_id: int | None = None
    note: str = ""


@dataclass(frozen=True)
class Settlement:
    """Part of an invoice settled by a payment, credit note or write-off, on the day it took effect."""

    credit: str
    kind: ArKind
    amount: Decimal
    on: date


@dataclass
class InvoiceState:
    key: str
    amount: Decimal
    on: date
    due_on: date
    open: Decimal
    settlements: list[Settlement] = field(default_factory=list)


@dataclass(frozen=True)
class OpenInvoice:
    key: str
    on: date
    due_on: date
    open: Decimal

    def days_overdue(self, as_of: date) -> int:
        """Due on the due day itself; overdue from the day after."""
        return max((as_of - self.due_on).days, 0)


@dataclass(frozen=True)
class Allocation:
    invoices: list[InvoiceState]
    unapplied: Decimal  # paid ahead: credit no invoice has used yet

    @property
    def open_invoices(self) -> list[OpenInvoice]:
        return [OpenInvoice(i.key, i.on, i.due_on, i.open) for i in self.invoices if i.open > 0]


def allocate(entries: list[ArEntry], as_of: date | None = None) -> Allocation:
    """FIFO: each credit settles the oldest open invoices; credit left over waits for the next invoice.
    Entries are taken in day order, and in the given order within a day (the ledger's own order)."""
    ordered = sorted(
        ((n, e) for n, e in enumerate(entries) if as_of is None or e.on <= as_of), key=lambda p: (p[1].on, p[0])
    )
    invoices: list[InvoiceState] = []
    pool: list[tuple[ArEntry, Decimal]] = []  # credits not yet used, oldest first
    for _, entry in ordered:
        if entry.kind is ArKind.INVOICE:
            invoice = InvoiceState(entry.key, entry.amount, entry.on, entry.due_on or entry.on, entry.amount)
            invoices.append(invoice)
            pool = _settle(invoice, pool, entry.on)
        else:
            left = _apply(invoices, entry, -entry.amount)
            if left > 0:
                pool.append((entry, left))
    return Allocation(invoices, sum((left for _, left in pool), ZERO))


def _apply(invoices: list[InvoiceState], credit: ArEntry, amount: Decimal) -> Decimal:
    for invoice in invoices:
        if amount <= 0:
            break
        if invoice.open > 0:
            used = min(invoice.open, amount)
            invoice.open -= used
            invoice.settlements.append(Settlement(credit.key, credit.kind, used, credit.on))
            amount -= used
    return amount


def _settle(invoice: InvoiceState, pool: list[tuple[ArEntry, Decimal]], on: date) -> list[tuple[ArEntry, Decimal]]:
    left_pool = []
    for credit, left in pool:
        used = min(invoice.open, left)
        if used > 0:
            invoice.open -= used
            invoice.settlements.append(Settlement(credit.key, credit.kind, used, on))
        if left - used > 0:
            left_pool.append((credit, left - used))
    return left_pool


def open_balance(entries: list[ArEntry], as_of: date | None = None) -> Decimal:
    return sum((e.amount for e in entries if as_of is None or e.on <= as_of), ZERO)


def overdue_amount(invoices: list[OpenInvoice], as_of: date, grace_days: int = 0) -> Decimal:
    return sum((i.open for i in invoices if i.days_overdue(as_of) > grace_days), ZERO)


BUCKETS: list[tuple[str, str, int, int | None]] = [  # field, 中文, days overdue from, to
    ("current", "未到期", 0, 0),
    ("days_1_30", "1-30天", 1, 30),
    ("days_31_60", "31-60天", 31, 60),
    ("days_61_90", "61-90天", 61, 90),
    ("over_90", "90天以上", 91, None),
]


@dataclass(frozen=True)
class Aging:
    current: Decimal = ZERO
    days_1_30: Decimal = ZERO
    days_31_60: Decimal = ZERO
    days_61_90: Decimal = ZERO
    over_90: Decimal = ZERO
    unapplied: Decimal = ZERO  # paid ahead, not in any bucket

    @property
    def overdue(self) -> Decimal:
        return self.days_1_30 + self.days_31_60 + self.days_61_90 + self.over_90

    @property
    def balance(self) -> Decimal:
        return self.current + self.overdue - self.unapplied

    def __add__(self, other: Aging) -> Aging:
        names = [*(b[0] for b in BUCKETS), "unapplied"]
        return Aging(**{n: getattr(self, n) + getattr(other, n) for n in names})


def aging(invoices: list[OpenInvoice], unapplied: Decimal, as_of: date) -> Aging:
    """Open invoice amounts by days overdue as of a day (账龄)."""
    amounts = {name: ZERO for name, *_ in BUCKETS}
    for invoice in invoices:
        days = invoice.days_overdue(as_of)
        name = next(n for n, _, low, high in BUCKETS if days >= low and (high is None or days <= high))
        amounts[name] += invoice.open
    return Aging(**amounts, unapplied=unapplied)


@dataclass(frozen=True)
class StatementLine:
    on: date
    key: str
    kind: ArKind
    order_id: int | None
    due_on: date | None
    note: str
    debit: Decimal  # owed
    credit: Decimal  # paid or credited
    balance: Decimal  # running, after this line


@dataclass(frozen=True)
class Statement:
    start: date
    end: date
    opening: Decimal
    lines: list[StatementLine]
    closing: Decimal


def statement(entries: list[ArEntry], start: date, end: date) -> Statement:
    """对账单: the balance brought forward, each entry of the period with a running balance, and the closing."""
    if end < start:
        raise InvalidRequest(f"A statement ends on or after it starts: {start} to {end}.")
    opening = open_balance([e for e in entries if e.on < start])
    running, lines = opening, []
    for _, entry in sorted(
        ((n, e) for n, e in enumerate(entries) if start <= e.on <= end), key=lambda p: (p[1].on, p[0])
    ):
        running += entry.amount
        debit, credit = (entry.amount, ZERO) if entry.amount > 0 else (ZERO, -entry.amount)
        lines.append(
            StatementLine(
                entry.on, entry.key, entry.kind, entry.order_id, entry.due_on, entry.note, debit, credit, running
            )
        )
    return Statement(start, end, opening, lines, running)
