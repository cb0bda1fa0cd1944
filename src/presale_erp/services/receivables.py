"""The receivables ledger (应收) as use cases: invoices for on-account orders once they have shipped in full
(the debt arises when the goods leave, as revenue does; an approved order still counts against the credit limit
as an open order until then), invoices, payments, credit notes and write-offs by hand, each once per key; the
statement and credit score of a customer; and the customers' credit positions that review reads in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import audit_repo
from presale_erp.adapters.db import receivables_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.credit import CreditScore, CustomerCredit, credit_score
from presale_erp.domain.errors import Conflict, InvalidRequest
from presale_erp.domain.money import fen_to_yuan
from presale_erp.domain.receivables import (
    BUSINESS_UTC_OFFSET,
    ZERO,
    ArEntry,
    ArKind,
    OpenInvoice,
    Statement,
    allocate,
    business_day,
    signed_amount,
    statement,
)
from presale_erp.services.customers import require

INVOICE_BATCH = 1000


@dataclass(frozen=True)
class NewEntry:
    entry_key: str
    kind: ArKind
    amount: Decimal  # above zero; the kind gives it its sign
    occurred_at: datetime
    order_id: int | None = None
    note: str = ""


def day_start(day: date) -> datetime:
    """The UTC moment a business day begins (midnight in Beijing)."""
    return datetime.combine(day, time(), tzinfo=UTC) - BUSINESS_UTC_OFFSET


def record_entry(db: Database, actor: Actor, code: str, new: NewEntry, *, now: datetime) -> dict[str, Any]:
    """A payment (收款), credit note (折让), write-off (核销) or invoice by hand. The same key with the same
    content is a no-op; the same key with other content is refused."""
    require(actor, Permission.FINANCE_WRITE)
    amount = signed_amount(new.kind, new.amount)
    if not new.entry_key.strip():
        raise InvalidRequest("An entry needs a key (e.g. the bank's transaction number) so a retry is a no-op.")
    with db.uow() as uow:
        customer = repo.customer(uow.conn, code, lock=True)
        row = {
            "entry_key": new.entry_key.strip(),
            "customer_id": customer["id"],
            "kind": new.kind.value,
            "amount": amount,
            "order_id": new.order_id,
            "due_at": new.occurred_at + timedelta(days=customer["payment_terms_days"])
            if new.kind is ArKind.INVOICE
            else None,
            "occurred_at": new.occurred_at,
            "note": new.note[:300],
            "recorded_at": now,
            "recorded_by": actor.label,
        }
        existing = repo.entry_by_key(uow.conn, row["entry_key"])
        if existing is not None:
            return _same_or_conflict(existing, row)
        _check_order(uow.conn, customer, new)
        repo.insert_entries(uow.conn, [row])
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action=f"ar.{new.kind.value}",
            entity="customer",
            entity_id=code,
            at=now,
            details={"entry_key": row["entry_key"], "amount": str(amount), "order_id": new.order_id},
        )
        recorded = repo.entry_by_key(uow.conn, row["entry_key"]) or row
        uow.commit()
    return _plain(recorded)


def _same_or_conflict(existing: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    compared = ("customer_id", "kind", "amount", "order_id", "occurred_at")
    if any(existing[k] != row[k] for k in compared):
        raise Conflict(f"Entry {row['entry_key']} was already recorded with other content; use a new key.")
    return _plain(existing)


def _check_order(conn, customer: dict[str, Any], new: NewEntry) -> None:
    if new.order_id is None:
        return
    if not repo.order_of_customer(conn, customer["id"], new.order_id):
        raise InvalidRequest(f"Order {new.order_id} is not an on-account order of customer {customer['code']}.")
    if new.kind is ArKind.INVOICE and repo.order_invoiced(conn, new.order_id):
        raise Conflict(f"Order {new.order_id} is already invoiced.")


def invoice_shipped_orders(db: Database, actor: Actor, *, now: datetime) -> int:
    """Raise an invoice for every on-account order that has shipped in full and has none yet, dated when the
    platform reported it (its modified time) and due after the customer's terms. Safe to run again."""
    require(actor, Permission.FINANCE_WRITE)
    raised = 0
    while True:
        with db.uow() as uow:
            shipped = repo.shipped_not_invoiced(uow.conn, limit=INVOICE_BATCH)
            rows = [_order_invoice(order, actor, now) for order in shipped]
            repo.insert_entries(uow.conn, rows)
            audit_repo.record_many(
                uow.conn,
                [
                    {
                        "actor": actor.label,
                        "action": "ar.invoice",
                        "entity": "order",
                        "entity_id": str(r["order_id"]),
                        "at": now,
                        "details": {"entry_key": r["entry_key"], "amount": str(r["amount"])},
                    }
                    for r in rows
                ],
            )
            uow.commit()
        raised += len(rows)
        if len(shipped) < INVOICE_BATCH:
            return raised


def _order_invoice(order: dict[str, Any], actor: Actor, now: datetime) -> dict[str, Any]:
    at = min(order["platform_modified_at"], now)
    return {
        "entry_key": f"invoice:order:{order['id']}",
        "customer_id": order["customer_id"],
        "kind": ArKind.INVOICE.value,
        "amount": order["total_amount"],
        "order_id": order["id"],
        "due_at": at + timedelta(days=order["payment_terms_days"]),
        "occurred_at": at,
        "note": f"订单 {order['platform_order_id']}"[:300],
        "recorded_at": now,
        "recorded_by": actor.label,
    }


def entries(db: Database, actor: Actor, code: str) -> list[dict[str, Any]]:
    require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        customer = repo.customer(uow.conn, code)
        return [_plain(e) for e in repo.entries_of(uow.conn, customer["id"])]


def customer_statement(db: Database, actor: Actor, code: str, *, start: date, end: date) -> tuple[dict, Statement]:
    require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        customer = repo.customer(uow.conn, code)
        ledger = repo.entries_of(uow.conn, customer["id"], before=day_start(end + timedelta(days=1)))
    return customer, statement([as_domain_entry(e) for e in ledger], start, end)


def customer_credit_score(db: Database, actor: Actor, code: str, *, as_of: date) -> tuple[dict, CreditScore]:
    require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        customer = repo.customer(uow.conn, code)
        ledger = repo.entries_of(uow.conn, customer["id"], before=day_start(as_of + timedelta(days=1)))
    allocation = allocate([as_domain_entry(e) for e in ledger], as_of)
    return customer, credit_score(allocation, customer["credit_limit"], as_of)


def credit_positions(conn, pairs: set[tuple[int, str]], now: datetime) -> dict[tuple[int, str], CustomerCredit]:
    """For a review batch: the credit position of every customer its buyers are, in four queries whatever the
    batch's size (the buyers' customers, their balances, their open invoices, their orders not yet invoiced)."""
    owners = repo.customers_for_buyers(conn, pairs)
    if not owners:
        return {}
    ids = sorted({o["id"] for o in owners.values()})
    positions = customer_positions(conn, ids, before=now)
    pending = repo.open_orders(conn, ids)
    by_id = {
        o["id"]: CustomerCredit(
            o["code"], o["name"], o["credit_limit"], *positions.get(o["id"], ((), ZERO)), pending.get(o["id"]) or ZERO
        )
        for o in owners.values()
    }
    return {pair: by_id[o["id"]] for pair, o in owners.items()}


def customer_positions(
    conn, customer_ids: list[int], *, before: datetime
) -> dict[int, tuple[tuple[OpenInvoice, ...], Decimal]]:
    """customer id -> (open invoices by FIFO, credit paid ahead), from the ledger up to `before`."""
    if not customer_ids:
        return {}
    found: dict[int, list[OpenInvoice]] = {}
    for row in repo.open_invoices(conn, customer_ids, before=before):
        found.setdefault(row["customer_id"], []).append(
            OpenInvoice(
                row["entry_key"],
                business_day(row["occurred_at"]),
                business_day(row["due_at"] or row["occurred_at"]),
                fen_to_yuan(row["open_fen"]),
            )
        )
    sums = repo.totals(conn, customer_ids, before=before)
    return {
        cid: (tuple(found.get(cid, [])), fen_to_yuan(max(credited - invoiced, 0)))
        for cid, (invoiced, credited) in sums.items()
    }


def as_domain_entry(row: dict[str, Any]) -> ArEntry:
    return ArEntry(
        row["entry_key"],
        ArKind(row["kind"]),
        row["amount"],
        business_day(row["occurred_at"]),
        business_day(row["due_at"]) if row["due_at"] else None,
        row["order_id"],
        row["note"],
    )


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("customer_id",)}
