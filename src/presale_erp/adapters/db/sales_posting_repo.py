"""sales_postings (收入成本明细): insert-only rows of revenue and cost per order line, and the reads that decide
the next posting (units already shipped, the cost booked when goods left)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, func, select, tuple_
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import sales_postings
from presale_erp.adapters.db.upsert import insert_ignoring_existing

CHUNK = 500


def insert_new(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[str]:
    """Insert postings whose key is new; returns the keys written now (a retry writes none)."""
    taken = existing_keys(conn, [r["posting_key"] for r in rows])
    fresh = [r for r in rows if r["posting_key"] not in taken]
    insert_ignoring_existing(conn, sales_postings, fresh)
    return [r["posting_key"] for r in fresh]


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found |= set(
            conn.execute(select(sales_postings.c.posting_key).where(sales_postings.c.posting_key.in_(chunk))).scalars()
        )
    return found


def units_by_kind(conn: Connection, lines: Iterable[tuple[int, int]], kind: str) -> dict[tuple[int, int], int]:
    """(order id, line no) -> units of postings of `kind` (shipment: units shipped so far)."""
    wanted = sorted(set(lines))
    if not wanted:
        return {}
    totals: dict[tuple[int, int], int] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        rows = conn.execute(
            select(sales_postings.c.order_id, sales_postings.c.line_no, func.sum(sales_postings.c.quantity))
            .where(
                sales_postings.c.kind == kind,
                tuple_(sales_postings.c.order_id, sales_postings.c.line_no).in_(chunk),
            )
            .group_by(sales_postings.c.order_id, sales_postings.c.line_no)
        ).all()
        totals |= {(o, n): int(units) for o, n, units in rows}
    return totals


def of_order(conn: Connection, order_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(sales_postings).where(sales_postings.c.order_id == order_id).order_by(sales_postings.c.id)
    ).mappings()
    return [dict(r) for r in rows]


def shipment_costs(conn: Connection, order_id: int, line_no: int) -> list[tuple[int, Decimal, int]]:
    """The shipments of one order line, oldest first: (units, unit cost booked, warehouse id)."""
    rows = conn.execute(
        select(sales_postings.c.quantity, sales_postings.c.unit_cost, sales_postings.c.warehouse_id)
        .where(
            and_(
                sales_postings.c.order_id == order_id,
                sales_postings.c.line_no == line_no,
                sales_postings.c.kind == "shipment",
            )
        )
        .order_by(sales_postings.c.id)
    ).all()
    return [(q, Decimal(cost), wh) for q, cost, wh in rows]
