"""What stock costs: the moving average per SKU × warehouse (falling back to the catalogue's unit cost where no
receipt has been costed yet), and the value of each warehouse's stock at that cost."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from presale_erp.adapters.db import costing_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.costing import round_cost
from presale_erp.domain.money import FEN


def stock_costs(db: Database, *, warehouse: str | None = None, sku: str | None = None) -> list[dict[str, Any]]:
    """Each SKU × warehouse position with its unit cost, where that cost comes from, and its stock value."""
    with db.uow(write=False) as uow:
        rows = costing_repo.costs_by_position(uow.conn, warehouse=warehouse, sku=sku)
    return [_costed(row) for row in rows]


def average_cost(db: Database, sku: str, warehouse: str) -> Decimal | None:
    """The unit cost of `sku` in `warehouse`: its moving average, else the catalogue cost, else None (unknown)."""
    found = stock_costs(db, warehouse=warehouse, sku=sku)
    return found[0]["unit_cost"] if found else None


def valuation(db: Database, *, warehouse: str | None = None, sku: str | None = None) -> list[dict[str, Any]]:
    """Stock value per warehouse at unit cost, to the fen, with the units it covers and those of unknown cost
    (of one SKU when `sku` is given)."""
    totals: dict[str, dict[str, Any]] = defaultdict(
        lambda: {
            "units": 0,
            "value": Decimal("0.00"),
            "units_without_cost": 0,
            "damaged_units": 0,
            "damaged_value": Decimal("0.00"),
            "damaged_units_without_cost": 0,
        }
    )
    for row in stock_costs(db, warehouse=warehouse, sku=sku):
        total = totals[row["warehouse"]]
        if row["unit_cost"] is None:
            total["units_without_cost"] += row["on_hand"]
            total["damaged_units_without_cost"] += row["damaged"]
            continue
        total["units"] += row["on_hand"]
        total["value"] += row["value"]
        total["damaged_units"] += row["damaged"]
        total["damaged_value"] += row["damaged_value"]
    return [{"warehouse": wh, **t} for wh, t in sorted(totals.items())]


def _costed(row: dict[str, Any]) -> dict[str, Any]:
    average = row["average_cost"]
    cost = round_cost(Decimal(average)) if average is not None else row["unit_cost"]
    return {
        "sku": row["sku"],
        "warehouse": row["warehouse"],
        "on_hand": row["on_hand"],
        "damaged": row["damaged"],
        "unit_cost": cost,
        "source": row["source"],
        # Each position's value is rounded to the fen once; a warehouse total is the sum of those.
        "value": _value(cost, row["on_hand"]),
        # Damaged units (残次品) at the same average cost, apart: they are stock, but not sellable stock.
        "damaged_value": _value(cost, row["damaged"]),
    }


def _value(cost: Decimal | None, units: int) -> Decimal | None:
    return (cost * units).quantize(FEN, rounding=ROUND_HALF_UP) if cost is not None else None
