"""Webhook subscriptions and the delivery outbox (webhook_deliveries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import webhook_deliveries as deliveries
from presale_erp.adapters.db.tables import webhook_subscriptions as subscriptions

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


def add_subscription(conn: Connection, row: dict[str, Any]) -> int:
    return int(conn.execute(subscriptions.insert().values(**row).returning(subscriptions.c.id)).scalar_one())


def subscriptions_list(conn: Connection, *, active_only: bool = False) -> list[dict[str, Any]]:
    query = select(subscriptions).order_by(subscriptions.c.id)
    if active_only:
        query = query.where(subscriptions.c.active.is_(True))
    return [dict(row) for row in conn.execute(query).mappings()]


def subscription(conn: Connection, subscription_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).mappings().first()
    return dict(row) if row else None


def deactivate(conn: Connection, subscription_id: int) -> None:
    conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id).values(active=False))


def give_up_pending(conn: Connection, subscription_id: int, *, reason: str) -> int:
    """Pending deliveries of a subscription nobody wants any more are closed as failed, with the reason."""
    done = conn.execute(
        update(deliveries)
        .where(deliveries.c.subscription_id == subscription_id, deliveries.c.status == PENDING)
        .values(status=FAILED, last_error=reason[:500])
    )
    return done.rowcount


def add_deliveries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """The outbox rows of one event, in the caller's transaction (COPY on PostgreSQL, executemany on SQLite)."""
    bulk.insert(conn, deliveries, rows)


def claim_due(conn: Connection, *, now: datetime, lease_until: datetime, limit: int) -> list[dict[str, Any]]:
    """Take up to `limit` due deliveries of active subscriptions and count the attempt now: their next attempt
    moves to `lease_until`, so no other worker sees them as due once this transaction commits. On PostgreSQL
    the rows are locked with SKIP LOCKED, so a worker claiming at the same instant takes other rows instead of
    waiting for (and then re-sending) these; SQLite has one writer at a time (BEGIN IMMEDIATE), a plain select
    suffices there."""
    query = (
        select(
            deliveries.c.id,
            deliveries.c.subscription_id,
            deliveries.c.event,
            deliveries.c.payload,
            deliveries.c.attempts,
            deliveries.c.created_at,
            subscriptions.c.url,
            subscriptions.c.secret,
        )
        .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
        .where(
            deliveries.c.status == PENDING,
            deliveries.c.next_attempt_at <= now,
            subscriptions.c.active.is_(True),
        )
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=deliveries)
    rows = [dict(row) for row in conn.execute(query).mappings()]
    if not rows:
        return []
    conn.execute(
        update(deliveries)
        .where(bulk.among(conn, deliveries.c.id, [row["id"] for row in rows]))
        .values(attempts=deliveries.c.attempts + 1, next_attempt_at=lease_until)
    )
    return [row | {"attempts": row["attempts"] + 1} for row in rows]


def mark_delivered(conn: Connection, ids: Sequence[int], *, at: datetime) -> None:
    """Delivered whatever happened meanwhile: the receiver has it, which is what the row is about."""
    if not ids:
        return
    conn.execute(
        update(deliveries)
        .where(bulk.among(conn, deliveries.c.id, list(ids)))
        .values(status=DELIVERED, delivered_at=at, last_error="")
    )


def record_failures(conn: Connection, outcomes: Sequence[dict[str, Any]]) -> None:
    """Each of `outcomes` (id, attempts as claimed, status, next_attempt_at, last_error) is written only if the
    row is still as this worker claimed it: if its lease ran out and another worker claimed it again (or staff
    asked for a redelivery), that worker's outcome is the one that counts."""
    if not outcomes:
        return
    statement = (
        update(deliveries)
        .where(
            deliveries.c.id == bindparam("b_id"),
            deliveries.c.attempts == bindparam("b_attempts"),
            deliveries.c.status == PENDING,
        )
        .values(
            status=bindparam("b_status"),
            next_attempt_at=bindparam("b_next_attempt_at"),
            last_error=bindparam("b_last_error"),
        )
    )
    conn.execute(statement, [{f"b_{key}": value for key, value in row.items()} for row in outcomes])


def delivery(conn: Connection, delivery_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).mappings().first()
    return dict(row) if row else None


def deliveries_list(conn: Connection, *, status: str | None, limit: int) -> list[dict[str, Any]]:
    query = _with_url().order_by(deliveries.c.id.desc()).limit(limit)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    return [dict(row) for row in conn.execute(query).mappings()]


def delivery_view(conn: Connection, delivery_id: int) -> dict[str, Any]:
    return dict(conn.execute(_with_url().where(deliveries.c.id == delivery_id)).mappings().one())


def _with_url() -> Select:
    return select(deliveries, subscriptions.c.url).join(
        subscriptions, subscriptions.c.id == deliveries.c.subscription_id
    )


def schedule_now(conn: Connection, delivery_id: int, *, now: datetime) -> None:
    """Back in the queue with a fresh schedule of attempts, due at once."""
    conn.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(status=PENDING, attempts=0, next_attempt_at=now, delivered_at=None)
    )
