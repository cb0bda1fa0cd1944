"""payment_entries: insert-only (no update or delete here, on purpose) and the reads of the payments ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, case, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select

from presale_erp.adapters.db.tables import orders, payment_entries, shops
from presale_erp.adapters.db.types import UtcDateTime
from presale_erp.adapters.db.upsert import insert_ignoring_existing
from presale_erp.domain.finance import (
    CHANNEL_OF_PLATFORM,
    ZERO,
    Channel,
    PaymentEntry,
    PaymentKind,
    PaymentSource,
)

COLUMNS = (
    "entry_key",
    "shop_id",
    "order_id",
    "kind",
    "amount",
    "channel",
    "external_ref",
    "occurred_at",
    "source",
    "note",
    "recorded_at",
    "recorded_by",
)


def insert_new(conn: Connection, entries: Sequence[PaymentEntry], *, now: datetime, actor: str) -> None:
    """Insert entries whose key is not taken yet; a taken key is left as it is (the caller compares)."""
    insert_ignoring_existing(
        conn,
        payment_entries,
        [
            {
                "entry_key": e.entry_key,
                "shop_id": e.shop_id,
                "order_id": e.order_id,
                "kind": e.kind.value,
                "amount": e.amount,
                "channel": e.channel.value,
                "external_ref": e.external_ref,
                "occurred_at": e.occurred_at,
                "source": e.source.value,
                "note": e.note,
                "recorded_at": now,
                "recorded_by": actor,
            }
            for e in entries
        ],
    )


def by_keys(conn: Connection, keys: Sequence[str]) -> dict[str, PaymentEntry]:
    if not keys:
        return {}
    rows = conn.execute(select(payment_entries).where(payment_entries.c.entry_key.in_(sorted(set(keys))))).mappings()
    return {row["entry_key"]: to_entry(row) for row in rows}


def to_entry(row: Any) -> PaymentEntry:
    return PaymentEntry(
        entry_key=row["entry_key"],
        shop_id=row["shop_id"],
        order_id=row["order_id"],
        kind=PaymentKind(row["kind"]),
        amount=row["amount"],
        channel=Channel(row["channel"]),
        external_ref=row["external_ref"],
        occurred_at=row["occurred_at"],
        source=PaymentSource(row["source"]),
        note=row["note"],
    )


def order_exists(conn: Connection, order_id: int) -> bool:
    return conn.execute(select(orders.c.id).where(orders.c.id == order_id)).first() is not None


def of_order(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(payment_entries)
        .where(payment_entries.c.order_id == order_id)
        .order_by(payment_entries.c.occurred_at, payment_entries.c.id)
    ).mappings()
    return [dict(row) for row in rows]


# --- Entries derived from the orders intake took in ---------------------------------------------------------------


def _channel():
    return case(
        *((shops.c.platform == platform.value, channel.value) for platform, channel in CHANNEL_OF_PLATFORM.items()),
        else_=Channel.BANK.value,
    )


def _derived(
    kind: PaymentKind, amount, occurred_at, condition, *, since: datetime, now: datetime, actor: str
) -> Select:
    key = literal("order:") + cast(orders.c.id, String) + literal(f":{kind.value}")
    taken = select(payment_entries.c.id).where(payment_entries.c.entry_key == key).exists()
    return (
        select(
            key,
            orders.c.shop_id,
            orders.c.id,
            literal(kind.value),
            amount,
            _channel(),
            orders.c.platform_order_id,
            occurred_at,
            literal(PaymentSource.PLATFORM.value),
            literal(""),
            literal(now, UtcDateTime()),
            literal(actor),
        )
        .select_from(orders.join(shops, shops.c.id == orders.c.shop_id))
        .where(orders.c.platform_modified_at >= since, condition, ~taken)
    )


def record_from_orders(conn: Connection, *, since: datetime, now: datetime, actor: str) -> int:
    """One INSERT ... SELECT per kind of payment over the orders modified since `since`; keys already taken are
    skipped (NOT EXISTS, and ON CONFLICT DO NOTHING for a concurrent run). Returns the entries written.

    occurred_at: the order's payment time (paid_at, else its modified time) for a deposit or a full payment; a
    balance has no time of its own on the order, so it takes the platform's modified time of the first version
    that showed it paid (the entry is written once, by the first run that sees it)."""
    paid_at = func.coalesce(orders.c.paid_at, orders.c.platform_modified_at)
    deposit_trade = orders.c.presale_type.in_(("deposit", "stepped")) & (orders.c.deposit_amount > ZERO)
    plans = [
        (
            PaymentKind.DEPOSIT,
            orders.c.deposit_amount,
            paid_at,
            and_(deposit_trade, orders.c.paid_amount > ZERO),
        ),
        (
            PaymentKind.BALANCE,
            orders.c.balance_amount,
            orders.c.platform_modified_at,
            and_(deposit_trade, orders.c.balance_paid.is_(True), orders.c.balance_amount > ZERO),
        ),
        (
            PaymentKind.FULL_PAYMENT,
            orders.c.paid_amount,
            paid_at,
            and_(~deposit_trade, orders.c.paid_amount > ZERO),
        ),
    ]
    written = 0
    for kind, amount, occurred_at, condition in plans:
        query = _derived(kind, amount, occurred_at, condition, since=since, now=now, actor=actor)
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(payment_entries).from_select(list(COLUMNS), query)
        statement = statement.on_conflict_do_nothing(index_elements=["entry_key"]).returning(payment_entries.c.id)
        written += len(conn.execute(statement).all())  # rowcount is not reliable for INSERT ... SELECT
    return written
