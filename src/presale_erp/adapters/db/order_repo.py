"""Orders, their lines and events, and the dead-letter list. Written in batches: one statement per kind of
row per batch, never one round trip per order."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import (
    campaign_skus,
    dead_letters,
    order_events,
    order_lines,
    orders,
    presale_campaigns,
    skus,
)

CHUNK = 1000
# Owned by fulfilment: a new version of an order from the platform leaves them as they are.
FULFILMENT_COLUMNS = ("fulfilment_status", "fulfilment_reason", "allocation_round", "priority", "separate_parcels")
ORDER_COLUMNS = [
    c.name
    for c in orders.columns
    if c.name not in ("id", "shop_id", "platform_order_id", "first_seen_at", "versions_seen", *FULFILMENT_COLUMNS)
]


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def lock_existing(conn: Connection, shop_id: int, platform_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The stored version of each order in the batch, row-locked in id order (two intakes of overlapping
    batches queue instead of deadlocking)."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks(sorted(platform_ids)):
        rows = conn.execute(
            select(
                orders.c.id,
                orders.c.platform_order_id,
                orders.c.platform_modified_at,
                orders.c.status,
                orders.c.versions_seen,
                orders.c.preorder_status,
                orders.c.preorder_reason,
                orders.c.stock_locked,
                orders.c.balance_expired_at,
                orders.c.lock_reason,
                orders.c.activated_at,
                orders.c.review_status,
                orders.c.risk_score,
                orders.c.review_hits,
                orders.c.review_rules_hit,
                orders.c.reviewed_at,
                orders.c.reviewed_by,
                orders.c.address_index,
                orders.c.phone_index,
                orders.c.buyer_remark,
                orders.c.seller_remark,
                orders.c.refund_requested,
            )
            .where(orders.c.shop_id == shop_id, bulk.among(conn, orders.c.platform_order_id, chunk))
            .order_by(orders.c.id)
            .with_for_update()
        ).mappings()
        found.update({row["platform_order_id"]: dict(row) for row in rows})
    return found


def insert_new(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> dict[str, int]:
    """Insert orders not seen before and return the ids of those this transaction inserted; one that another
    intake inserted a moment ago is skipped here (and then treated as existing by the caller)."""
    if not rows:
        return {}
    if conn.dialect.name == "sqlite":
        # The write transaction holds SQLite's only write lock (BEGIN IMMEDIATE) and the caller has seen that
        # none of these exist: no one can race us, so the ids are ours to number and need no reading back.
        first = conn.execute(select(func.coalesce(func.max(orders.c.id), 0))).scalar_one() + 1
        numbered = [{"id": first + n, **row} for n, row in enumerate(rows)]
        for chunk in _chunks(numbered):
            bulk.insert(conn, orders, chunk)
        return {row["platform_order_id"]: row["id"] for row in numbered}
    # PostgreSQL: ids drawn from the sequence in one statement, then the rows copied straight into the table
    # in key order. Staging them for an INSERT ... ON CONFLICT cost ~50 µs an order more (a temporary table,
    # and a speculative insertion per row), paid on every batch for a race that seldom happens.
    numbered = _numbered(conn, sorted(rows, key=lambda row: (row["shop_id"], row["platform_order_id"])))
    try:
        with conn.begin_nested():
            bulk.insert(conn, orders, numbered)
    except IntegrityError as refused:
        if not isinstance(refused.orig, UniqueViolation):
            raise
        # Another intake inserted one of these orders between our look and this insert (it waited for that
        # intake's commit: both insert in key order, so neither holds a key the other waits for). The savepoint
        # undid the copy; ON CONFLICT skips the taken ones and RETURNING names exactly the rows inserted here.
        inserted = bulk.insert_new_returning(
            conn, orders, numbered, unique=["shop_id", "platform_order_id"], returning=["platform_order_id", "id"]
        )
        return dict(inserted)
    return {row["platform_order_id"]: row["id"] for row in numbered}


def _numbered(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    ids = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('orders', 'id')) FROM generate_series(1, %s)", (len(rows),)
    ).scalars()
    return [{"id": order_id, **row} for order_id, row in zip(ids, rows, strict=True)]


def update_orders(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        bulk.update_by_key(
            conn, orders, [{c: r[c] for c in [*ORDER_COLUMNS, "versions_seen", "id"]} for r in chunk], key="id"
        )


def bump_versions_seen(conn: Connection, ids: list[int]) -> None:
    for chunk in _chunks(sorted(ids)):
        conn.execute(update(orders).where(orders.c.id.in_(chunk)).values(versions_seen=orders.c.versions_seen + 1))


def replace_lines(conn: Connection, order_ids: list[int], lines: list[dict[str, Any]]) -> None:
    for chunk in _chunks(sorted(order_ids)):
        conn.execute(order_lines.delete().where(order_lines.c.order_id.in_(chunk)))
    for chunk in _chunks(lines, 5000):
        bulk.insert(conn, order_lines, chunk)


def insert_events(conn: Connection, events: list[dict[str, Any]]) -> None:
    for chunk in _chunks(events, 5000):
        bulk.insert(conn, order_events, chunk)


def sku_ids_by_code(conn: Connection, codes: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        found.update(dict(conn.execute(select(skus.c.code, skus.c.id).where(skus.c.code.in_(chunk))).all()))
    return found


def insert_dead_letters(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Keep each broken payload once per shop while it is open: fetch overlap delivers it again and again."""
    if not rows:
        return []
    shop_ids = {row["shop_id"] for row in rows}
    known = set(
        conn.execute(
            select(dead_letters.c.shop_id, dead_letters.c.payload_hash).where(
                dead_letters.c.shop_id.in_(shop_ids),
                dead_letters.c.status == "open",
                dead_letters.c.payload_hash.in_({row["payload_hash"] for row in rows}),
            )
        ).all()
    )
    unique: dict[tuple[int, str], dict[str, Any]] = {}
    for row in rows:
        if (row["shop_id"], row["payload_hash"]) not in known:
            unique.setdefault((row["shop_id"], row["payload_hash"]), row)
    rows = list(unique.values())
    if not rows:
        return []
    return list(
        conn.execute(dead_letters.insert().returning(dead_letters.c.id, sort_by_parameter_order=True), rows).scalars()
    )


def dead_letter(conn: Connection, letter_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(dead_letters).where(dead_letters.c.id == letter_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def close_dead_letter(conn: Connection, letter_id: int, *, status: str, by: str, at: datetime) -> None:
    conn.execute(
        update(dead_letters)
        .where(dead_letters.c.id == letter_id)
        .values(status=status, resolved_at=at, resolved_by=by, attempts=dead_letters.c.attempts + 1)
    )


def note_failed_retry(conn: Connection, letter_id: int, *, reason: str, payload: str) -> None:
    conn.execute(
        update(dead_letters)
        .where(dead_letters.c.id == letter_id)
        .values(
            reason=reason,
            payload=payload,
            payload_hash=hashlib.sha256(payload.encode()).hexdigest(),
            attempts=dead_letters.c.attempts + 1,
        )
    )


def campaign_balance_due(conn: Connection, shop_id: int, sku_ids: set[int]) -> dict[int, datetime]:
    """sku id -> the latest balance deadline among deposit campaigns (this shop's, or all shops') selling it."""
    if not sku_ids:
        return {}
    rows = conn.execute(
        select(campaign_skus.c.sku_id, func.max(presale_campaigns.c.balance_ends_at))
        .join(presale_campaigns, presale_campaigns.c.id == campaign_skus.c.campaign_id)
        .where(
            campaign_skus.c.sku_id.in_(sorted(sku_ids)),
            presale_campaigns.c.mode == "deposit",
            presale_campaigns.c.status != "draft",
            presale_campaigns.c.balance_ends_at.is_not(None),
            (presale_campaigns.c.shop_id == shop_id) | presale_campaigns.c.shop_id.is_(None),
        )
        .group_by(campaign_skus.c.sku_id)
    )
    return {sku: ends for sku, ends in rows if ends is not None}
