"""Read-side stock queries for screens and the API (can point at a read replica later)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import (
    bin_stock,
    bins,
    movement_requests,
    movements,
    reservations,
    shops,
    skus,
    stock_positions,
    warehouses,
    zones,
)

p = stock_positions.c
FREE_ON_HAND = case((p.on_hand > p.reserved, p.on_hand - p.reserved), else_=0)
QUOTA_LEFT = case((p.presale_quota > p.presale_quota_used, p.presale_quota - p.presale_quota_used), else_=0)
AVAILABLE_TO_SELL = FREE_ON_HAND + QUOTA_LEFT


def positions(
    conn: Connection,
    *,
    sku: str | None,
    warehouse: str | None,
    low_stock: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    query = (
        select(
            stock_positions,
            skus.c.code.label("sku"),
            skus.c.name.label("sku_name"),
            warehouses.c.code.label("warehouse"),
        )
        .join(skus, skus.c.id == p.sku_id)
        .join(warehouses, warehouses.c.id == p.warehouse_id)
    )
    if sku:
        query = query.where(skus.c.code == sku)
    if warehouse:
        query = query.where(warehouses.c.code == warehouse)
    if low_stock:
        query = query.where(p.low_stock_threshold >= AVAILABLE_TO_SELL)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(skus.c.code, warehouses.c.code).limit(limit).offset(offset)).mappings()
    return [dict(row) for row in rows], total


def bin_balances(conn: Connection, *, sku: str, warehouse: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(bins.c.code.label("bin"), zones.c.code.label("zone"), bins.c.sellable, bin_stock.c.on_hand)
        .select_from(bin_stock)
        .join(bins, bins.c.id == bin_stock.c.bin_id)
        .join(zones, zones.c.id == bins.c.zone_id)
        .join(skus, skus.c.id == bin_stock.c.sku_id)
        .join(warehouses, warehouses.c.id == bin_stock.c.warehouse_id)
        .where(skus.c.code == sku, warehouses.c.code == warehouse, bin_stock.c.on_hand != 0)
        .order_by(bins.c.code)
    ).mappings()
    return [dict(row) for row in rows]


def movement_lines(
    conn: Connection,
    *,
    sku: str | None,
    warehouse: str | None,
    kind: str | None,
    since: datetime | None,
    until: datetime | None,
    before_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Newest first, keyset-paginated on the line id so pages stay stable while new movements arrive."""
    m = movements.c
    query = (
        select(
            m.id,
            m.request_id,
            m.seq,
            m.kind,
            m.bucket,
            m.quantity,
            m.reservation_id,
            m.at,
            m.actor,
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            bins.c.code.label("bin"),
            movement_requests.c.reference,
            movement_requests.c.reason,
        )
        .join(skus, skus.c.id == m.sku_id)
        .join(warehouses, warehouses.c.id == m.warehouse_id)
        .outerjoin(bins, bins.c.id == m.bin_id)
        .join(movement_requests, movement_requests.c.id == m.request_id)
        .order_by(m.id.desc())
        .limit(limit)
    )
    if sku:
        query = query.where(skus.c.code == sku)
    if warehouse:
        query = query.where(warehouses.c.code == warehouse)
    if kind:
        query = query.where(m.kind == kind)
    if since:
        query = query.where(m.at >= since)
    if until:
        query = query.where(m.at < until)
    if before_id is not None:
        query = query.where(m.id < before_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def reservation_page(
    conn: Connection,
    *,
    sku: str | None,
    warehouse: str | None,
    status: str | None,
    order_ref: str | None,
    after_id: str | None,
    limit: int,
    only_id: str | None = None,
) -> list[dict[str, Any]]:
    r = reservations.c
    query = (
        select(
            r.id,
            r.quantity,
            r.from_quota,
            r.stage,
            r.status,
            r.order_ref,
            r.expires_at,
            r.created_at,
            r.created_by,
            r.ended_at,
            r.ended_by,
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            shops.c.code.label("shop"),
        )
        .join(skus, skus.c.id == r.sku_id)
        .join(warehouses, warehouses.c.id == r.warehouse_id)
        .outerjoin(shops, shops.c.id == r.shop_id)
        .order_by(r.id)
        .limit(limit)
    )
    if sku:
        query = query.where(skus.c.code == sku)
    if warehouse:
        query = query.where(warehouses.c.code == warehouse)
    if status:
        query = query.where(r.status == status)
    if order_ref:
        query = query.where(r.order_ref == order_ref)
    if after_id is not None:
        query = query.where(r.id > after_id)
    if only_id is not None:
        query = query.where(r.id == only_id)
    return [dict(row) for row in conn.execute(query).mappings()]
