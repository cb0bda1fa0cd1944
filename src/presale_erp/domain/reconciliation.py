"""Reconciliation (对账): a platform's bill against the merchant's payments ledger.

Both sides are reduced to amounts of a kind (payment, refund, fee, commission, other) with the platform's
reference and the order's number. They are paired by the platform reference first, then, for what is left, by the
order number, never across kinds (a refund is not a payment of the same order). Several amounts on either side with
the same key are summed before comparing: a presale order's deposit and balance recorded apart in the ledger match
one settlement row that pays both (n:1), and match two bill lines one for one when the platform paid them apart.

What is left over is a finding: `missing` (the ledger has money the bill does not), `extra` (the bill has money the
ledger does not) or `mismatch` (both have it, the amounts differ)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.statements import LINE_KIND_NAMES_ZH, LineKind, StatementLine

ZERO = Decimal("0.00")

# payment_entries.kind -> the kind of bill amount it is paired with
LEDGER_KINDS: dict[str, LineKind] = {
    "deposit": LineKind.PAYMENT,
    "balance": LineKind.PAYMENT,
    "full_payment": LineKind.PAYMENT,
    "refund": LineKind.REFUND,
    "platform_fee": LineKind.FEE,
    "commission": LineKind.COMMISSION,
    "adjustment": LineKind.OTHER,
}
# a bill's fee or commission is written into the ledger as this kind when the bill is imported
CHARGE_ENTRY_KINDS = {LineKind.FEE: "platform_fee", LineKind.COMMISSION: "commission"}
CHARGE_KEY_PREFIX = "settlement:"
NOT_RECONCILED = frozenset({LineKind.WITHDRAWAL})  # the merchant's own transfer to its bank: no order's money


class FindingKind(StrEnum):
    MISSING = "missing"  # 账上有、账单无
    EXTRA = "extra"  # 账单有、账上无
    MISMATCH = "mismatch"  # 金额不符


@dataclass(frozen=True, slots=True)
class BillAmount:
    """One amount of the bill to pair: a line's own amount, or the fee charged on it."""

    line_no: int
    kind: LineKind
    external_ref: str
    order_ref: str
    amount: Decimal
    line_ref: str
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class LedgerAmount:
    entry_id: int
    kind: str  # payment_entries.kind
    external_ref: str
    order_ref: str  # the order's platform order number ("" for an entry tied to no order)
    amount: Decimal
    in_period: bool = True  # False: just outside the bill's period; it may pair, it is never reported missing
    entry_key: str = ""

    @property
    def match_kind(self) -> LineKind:
        if self.kind == "adjustment" and self.entry_key.startswith(CHARGE_KEY_PREFIX):
            return LineKind(self.entry_key.split(":")[2])  # a returned fee the import recorded: still a fee
        return LEDGER_KINDS.get(self.kind, LineKind.OTHER)


@dataclass(frozen=True)
class Finding:
    kind: FindingKind
    amount_kind: LineKind
    external_ref: str
    order_ref: str
    expected: Decimal | None  # the ledger's sum (None when the ledger has nothing)
    actual: Decimal | None  # the bill's sum (None when the bill has nothing)
    line_nos: tuple[int, ...]
    entry_ids: tuple[int, ...]
    explanation: str

    @property
    def difference(self) -> Decimal:
        """Bill minus ledger: what the ledger would need to change by to agree with the bill."""
        return (self.actual or ZERO) - (self.expected or ZERO)


@dataclass(frozen=True)
class Reconciliation:
    findings: list[Finding]
    matched: int  # pairs (groups) whose sums agree
    matched_lines: int  # bill lines all of whose amounts agree
    matched_entries: int


def bill_amounts(lines: Sequence[StatementLine]) -> list[BillAmount]:
    """The amounts to pair, numbered by line (1-based, in file order); a fee on a line is an amount of its own.
    Withdrawals and zero amounts have nothing to pair."""
    amounts = []
    for line_no, line in enumerate(lines, start=1):
        if line.kind in NOT_RECONCILED:
            continue
        if line.amount != ZERO:
            amounts.append(
                BillAmount(
                    line_no,
                    line.kind,
                    line.external_ref,
                    line.order_ref,
                    line.amount,
                    line.line_ref,
                    line.occurred_at,
                )
            )
        if line.fee != ZERO:
            ref = f"{line.line_ref}:fee"
            amounts.append(
                BillAmount(line_no, LineKind.FEE, line.external_ref, line.order_ref, line.fee, ref, line.occurred_at)
            )
    return amounts


def charges(amounts: Iterable[BillAmount]) -> list[BillAmount]:
    """The bill's fees and commissions: the import writes them into the ledger before reconciling."""
    return [a for a in amounts if a.kind in CHARGE_ENTRY_KINDS]


def charge_entry_key(channel: str, amount: BillAmount) -> str:
    """The ledger key of a bill's fee or commission: the same bill line, in any file, is the same entry."""
    key = f"{CHARGE_KEY_PREFIX}{channel}:{amount.kind.value}:{amount.line_ref}"
    if len(key) <= 160:
        return key
    digest = hashlib.sha256(amount.line_ref.encode()).hexdigest()
    return f"{CHARGE_KEY_PREFIX}{channel}:{amount.kind.value}:sha256:{digest}"


def reconcile(bill: Sequence[BillAmount], ledger: Sequence[LedgerAmount]) -> Reconciliation:
    bill_left, ledger_left = list(bill), list(ledger)
    tally = _Tally()
    for ref in ("external_ref", "order_ref"):
        on_bill = _groups(bill_left, ref, lambda a: a.kind)
        in_ledger = _groups(ledger_left, ref, lambda e: e.match_kind)
        paired_bill: set[int] = set()
        paired_ledger: set[int] = set()
        for key in sorted(on_bill.keys() & in_ledger.keys()):
            amounts, entries = on_bill[key], in_ledger[key]
            tally.compare(key[0], amounts, entries)
            paired_bill.update(id(a) for a in amounts)
            paired_ledger.update(id(e) for e in entries)
        bill_left = [a for a in bill_left if id(a) not in paired_bill]
        ledger_left = [e for e in ledger_left if id(e) not in paired_ledger]
    tally.leftover(bill_left, ledger_left)
    matched_lines = len({a.line_no for a in bill} - tally.unmatched_lines)
    return Reconciliation(tally.findings, tally.matched, matched_lines, tally.matched_entries)


class _Tally:
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.matched = 0
        self.matched_entries = 0
        self.unmatched_lines: set[int] = set()

    def compare(self, kind: LineKind, amounts: list[BillAmount], entries: list[LedgerAmount]) -> None:
        """Equal sums agree (1:1, n:1, n:m). Otherwise equal amounts pair one for one first, so a presale order
        whose bill lacks only the deposit shows that deposit missing rather than the order's total mismatched."""
        if sum(a.amount for a in amounts) == sum(e.amount for e in entries):
            self.matched += 1
            self.matched_entries += len(entries)
            return
        amounts, entries = self._pair_equal(amounts, entries)
        if amounts and entries:
            self.findings.append(_mismatch(kind, amounts, entries))
            self.unmatched_lines.update(a.line_no for a in amounts)
        else:
            self.leftover(amounts, entries)

    def _pair_equal(
        self, amounts: list[BillAmount], entries: list[LedgerAmount]
    ) -> tuple[list[BillAmount], list[LedgerAmount]]:
        entries = list(entries)
        unpaired = []
        for amount in amounts:
            partner = next((e for e in entries if e.amount == amount.amount), None)
            if partner is None:
                unpaired.append(amount)
                continue
            entries.remove(partner)
            self.matched += 1
            self.matched_entries += 1
        return unpaired, entries

    def leftover(self, amounts: list[BillAmount], entries: list[LedgerAmount]) -> None:
        self.findings += [_extra(a) for a in amounts]
        self.findings += [_missing(e) for e in entries if e.in_period]
        self.unmatched_lines.update(a.line_no for a in amounts)


def _groups(items, ref: str, kind_of) -> dict[tuple[LineKind, str], list]:
    groups: dict[tuple[LineKind, str], list] = defaultdict(list)
    for item in items:
        value = getattr(item, ref)
        if value:
            groups[(kind_of(item), value)].append(item)
    return groups


def _name(kind: LineKind) -> str:
    return f"{LINE_KIND_NAMES_ZH[kind]} ({kind.value})"


def _mismatch(kind: LineKind, amounts: list[BillAmount], entries: list[LedgerAmount]) -> Finding:
    actual = sum((a.amount for a in amounts), ZERO)
    expected = sum((e.amount for e in entries), ZERO)
    external_ref = next((a.external_ref for a in amounts if a.external_ref), entries[0].external_ref)
    order_ref = next((a.order_ref for a in amounts if a.order_ref), entries[0].order_ref)
    explanation = (
        f"金额不符: the bill shows {_name(kind)} {actual} for {external_ref or order_ref} "
        f"({len(amounts)} line(s)), the ledger {expected} ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'}: "
        f"{', '.join(sorted({e.kind for e in entries}))}); difference {actual - expected}."
    )
    lines = tuple(sorted({a.line_no for a in amounts}))
    entry_ids = tuple(sorted(e.entry_id for e in entries))
    return Finding(FindingKind.MISMATCH, kind, external_ref, order_ref, expected, actual, lines, entry_ids, explanation)


def _extra(amount: BillAmount) -> Finding:
    ref = amount.external_ref or amount.order_ref or f"line {amount.line_no}"
    explanation = (
        f"账单有、账上无: the bill shows {_name(amount.kind)} {amount.amount} for {ref}; the ledger has no record."
    )
    return Finding(
        FindingKind.EXTRA, amount.kind, amount.external_ref, amount.order_ref, None, amount.amount,
        (amount.line_no,), (), explanation,
    )  # fmt: skip


def _missing(entry: LedgerAmount) -> Finding:
    ref = entry.external_ref or entry.order_ref
    explanation = (
        f"账上有、账单无: the ledger has {entry.kind} {entry.amount} for {ref} (entry {entry.entry_id}); "
        "the bill does not show it."
    )
    return Finding(
        FindingKind.MISSING, entry.match_kind, entry.external_ref, entry.order_ref, entry.amount, None,
        (), (entry.entry_id,), explanation,
    )  # fmt: skip
