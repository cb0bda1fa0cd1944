"""The pre-order queue (预订单): waiting orders with their presale lines, free stock, and the outcome."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import order_lines, orders, shops, skus, stock_positions


def waiting(conn: Connection, *, limit: int, after_id: int = 0, shop: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(
            orders.c.id,
            orders.c.shop_id,
            orders.c.platform_order_id,
            orders.c.paid_at,
            orders.c.planned_ship_at,
            orders.c.latest_ship_at,
            orders.c.preorder_reason,
            shops.c.code.label("shop"),
        )
        .join(shops, shops.c.id == orders.c.shop_id)
        .where(orders.c.preorder_status == "waiting", orders.c.status == "paid", orders.c.id > after_id)
        .order_by(orders.c.id)
        .limit(limit)
    )
    if shop:
        query = query.where(shops.c.code == shop)
    return [dict(r) for r in conn.execute(query).mappings()]


def presale_units(conn: Connection, order_ids: Sequence[int]) -> dict[int, dict[int, int]]:
    wanted: dict[int, dict[int, int]] = {i: {} for i in order_ids}
    rows = conn.execute(
        select(order_lines.c.order_id, order_lines.c.sku_id, func.sum(order_lines.c.quantity))
        .where(
            order_lines.c.order_id.in_(list(order_ids)),
            order_lines.c.presale.is_(True),
            order_lines.c.refunded.is_(False),
            order_lines.c.sku_id.is_not(None),
        )
        .group_by(order_lines.c.order_id, order_lines.c.sku_id)
    )
    for order_id, sku_id, units in rows:
        wanted[order_id][sku_id] = int(units)
    return wanted


def free_stock(conn: Connection, sku_ids: set[int]) -> tuple[dict[int, int], dict[int, str]]:
    if not sku_ids:
        return {}, {}
    p = stock_positions.c
    free = case((p.on_hand > p.reserved, p.on_hand - p.reserved), else_=0)
    totals = {
        s: int(t or 0)
        for s, t in conn.execute(
            select(p.sku_id, func.sum(free)).where(p.sku_id.in_(sorted(sku_ids))).group_by(p.sku_id)
        )
    }
    codes = dict(conn.execute(select(skus.c.id, skus.c.code).where(skus.c.id.in_(sorted(sku_ids)))).all())
    return totals, codes


def record(conn: Connection, outcomes: dict[int, str], now: datetime) -> None:
    bulk.update_by_key(
        conn,
        orders,
        [
            {
                "preorder_status": "activated" if not reason else "waiting",
                "preorder_reason": reason,
                "activated_at": now if not reason else None,
                "id": order_id,
            }
            for order_id, reason in outcomes.items()
        ],
        key="id",
    )
