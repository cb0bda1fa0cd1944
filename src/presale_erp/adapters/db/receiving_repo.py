"""Rows of receiving: the purchase order being received, its ASN, receipts with their lines and landed costs."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import (
    asn_lines,
    asns,
    bins,
    landed_costs,
    movements,
    purchase_order_events,
    purchase_order_lines,
    purchase_orders,
    receipt_lines,
    receipts,
    skus,
    stock_costs,
    suppliers,
    warehouses,
)
from presale_erp.domain.costing import round_cost
from presale_erp.domain.errors import NotFound


def lock_purchase_order(conn: Connection, code: str) -> dict[str, Any]:
    """The order row, locked: receipts of one order queue behind each other, so no received quantity is lost."""
    row = (
        conn.execute(
            select(purchase_orders, warehouses.c.code.label("warehouse"), suppliers.c.code.label("supplier"))
            .join(warehouses, warehouses.c.id == purchase_orders.c.warehouse_id)
            .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
            .where(purchase_orders.c.code == code)
            .with_for_update(of=purchase_orders)
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"No purchase order {code}.")
    return dict(row)


def order_lines(conn: Connection, po_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(purchase_order_lines, skus.c.code.label("sku"), skus.c.weight_grams, skus.c.unit_cost.label("sku_cost"))
        .join(skus, skus.c.id == purchase_order_lines.c.sku_id)
        .where(purchase_order_lines.c.purchase_order_id == po_id)
        .order_by(purchase_order_lines.c.line_no)
    ).mappings()
    return [dict(r) for r in rows]


def asn_of(conn: Connection, code: str) -> tuple[dict[str, Any], dict[int, int]]:
    """The ASN row and what it announced per order line."""
    row = conn.execute(select(asns).where(asns.c.code == code).with_for_update()).mappings().first()
    if row is None:
        raise NotFound(f"No ASN {code}.")
    lines = conn.execute(select(asn_lines.c.line_no, asn_lines.c.quantity).where(asn_lines.c.asn_id == row["id"]))
    return dict(row), {line_no: quantity for line_no, quantity in lines}


def mark_asn_received(conn: Connection, asn_id: int) -> None:
    conn.execute(update(asns).where(asns.c.id == asn_id).values(status="received"))


def non_sellable_bins(conn: Connection, warehouse_id: int) -> list[str]:
    """The warehouse's non-sellable (残次品区) bin codes, in code order: the first takes damaged units by default."""
    rows = conn.execute(
        select(bins.c.code).where(bins.c.warehouse_id == warehouse_id, bins.c.sellable.is_(False)).order_by(bins.c.code)
    ).scalars()
    return list(rows)


def receipt_count(conn: Connection, po_id: int) -> int:
    return int(conn.execute(select(func.count()).where(receipts.c.purchase_order_id == po_id)).scalar_one())


def insert_receipt(
    conn: Connection, header: dict[str, Any], lines: Sequence[dict[str, Any]], costs: Sequence[dict[str, Any]]
) -> int:
    receipt_id = conn.execute(receipts.insert().values(**header).returning(receipts.c.id)).scalar_one()
    conn.execute(receipt_lines.insert(), [{**line, "receipt_id": receipt_id} for line in lines])
    if costs:
        conn.execute(landed_costs.insert(), [{**cost, "receipt_id": receipt_id} for cost in costs])
    return receipt_id


def save_received(conn: Connection, po_id: int, received: dict[int, int], status: str) -> None:
    conn.execute(
        update(purchase_order_lines)
        .where(
            and_(
                purchase_order_lines.c.purchase_order_id == po_id,
                purchase_order_lines.c.line_no == bindparam("k_line"),
            )
        )
        .values(received_quantity=bindparam("v_received")),
        [{"k_line": line_no, "v_received": qty} for line_no, qty in sorted(received.items())],
    )
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(status=status))


def add_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(purchase_order_events.insert(), list(rows))


def receipt(conn: Connection, code: str) -> dict[str, Any] | None:
    header = (
        conn.execute(
            select(
                receipts,
                purchase_orders.c.code.label("purchase_order"),
                warehouses.c.code.label("warehouse"),
                asns.c.code.label("asn"),
            )
            .join(purchase_orders, purchase_orders.c.id == receipts.c.purchase_order_id)
            .join(warehouses, warehouses.c.id == receipts.c.warehouse_id)
            .outerjoin(asns, asns.c.id == receipts.c.asn_id)
            .where(receipts.c.code == code)
        )
        .mappings()
        .first()
    )
    if header is None:
        return None
    lines = conn.execute(
        select(
            receipt_lines.c.line_no,
            skus.c.code.label("sku"),
            receipt_lines.c.accepted,
            receipt_lines.c.damaged,
            bins.c.code.label("bin"),
            receipt_lines.c.unit_cost,
            receipt_lines.c.landed_cost,
        )
        .join(skus, skus.c.id == receipt_lines.c.sku_id)
        .outerjoin(bins, bins.c.id == receipt_lines.c.bin_id)
        .where(receipt_lines.c.receipt_id == header["id"])
        .order_by(receipt_lines.c.line_no)
    ).mappings()
    lines = [dict(r) for r in lines]
    costs = conn.execute(
        select(landed_costs.c.kind, landed_costs.c.amount, landed_costs.c.basis)
        .where(landed_costs.c.receipt_id == header["id"])
        .order_by(landed_costs.c.id)
    ).mappings()
    return {
        **dict(header),
        "lines": lines,
        "landed_costs": [dict(r) for r in costs],
        "damaged_bin": _damaged_bin(conn, code, [x["line_no"] for x in lines if x["damaged"]]),
    }


def _damaged_bin(conn: Connection, code: str, line_nos: list[int]) -> str | None:
    """Where the receipt's damaged units went: the bin of its damaged-unit movements (one per damaged line)."""
    if not line_nos:
        return None
    found = conn.execute(
        select(bins.c.code)
        .join(movements, movements.c.bin_id == bins.c.id)
        .where(movements.c.request_id.in_([f"receipt:{code}:{n}:damaged" for n in line_nos]))
        .limit(1)
    ).scalar()
    return found


def accepted_before(conn: Connection, po_id: int, receipt_id: int) -> dict[int, int]:
    """Units accepted per order line by the order's receipts booked before `receipt_id`."""
    rows = conn.execute(
        select(receipt_lines.c.line_no, func.sum(receipt_lines.c.accepted))
        .join(receipts, receipts.c.id == receipt_lines.c.receipt_id)
        .where(receipts.c.purchase_order_id == po_id, receipts.c.id < receipt_id)
        .group_by(receipt_lines.c.line_no)
    ).all()
    return {line_no: int(units) for line_no, units in rows}


def average_costs(conn: Connection, warehouse_id: int, sku_ids: Sequence[int]) -> dict[int, Decimal]:
    """The moving average per SKU id in the warehouse, where one is kept."""
    if not sku_ids:
        return {}
    rows = conn.execute(
        select(stock_costs.c.sku_id, stock_costs.c.average_cost).where(
            stock_costs.c.warehouse_id == warehouse_id, stock_costs.c.sku_id.in_(sorted(set(sku_ids)))
        )
    ).all()
    return {sku_id: round_cost(Decimal(cost)) for sku_id, cost in rows}
