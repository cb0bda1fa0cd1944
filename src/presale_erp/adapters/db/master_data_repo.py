"""Products, SKUs, shops, warehouses, zones and bins: the records everything else refers to by code."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import bin_stock, bins, products, shops, skus, warehouses, zones


def insert(conn: Connection, table: Table, row: dict[str, Any]) -> int:
    return conn.execute(table.insert().returning(table.c.id), [row]).scalar_one()


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(table.insert(), rows)


def exists(conn: Connection, table: Table, **where: Any) -> bool:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    return conn.execute(query).scalar_one() > 0


def product_by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(products).where(products.c.code == code)).mappings().first()
    return dict(row) if row else None


def page(conn: Connection, table: Table, *, limit: int, offset: int, **where: Any) -> tuple[list[dict], int]:
    query = select(table)
    for column, value in where.items():
        if value is not None:
            query = query.where(table.c[column] == value)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(table.c.code).limit(limit).offset(offset)).mappings()
    return [dict(r) for r in rows], total


def sku_page(conn: Connection, *, product: str | None, presale_capable: bool | None, limit: int, offset: int):
    query = select(skus, products.c.code.label("product_code")).join(products, products.c.id == skus.c.product_id)
    if product:
        query = query.where(products.c.code == product)
    if presale_capable is not None:
        query = query.where(skus.c.presale_capable == presale_capable)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(skus.c.code).limit(limit).offset(offset)).mappings()
    return [dict(r) for r in rows], total


def sku_by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(skus, products.c.code.label("product_code"))
            .join(products, products.c.id == skus.c.product_id)
            .where(skus.c.code == code)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def warehouse_by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(warehouses).where(warehouses.c.code == code)).mappings().first()
    return dict(row) if row else None


def zones_of(conn: Connection, warehouse_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(zones).where(zones.c.warehouse_id == warehouse_id).order_by(zones.c.code))
    return [dict(r) for r in rows.mappings()]


def bins_of(conn: Connection, warehouse_id: int, zone: str | None, limit: int, offset: int):
    query = (
        select(
            bins.c.id, bins.c.code, zones.c.code.label("zone"), bins.c.sellable, bins.c.created_at, bins.c.created_by
        )
        .join(zones, zones.c.id == bins.c.zone_id)
        .where(bins.c.warehouse_id == warehouse_id)
    )
    if zone:
        query = query.where(zones.c.code == zone)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = conn.execute(query.order_by(bins.c.code).limit(limit).offset(offset)).mappings()
    return [dict(r) for r in rows], total


def bin_by_code(conn: Connection, warehouse_id: int, code: str) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(bins.c.id, bins.c.code, bins.c.sellable, zones.c.code.label("zone"))
            .join(zones, zones.c.id == bins.c.zone_id)
            .where(bins.c.warehouse_id == warehouse_id, bins.c.code == code)
            .with_for_update(of=bins)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def bin_units(conn: Connection, bin_id: int) -> int:
    """Units of every SKU the bin holds now."""
    held = conn.execute(select(func.coalesce(func.sum(bin_stock.c.on_hand), 0)).where(bin_stock.c.bin_id == bin_id))
    return int(held.scalar_one())


def set_bin_sellable(conn: Connection, bin_id: int, sellable: bool) -> None:
    conn.execute(update(bins).where(bins.c.id == bin_id).values(sellable=sellable))


def existing_bin_codes(conn: Connection, warehouse_id: int, codes: list[str]) -> list[str]:
    rows = conn.execute(
        select(bins.c.code).where(bins.c.warehouse_id == warehouse_id, bins.c.code.in_(codes))
    ).scalars()
    return sorted(rows)


def shop_by_code(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(shops).where(shops.c.code == code)).mappings().first()
    return dict(row) if row else None


def shop_by_id(conn: Connection, shop_id: int) -> dict[str, Any]:
    return dict(conn.execute(select(shops).where(shops.c.id == shop_id)).mappings().one())


def update_shop(conn: Connection, shop_id: int, **values: Any) -> None:
    conn.execute(shops.update().where(shops.c.id == shop_id).values(**values))
