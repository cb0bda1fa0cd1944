"""Customer credit (信用额度): what a customer on account would owe after an order (exposure), and a credit
score 0-100 from how it has paid, with a grade and a sentence a person can act on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.receivables import ZERO, Allocation, ArKind, OpenInvoice, overdue_amount

MAX_TERMS_DAYS = 365


class CustomerKind(StrEnum):
    WHOLESALE = "wholesale"  # 批发
    DISTRIBUTOR = "distributor"  # 经销商


@dataclass(frozen=True)
class CustomerTerms:
    name: str
    kind: CustomerKind
    credit_limit: Decimal
    payment_terms_days: int
    active: bool = True
    note: str = ""

    def check(self) -> None:
        if not self.name.strip():
            raise InvalidRequest("A customer needs a name.")
        if self.credit_limit < 0 or self.credit_limit != self.credit_limit.quantize(Decimal("0.01")):
            raise InvalidRequest(f"A credit limit is an amount in yuan, not below zero: {self.credit_limit}.")
        if not 0 <= self.payment_terms_days <= MAX_TERMS_DAYS:
            raise InvalidRequest(f"Payment terms are 0 to {MAX_TERMS_DAYS} days, not {self.payment_terms_days}.")


@dataclass(frozen=True)
class CustomerCredit:
    """A customer's position as review sees it: its limit, its open invoices, credit paid ahead, and the orders
    approved but not yet invoiced (still owed once they ship)."""

    customer: str
    name: str
    credit_limit: Decimal
    open_invoices: tuple[OpenInvoice, ...]
    unapplied: Decimal
    open_orders: Decimal

    @property
    def open_balance(self) -> Decimal:
        return sum((i.open for i in self.open_invoices), ZERO) - self.unapplied

    def exposure_after(self, order_amount: Decimal) -> Decimal:
        """Open balance + approved orders not yet invoiced + this order."""
        return self.open_balance + self.open_orders + order_amount

    def overdue(self, as_of: date, grace_days: int = 0) -> Decimal:
        return overdue_amount(list(self.open_invoices), as_of, grace_days)

    def oldest_days_overdue(self, as_of: date) -> int:
        return max((i.days_overdue(as_of) for i in self.open_invoices), default=0)


# Points out of 100: how much of what it owed it paid on time, how late the late payments were, how much of its
# limit it is using, and how much of what it owes now is overdue.
ON_TIME_POINTS, LATENESS_POINTS, UTILISATION_POINTS, OVERDUE_POINTS = 40, 20, 20, 20
DAYS_LATE_FOR_ZERO = 60  # paying this late on average earns no lateness points
GRADES = [(85, "A"), (70, "B"), (50, "C"), (0, "D")]


@dataclass(frozen=True)
class PaymentHistory:
    on_time: Decimal  # paid on or before the due day
    late: Decimal
    written_off: Decimal
    days_late_weighted: Decimal  # sum of amount x days late, over late payments

    @property
    def total(self) -> Decimal:
        return self.on_time + self.late + self.written_off

    @property
    def on_time_ratio(self) -> Decimal | None:
        return self.on_time / self.total if self.total else None

    @property
    def average_days_late(self) -> Decimal:
        return self.days_late_weighted / self.late if self.late else ZERO


def payment_history(allocation: Allocation) -> PaymentHistory:
    """From the FIFO settlements: payments on time or late, and write-offs (never paid). Credit notes are
    neither: the customer did not owe what they took back."""
    on_time = late = written_off = weighted = ZERO
    for invoice in allocation.invoices:
        for part in invoice.settlements:
            if part.kind is ArKind.WRITE_OFF:
                written_off += part.amount
            elif part.kind is ArKind.PAYMENT and part.on <= invoice.due_on:
                on_time += part.amount
            elif part.kind is ArKind.PAYMENT:
                late += part.amount
                weighted += part.amount * (part.on - invoice.due_on).days
    return PaymentHistory(on_time, late, written_off, weighted)


@dataclass(frozen=True)
class CreditScore:
    score: int
    grade: str
    explanation: str
    on_time_ratio: Decimal | None
    average_days_late: Decimal
    utilisation: Decimal
    overdue: Decimal


def credit_score(allocation: Allocation, credit_limit: Decimal, as_of: date) -> CreditScore:
    history = payment_history(allocation)
    invoices = allocation.open_invoices
    owed = sum((i.open for i in invoices), ZERO)
    balance = owed - allocation.unapplied
    utilisation = _utilisation(balance, credit_limit)
    overdue = overdue_amount(invoices, as_of)
    ratio = history.on_time_ratio
    points = (
        (ON_TIME_POINTS * ratio if ratio is not None else Decimal(ON_TIME_POINTS) / 2)
        + _lateness_points(history, ratio is None)
        + UTILISATION_POINTS * (1 - min(utilisation, Decimal(1)))
        + (OVERDUE_POINTS * (1 - overdue / owed) if owed > 0 else Decimal(OVERDUE_POINTS))
    )
    score = int(points.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    grade = next(g for floor, g in GRADES if score >= floor)
    sentence = _explain(grade, score, history, utilisation, credit_limit, overdue, invoices, as_of)
    return CreditScore(score, grade, sentence, ratio, history.average_days_late, utilisation, overdue)


def _utilisation(balance: Decimal, credit_limit: Decimal) -> Decimal:
    if credit_limit <= 0:
        return Decimal(1) if balance > 0 else ZERO
    return max(balance, ZERO) / credit_limit


def _lateness_points(history: PaymentHistory, no_history: bool) -> Decimal:
    if no_history:
        return Decimal(LATENESS_POINTS) / 2
    return LATENESS_POINTS * max(ZERO, 1 - history.average_days_late / DAYS_LATE_FOR_ZERO)


def _percent(ratio: Decimal) -> Decimal:
    return (ratio * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def _explain(
    grade: str,
    score: int,
    history: PaymentHistory,
    utilisation: Decimal,
    credit_limit: Decimal,
    overdue: Decimal,
    invoices: list[OpenInvoice],
    as_of: date,
) -> str:
    if history.on_time_ratio is None:
        paid = "no payment history yet"
    else:
        paid = f"{_percent(history.on_time_ratio)}% of {history.total} settled paid on time"
        if history.late:
            paid += f", late payments {history.average_days_late.quantize(Decimal('0.1'))} days late on average"
        if history.written_off:
            paid += f", {history.written_off} written off"
    used = f"{_percent(utilisation)}% of the {credit_limit} limit in use"
    if overdue:
        oldest = max(i.days_overdue(as_of) for i in invoices)
        late_now = f"{overdue} overdue now (oldest {oldest} days)"
    else:
        late_now = "nothing overdue now"
    return f"Grade {grade} ({score}/100): {paid}; {used}; {late_now}."


def amounts_ahead(orders: list[tuple[int, str, Decimal]]) -> dict[int, Decimal]:
    """(order id, customer, amount) in the order a review batch takes them -> for each order, the amount of the
    orders before it of the same customer: orders reviewed together must not each pass on the same headroom."""
    running: dict[str, Decimal] = {}
    ahead = {}
    for order_id, customer, amount in orders:
        ahead[order_id] = running.get(customer, ZERO)
        running[customer] = ahead[order_id] + amount
    return ahead
