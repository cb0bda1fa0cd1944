"""Moving average costs per SKU × warehouse (stock_costs), and the costs other areas read from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, func, select, tuple_
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import skus, stock_costs, stock_positions, warehouses
from presale_erp.adapters.db.upsert import upsert
from presale_erp.domain.costing import round_cost


def lock_costs(conn: Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Decimal]:
    """The current averages of (sku id, warehouse id) keys, locked (PostgreSQL) so that a concurrent receipt of
    the same SKU waits and then averages over our result, instead of both writing over the same old average."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        select(stock_costs.c.sku_id, stock_costs.c.warehouse_id, stock_costs.c.average_cost)
        .where(tuple_(stock_costs.c.sku_id, stock_costs.c.warehouse_id).in_(wanted))
        .order_by(stock_costs.c.sku_id, stock_costs.c.warehouse_id)
        .with_for_update()
    ).all()
    return {(s, w): round_cost(Decimal(cost)) for s, w, cost in rows}


def save_costs(conn: Connection, averages: dict[tuple[int, int], Decimal], now: datetime) -> None:
    rows = [
        {"sku_id": s, "warehouse_id": w, "average_cost": round_cost(cost), "updated_at": now}
        for (s, w), cost in sorted(averages.items())
    ]
    upsert(conn, stock_costs, rows, key=["sku_id", "warehouse_id"], update=["average_cost", "updated_at"])


def sku_costs(conn: Connection, sku_ids: Iterable[int]) -> dict[int, Decimal]:
    """One cost per SKU, for decisions made before a warehouse is chosen (review): the moving averages of its
    warehouses weighted by the units on hand there (total stock value / units), else the plain mean of its
    averages when nothing is on hand, else the catalogue's unit cost. SKUs with neither are left out."""
    wanted = sorted(set(sku_ids))
    if not wanted:
        return {}
    on_hand = func.coalesce(stock_positions.c.on_hand, 0)
    rows = conn.execute(
        select(
            stock_costs.c.sku_id,
            func.sum(on_hand * stock_costs.c.average_cost),
            func.sum(on_hand),
            func.avg(stock_costs.c.average_cost),
        )
        .select_from(stock_costs)
        .outerjoin(
            stock_positions,
            and_(
                stock_positions.c.sku_id == stock_costs.c.sku_id,
                stock_positions.c.warehouse_id == stock_costs.c.warehouse_id,
            ),
        )
        .where(stock_costs.c.sku_id.in_(wanted))
        .group_by(stock_costs.c.sku_id)
    ).all()
    costs = {
        sku: round_cost(Decimal(value) / units if units and units > 0 else Decimal(mean))
        for sku, value, units, mean in rows
    }
    fallback = conn.execute(
        select(skus.c.id, skus.c.unit_cost).where(skus.c.id.in_(wanted), skus.c.unit_cost.is_not(None))
    ).all()
    return {**{sku: cost for sku, cost in fallback}, **costs}


def costs_by_position(
    conn: Connection, *, warehouse: str | None = None, sku: str | None = None
) -> list[dict[str, Any]]:
    """Each stocked SKU × warehouse with its average cost (or the catalogue cost when none is kept yet), where the
    cost came from, and the stock's value at that cost."""
    average = stock_costs.c.average_cost
    query = (
        select(
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            stock_positions.c.on_hand,
            stock_positions.c.damaged,
            average.label("average_cost"),
            skus.c.unit_cost,
            case(
                (average.is_not(None), "moving_average"), (skus.c.unit_cost.is_not(None), "catalogue"), else_="none"
            ).label("source"),
        )
        .select_from(stock_positions)
        .join(skus, skus.c.id == stock_positions.c.sku_id)
        .join(warehouses, warehouses.c.id == stock_positions.c.warehouse_id)
        .outerjoin(
            stock_costs,
            and_(
                stock_costs.c.sku_id == stock_positions.c.sku_id,
                stock_costs.c.warehouse_id == stock_positions.c.warehouse_id,
            ),
        )
        .order_by(warehouses.c.code, skus.c.code)
    )
    if warehouse:
        query = query.where(warehouses.c.code == warehouse)
    if sku:
        query = query.where(skus.c.code == sku)
    return [dict(r) for r in conn.execute(query).mappings()]
