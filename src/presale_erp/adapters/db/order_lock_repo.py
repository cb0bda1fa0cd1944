"""Rows the order-side stock locks need: the shop's lock settings, SKU codes, pending reservations by id."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import orders, reservations, skus, warehouses


def warehouse_code(conn: Connection, warehouse_id: int) -> str:
    return conn.execute(select(warehouses.c.code).where(warehouses.c.id == warehouse_id)).scalar_one()


def sku_codes(conn: Connection, sku_ids: set[int]) -> dict[int, str]:
    if not sku_ids:
        return {}
    return dict(conn.execute(select(skus.c.id, skus.c.code).where(skus.c.id.in_(sorted(sku_ids)))).all())


def pending_reservations(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 1000):
        chunk = sorted(ids[start : start + 1000])
        rows = conn.execute(
            select(reservations).where(reservations.c.id.in_(chunk), reservations.c.status == "pending")
        ).mappings()
        found.update({row["id"]: dict(row) for row in rows})
    return found


def mark_orders(conn: Connection, outcome: dict[int, str]) -> None:
    bulk.update_by_key(
        conn,
        orders,
        [{"stock_locked": reason == "", "lock_reason": reason, "id": order_id} for order_id, reason in outcome.items()],
        key="id",
    )


def reservations_of_orders(conn: Connection, shop_id: int, order_refs: Sequence[str]) -> dict[str, list[dict]]:
    """Every reservation (any status) these orders ever had, by platform order id."""
    found: dict[str, list[dict[str, Any]]] = {}
    refs = sorted(set(order_refs))
    for start in range(0, len(refs), 1000):
        rows = conn.execute(
            select(reservations).where(
                reservations.c.shop_id == shop_id,
                bulk.among(conn, reservations.c.order_ref, refs[start : start + 1000]),
            )
        )
        for row in rows.mappings():
            found.setdefault(row["order_ref"], []).append(dict(row))
    return found


def warehouse_codes(conn: Connection, ids: set[int]) -> dict[str, int]:
    if not ids:
        return {}
    return {
        code: i
        for i, code in conn.execute(select(warehouses.c.id, warehouses.c.code).where(warehouses.c.id.in_(sorted(ids))))
    }
