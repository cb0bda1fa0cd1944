"""Read side for orders: lists for the screens (待尾款, by status, by shop), one order with lines and events,
and the dead-letter list."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import dead_letters, order_events, order_lines, orders, shops, skus


def order_page(
    conn: Connection,
    *,
    shop: str | None,
    status: str | None,
    presale_type: str | None,
    awaiting_balance: bool,
    after_id: int | None,
    limit: int,
    review_status: str | None = None,
    rule: str | None = None,
) -> list[dict[str, Any]]:
    query = (
        select(orders, shops.c.code.label("shop"), shops.c.platform)
        .join(shops, shops.c.id == orders.c.shop_id)
        .order_by(orders.c.id)
        .limit(limit)
    )
    if shop:
        query = query.where(shops.c.code == shop)
    if status:
        query = query.where(orders.c.status == status)
    if presale_type:
        query = query.where(orders.c.presale_type == presale_type)
    if awaiting_balance:
        query = query.where(orders.c.status == "deposit_paid", orders.c.balance_paid.is_(False))
    if after_id is not None:
        query = query.where(orders.c.id > after_id)
    if review_status:
        query = query.where(orders.c.review_status == review_status)
    if rule:
        query = query.where(orders.c.review_rules_hit.contains(f",{rule},", autoescape=True))
    return [dict(row) for row in conn.execute(query).mappings()]


def one_order(conn: Connection, shop: str, platform_order_id: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(orders, shops.c.code.label("shop"), shops.c.platform)
            .join(shops, shops.c.id == orders.c.shop_id)
            .where(shops.c.code == shop, orders.c.platform_order_id == platform_order_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    order = dict(row)
    order["lines"] = [
        dict(r)
        for r in conn.execute(
            select(order_lines, skus.c.code.label("matched_sku"))
            .outerjoin(skus, skus.c.id == order_lines.c.sku_id)
            .where(order_lines.c.order_id == order["id"])
            .order_by(order_lines.c.line_no)
        ).mappings()
    ]
    order["events"] = [
        dict(r)
        for r in conn.execute(
            select(order_events).where(order_events.c.order_id == order["id"]).order_by(order_events.c.id)
        ).mappings()
    ]
    return order


def dead_letter_page(
    conn: Connection, *, shop: str | None, status: str | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    query = (
        select(dead_letters, shops.c.code.label("shop"))
        .join(shops, shops.c.id == dead_letters.c.shop_id)
        .order_by(dead_letters.c.id)
        .limit(limit)
    )
    if shop:
        query = query.where(shops.c.code == shop)
    if status:
        query = query.where(dead_letters.c.status == status)
    if after_id is not None:
        query = query.where(dead_letters.c.id > after_id)
    return [dict(row) for row in conn.execute(query).mappings()]
