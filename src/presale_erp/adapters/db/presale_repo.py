"""Presale campaigns and their per-SKU quotas."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import campaign_skus, presale_campaigns, shops, skus, warehouses


def campaign_by_code(conn: Connection, code: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = (
        select(presale_campaigns, shops.c.code.label("shop"))
        .outerjoin(shops, shops.c.id == presale_campaigns.c.shop_id)
        .where(presale_campaigns.c.code == code)
    )
    if for_update:
        query = query.with_for_update(of=presale_campaigns)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def campaign_lines(conn: Connection, campaign_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    rows = conn.execute(
        select(campaign_skus, skus.c.code.label("sku"), warehouses.c.code.label("warehouse"))
        .join(skus, skus.c.id == campaign_skus.c.sku_id)
        .join(warehouses, warehouses.c.id == campaign_skus.c.warehouse_id)
        .where(campaign_skus.c.campaign_id.in_(campaign_ids))
        .order_by(skus.c.code, warehouses.c.code)
    ).mappings()
    grouped: dict[int, list[dict[str, Any]]] = {i: [] for i in campaign_ids}
    for row in rows:
        grouped[row["campaign_id"]].append(dict(row))
    return grouped


def campaign_page(conn: Connection, *, status: str | None, limit: int, offset: int):
    query = select(presale_campaigns, shops.c.code.label("shop")).outerjoin(
        shops, shops.c.id == presale_campaigns.c.shop_id
    )
    if status:
        query = query.where(presale_campaigns.c.status == status)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(
        query.order_by(presale_campaigns.c.deposit_starts_at.desc(), presale_campaigns.c.code)
        .limit(limit)
        .offset(offset)
    ).mappings()
    return [dict(r) for r in rows], total


def set_status(conn: Connection, campaign_id: int, status: str) -> None:
    conn.execute(update(presale_campaigns).where(presale_campaigns.c.id == campaign_id).values(status=status))
