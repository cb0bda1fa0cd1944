"""Deposit orders whose balance window has passed unpaid."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import order_lines, orders


def overdue(conn: Connection, *, before: datetime, limit: int = 10_000) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(orders.c.id, orders.c.shop_id, orders.c.platform_order_id, orders.c.paid_at)
        .where(
            orders.c.status == "deposit_paid",
            orders.c.balance_paid.is_(False),
            orders.c.balance_due_at < before,
            orders.c.balance_expired_at.is_(None),
        )
        .order_by(orders.c.id)
        .limit(limit)
        .with_for_update()
    ).mappings()
    return [dict(r) for r in rows]


def lines_of(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[tuple[int, int, int, bool]]]:
    grouped: dict[int, list[tuple[int, int, int, bool]]] = {i: [] for i in order_ids}
    for order_id, line_no, sku_id, quantity, presale in conn.execute(
        select(
            order_lines.c.order_id,
            order_lines.c.line_no,
            order_lines.c.sku_id,
            order_lines.c.quantity,
            order_lines.c.presale,
        ).where(order_lines.c.order_id.in_(list(order_ids)), order_lines.c.sku_id.is_not(None))
    ):
        grouped[order_id].append((line_no, sku_id, quantity, presale))
    return grouped


def mark_expired(conn: Connection, ids: Sequence[int], at: datetime) -> None:
    conn.execute(
        update(orders)
        .where(orders.c.id.in_(list(ids)))
        .values(
            balance_expired_at=at,
            lock_reason="尾款逾期, 库存已释放 (balance window passed unpaid; stock released)",
            stock_locked=False,
        )
    )
