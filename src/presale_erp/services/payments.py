"""The payments ledger (收支流水): entries derived from the orders intake took in (deposits, balances, full
payments), entries recorded by hand or by other areas (fees, adjustments, refunds from after-sales), and an
order's payments with their totals. Entries are never changed or deleted; a correction is a new entry."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters.db import audit_repo, lookups, payment_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import NotFound
from presale_erp.domain.finance import (
    Channel,
    PaymentEntry,
    PaymentKind,
    PaymentSource,
    check_entry,
    check_replay,
    totals,
)


def record_from_orders(db: Database, actor: Actor, *, since: datetime, now: datetime) -> int:
    """Write the deposit, balance and full-payment entries of every order modified since `since` that has none
    yet (keys order:<id>:deposit|balance|full_payment). Set-based and idempotent. Returns entries written."""
    with db.uow() as uow:
        written = payment_repo.record_from_orders(uow.conn, since=since, now=now, actor=actor.label)
        if written:
            audit_repo.record(
                uow.conn,
                actor=actor.label,
                action="payments.from_orders",
                entity="payment_entries",
                entity_id=f"since {since.isoformat()}",
                at=now,
                details={"written": written},
            )
        uow.commit()
    return written


def record_entry(db: Database, actor: Actor, entry: PaymentEntry, *, now: datetime) -> bool:
    """Record one entry in its own unit of work. Returns False when the key already holds this very entry."""
    with db.uow() as uow:
        created = record_in(uow.conn, actor, [entry], now=now)
        uow.commit()
    return bool(created)


def record_in(conn: Connection, actor: Actor, entries: list[PaymentEntry], *, now: datetime) -> list[str]:
    """Record entries inside the caller's transaction (after-sales refunds, settlement fees). Same key and same
    content: nothing happens; same key, other content: Conflict. Returns the keys written now."""
    for entry in entries:
        check_entry(entry)
    keys = [e.entry_key for e in entries]
    before = payment_repo.by_keys(conn, keys)
    payment_repo.insert_new(conn, [e for e in entries if e.entry_key not in before], now=now, actor=actor.label)
    stored = payment_repo.by_keys(conn, keys)  # a concurrent writer of the same key may have won: compare too
    for entry in entries:
        check_replay(stored[entry.entry_key], entry)
    created = [e for e in entries if e.entry_key not in before]
    if created:
        audit_repo.record_many(
            conn,
            [
                {
                    "actor": actor.label,
                    "action": f"payment.{e.kind.value}",
                    "entity": "payment_entry",
                    "entity_id": e.entry_key,
                    "at": now,
                    "details": _jsonable(asdict(e)),
                }
                for e in created
            ],
        )
    return [e.entry_key for e in created]


def manual_entry(
    *,
    entry_key: str,
    shop_id: int,
    order_id: int | None,
    kind: PaymentKind,
    amount: Decimal,
    channel: Channel,
    external_ref: str,
    occurred_at: datetime,
    source: PaymentSource = PaymentSource.MANUAL,
    note: str = "",
) -> PaymentEntry:
    return PaymentEntry(entry_key, shop_id, order_id, kind, amount, channel, external_ref, occurred_at, source, note)


ENTRY_FIELDS = ("entry_key", "kind", "amount", "channel", "external_ref", "occurred_at", "source", "note")


def order_payments(db: Database, order_id: int) -> dict[str, Any]:
    """An order's entries, oldest first, with paid, refunded, fees and net (paid - refunded)."""
    with db.uow(write=False) as uow:
        if not payment_repo.order_exists(uow.conn, order_id):
            raise NotFound(f"No order {order_id}.")
        rows = payment_repo.of_order(uow.conn, order_id)
    summary = totals((PaymentKind(r["kind"]), r["amount"]) for r in rows)
    return {
        "order_id": order_id,
        "entries": [
            {
                k: r[k]
                for k in ("entry_key", "kind", "amount", "channel", "external_ref", "occurred_at", "source", "note")
            }
            for r in rows
        ],
        **asdict(summary),
    }


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Decimal | datetime) else v) for k, v in data.items()}


def record_manual(
    db: Database,
    actor: Actor,
    *,
    shop: str,
    order_id: int | None,
    entry_key: str,
    kind: PaymentKind,
    amount: Decimal,
    channel: Channel,
    external_ref: str,
    occurred_at: datetime,
    note: str,
    now: datetime,
) -> bool:
    """A fee, commission, adjustment or refund recorded by a person (source manual)."""
    with db.uow(write=False) as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        if order_id is not None and not payment_repo.order_exists(uow.conn, order_id):
            raise NotFound(f"No order {order_id}.")
    entry = PaymentEntry(
        entry_key, shop_id, order_id, kind, amount, channel, external_ref, occurred_at, PaymentSource.MANUAL, note
    )
    return record_entry(db, actor, entry, now=now)
