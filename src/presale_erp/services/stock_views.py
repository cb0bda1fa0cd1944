"""What staff see of stock: positions with every counter, bin balances, movement and reservation history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from presale_erp.adapters.db import audit_repo, lookups, stock_queries, stock_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.ledger import StockPosition

COUNTERS = stock_repo.COUNTERS


def position_view(row: dict[str, Any]) -> dict[str, Any]:
    """Every counter of a position, with the derived figures computed by the domain (one definition)."""
    position = StockPosition(sku=row["sku"], warehouse=row["warehouse"], **{c: row[c] for c in COUNTERS})
    return {
        "sku": row["sku"],
        "sku_name": row.get("sku_name"),
        "warehouse": row["warehouse"],
        **{c: row[c] for c in COUNTERS},
        "presale_quota_left": position.presale_quota_left,
        "available_to_sell": position.available_to_sell,
        "available_to_ship": position.available_to_ship,
        "shortage": position.shortage,
        "is_low": position.is_low,
        "updated_at": row["updated_at"],
    }


def list_positions(
    db: Database, *, sku: str | None, warehouse: str | None, low_stock: bool, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    with db.uow(write=False) as uow:
        rows, total = stock_queries.positions(
            uow.conn, sku=sku, warehouse=warehouse, low_stock=low_stock, limit=limit, offset=offset
        )
    return [position_view(r) for r in rows], total


def position_detail(db: Database, *, sku: str, warehouse: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        lookups.sku_ids(uow.conn, [sku])
        lookups.warehouse_ids(uow.conn, [warehouse])
        rows, _ = stock_queries.positions(uow.conn, sku=sku, warehouse=warehouse, low_stock=False, limit=1, offset=0)
        bins = stock_queries.bin_balances(uow.conn, sku=sku, warehouse=warehouse)
    if rows:
        view = position_view(rows[0])
    else:
        view = position_view({"sku": sku, "warehouse": warehouse, **dict.fromkeys(COUNTERS, 0), "updated_at": None})
    view["bins"] = bins
    return view


def set_low_stock_threshold(
    db: Database, actor: Actor, *, sku: str, warehouse: str, threshold: int, now: datetime
) -> dict[str, Any]:
    if threshold < 0:
        raise InvalidRequest("The low-stock threshold cannot be negative.")
    with db.uow() as uow:
        conn = uow.conn
        sku_ids = lookups.sku_ids(conn, [sku])
        warehouse_ids = lookups.warehouse_ids(conn, [warehouse])
        locked = stock_repo.lock_positions(
            conn, [(sku, warehouse)], sku_ids, warehouse_ids, create_missing=True, now=now
        )
        locked.book.position(sku, warehouse).low_stock_threshold = threshold
        stock_repo.save(conn, locked, {}, now)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="position.threshold",
            entity="position",
            entity_id=f"{sku}@{warehouse}",
            at=now,
            details={"threshold": threshold},
        )
        uow.commit()
    return position_detail(db, sku=sku, warehouse=warehouse)


def list_movements(db: Database, **filters: Any) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return stock_queries.movement_lines(uow.conn, **filters)


def list_reservations(db: Database, **filters: Any) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return stock_queries.reservation_page(uow.conn, **filters)


def audit_trail(db: Database, **filters: Any) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return audit_repo.page(uow.conn, **filters)
