"""Purchase orders on disk: headers, lines, their history, shipping notices, risk flags, and the facts the risk
check and the reliability score read (presale orders waiting on stock, other suppliers' terms, deliveries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, func, select, tuple_, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import (
    asn_lines,
    asns,
    order_lines,
    orders,
    purchase_order_events,
    purchase_order_lines,
    purchase_order_risks,
    purchase_orders,
    receipt_lines,
    receipts,
    reservations,
    shops,
    skus,
    stock_positions,
    supplier_skus,
    suppliers,
    warehouses,
)
from presale_erp.adapters.db.upsert import upsert
from presale_erp.domain.errors import NotFound

_HEADER = (
    purchase_orders.c.id,
    purchase_orders.c.code,
    purchase_orders.c.status,
    purchase_orders.c.note,
    purchase_orders.c.supplier_id,
    purchase_orders.c.warehouse_id,
    purchase_orders.c.created_at,
    purchase_orders.c.created_by,
    suppliers.c.code.label("supplier"),
    suppliers.c.name.label("supplier_name"),
    warehouses.c.code.label("warehouse"),
)


def _headers():
    return (
        select(*_HEADER)
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .join(warehouses, warehouses.c.id == purchase_orders.c.warehouse_id)
    )


def header(conn: Connection, code: str, *, lock: bool = False) -> dict[str, Any]:
    query = _headers().where(purchase_orders.c.code == code)
    if lock:
        query = query.with_for_update(of=purchase_orders)
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFound(f"No purchase order {code}.")
    return dict(row)


def header_by_id(conn: Connection, po_id: int) -> dict[str, Any]:
    return dict(conn.execute(_headers().where(purchase_orders.c.id == po_id)).mappings().one())


def headers(conn: Connection, *, supplier_id: int | None = None, statuses: Sequence[str] = ()) -> list[dict[str, Any]]:
    query = _headers().order_by(purchase_orders.c.id.desc())
    if supplier_id is not None:
        query = query.where(purchase_orders.c.supplier_id == supplier_id)
    if statuses:
        query = query.where(purchase_orders.c.status.in_(list(statuses)))
    return [dict(r) for r in conn.execute(query).mappings()]


def lines(conn: Connection, po_ids: Sequence[int]) -> list[dict[str, Any]]:
    if not po_ids:
        return []
    query = (
        select(purchase_order_lines, skus.c.code.label("sku"))
        .join(skus, skus.c.id == purchase_order_lines.c.sku_id)
        .where(purchase_order_lines.c.purchase_order_id.in_(list(po_ids)))
        .order_by(purchase_order_lines.c.purchase_order_id, purchase_order_lines.c.line_no)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def insert(conn: Connection, row: dict[str, Any], line_rows: Sequence[dict[str, Any]], code_day: date) -> dict:
    """A new purchase order; its code is PO<day>-<id>, readable and unique because the id is."""
    provisional = f"PO-NEW-{row['created_at']:%Y%m%d%H%M%S%f}-{row['supplier_id']}-{row['warehouse_id']}"
    po_id = conn.execute(
        purchase_orders.insert().values(**row, code=provisional).returning(purchase_orders.c.id)
    ).scalar_one()
    code = f"PO{code_day:%Y%m%d}-{po_id:05d}"
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(code=code))
    conn.execute(
        purchase_order_lines.insert(),
        [{**line, "purchase_order_id": po_id, "received_quantity": 0} for line in line_rows],
    )
    return {"id": po_id, "code": code}


def set_status(conn: Connection, po_id: int, status: str) -> None:
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(status=status))


def set_promised(conn: Connection, po_id: int, promised: dict[int, date]) -> None:
    for line_no, day in promised.items():
        conn.execute(
            update(purchase_order_lines)
            .where(purchase_order_lines.c.purchase_order_id == po_id, purchase_order_lines.c.line_no == line_no)
            .values(promised_on=day)
        )


def add_received(conn: Connection, po_id: int, received: dict[int, int]) -> None:
    for line_no, quantity in received.items():
        conn.execute(
            update(purchase_order_lines)
            .where(purchase_order_lines.c.purchase_order_id == po_id, purchase_order_lines.c.line_no == line_no)
            .values(received_quantity=purchase_order_lines.c.received_quantity + quantity)
        )


def add_events(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(purchase_order_events.insert(), list(rows))


def events(conn: Connection, po_ids: Sequence[int]) -> list[dict[str, Any]]:
    if not po_ids:
        return []
    query = (
        select(purchase_order_events)
        .where(purchase_order_events.c.purchase_order_id.in_(list(po_ids)))
        .order_by(purchase_order_events.c.purchase_order_id, purchase_order_events.c.id)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def insert_asn(conn: Connection, row: dict[str, Any], line_rows: Sequence[dict[str, Any]]) -> int:
    asn_id = conn.execute(asns.insert().values(**row).returning(asns.c.id)).scalar_one()
    conn.execute(asn_lines.insert(), [{**line, "asn_id": asn_id} for line in line_rows])
    return asn_id


def asn_code_taken(conn: Connection, code: str) -> bool:
    return conn.execute(select(asns.c.id).where(asns.c.code == code)).first() is not None


def asn_rows(conn: Connection, po_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Each shipping notice line: (purchase order, line) with the notice's code, expected date and quantity."""
    if not po_ids:
        return []
    query = (
        select(
            asns.c.purchase_order_id,
            asns.c.code,
            asns.c.shipped_at,
            asns.c.expected_on,
            asns.c.carrier,
            asns.c.tracking_no,
            asns.c.status,
            asn_lines.c.line_no,
            asn_lines.c.quantity,
        )
        .join(asn_lines, asn_lines.c.asn_id == asns.c.id)
        .where(asns.c.purchase_order_id.in_(list(po_ids)))
        .order_by(asns.c.id, asn_lines.c.line_no)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def save_risks(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        upsert(conn, purchase_order_risks, rows, ["purchase_order_id", "line_no"], ["status", "reason", "checked_at"])


def risks(conn: Connection, po_ids: Sequence[int]) -> list[dict[str, Any]]:
    if not po_ids:
        return []
    query = select(purchase_order_risks).where(purchase_order_risks.c.purchase_order_id.in_(list(po_ids)))
    return [dict(r) for r in conn.execute(query.order_by(purchase_order_risks.c.line_no)).mappings()]


# --- What the risk check reads ------------------------------------------------------------------------------------


def bookings(conn: Connection, keys: set[tuple[int, int]]) -> list[dict[str, Any]]:
    """Pending presale locks (预订单量) per order on (sku_id, warehouse_id), with the order's presale line revenue."""
    if not keys:
        return []
    r = reservations.c
    held = (
        select(
            r.sku_id,
            r.warehouse_id,
            orders.c.id.label("order_id"),
            shops.c.code.label("shop"),
            orders.c.platform_order_id,
            orders.c.paid_at,
            func.sum(r.quantity).label("quantity"),
        )
        .join(orders, and_(orders.c.shop_id == r.shop_id, orders.c.platform_order_id == r.order_ref))
        .join(shops, shops.c.id == orders.c.shop_id)
        .where(
            r.status == "pending",
            r.stage == "presale_booked",
            tuple_(r.sku_id, r.warehouse_id).in_(sorted(keys)),
        )
        .group_by(r.sku_id, r.warehouse_id, orders.c.id, shops.c.code, orders.c.platform_order_id, orders.c.paid_at)
    )
    rows = [dict(row) for row in conn.execute(held).mappings()]
    revenue = _presale_revenue(conn, sorted({row["order_id"] for row in rows}))
    return [{**row, "revenue": revenue.get((row["order_id"], row["sku_id"]), 0)} for row in rows]


def _presale_revenue(conn: Connection, order_ids: list[int]) -> dict[tuple[int, int], Any]:
    if not order_ids:
        return {}
    query = (
        select(order_lines.c.order_id, order_lines.c.sku_id, func.sum(order_lines.c.paid_amount))
        .where(
            order_lines.c.order_id.in_(order_ids),
            order_lines.c.presale.is_(True),
            order_lines.c.refunded.is_(False),
        )
        .group_by(order_lines.c.order_id, order_lines.c.sku_id)
    )
    return {(order_id, sku_id): amount for order_id, sku_id, amount in conn.execute(query)}


def free_on_hand(conn: Connection, keys: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """Units on the shelf not held for anything but presale bookings: what can serve booked orders today."""
    if not keys:
        return {}
    p = stock_positions.c
    query = select(p.sku_id, p.warehouse_id, p.on_hand - (p.reserved - p.presale_booked)).where(
        tuple_(p.sku_id, p.warehouse_id).in_(sorted(keys))
    )
    return {(sku_id, warehouse_id): int(free) for sku_id, warehouse_id, free in conn.execute(query)}


def terms_of(conn: Connection, sku_ids: Sequence[int]) -> list[dict[str, Any]]:
    if not sku_ids:
        return []
    query = (
        select(
            supplier_skus.c.sku_id,
            suppliers.c.id.label("supplier_id"),
            suppliers.c.code.label("supplier"),
            suppliers.c.name,
            supplier_skus.c.unit_cost,
            supplier_skus.c.min_order,
            supplier_skus.c.lead_time_days,
        )
        .join(suppliers, suppliers.c.id == supplier_skus.c.supplier_id)
        .where(supplier_skus.c.sku_id.in_(list(sku_ids)))
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def supplier_by_code(conn: Connection, code: str) -> dict[str, Any]:
    row = conn.execute(select(suppliers).where(suppliers.c.code == code)).mappings().first()
    if row is None:
        raise NotFound(f"No supplier with code {code}.")
    return dict(row)


def delivered_lines(conn: Connection, supplier_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Lines of a supplier's orders that goods arrived on or that were closed: with the day the order was sent
    and the last receipt's time (null when nothing came)."""
    if not supplier_ids:
        return []
    sent = (
        select(purchase_order_events.c.purchase_order_id, func.min(purchase_order_events.c.at).label("sent_at"))
        .where(purchase_order_events.c.kind == "sent")
        .group_by(purchase_order_events.c.purchase_order_id)
        .subquery()
    )
    last_receipt = (
        select(
            receipts.c.purchase_order_id,
            receipt_lines.c.line_no,
            func.max(receipts.c.received_at).label("received_at"),
        )
        .join(receipt_lines, receipt_lines.c.receipt_id == receipts.c.id)
        .group_by(receipts.c.purchase_order_id, receipt_lines.c.line_no)
        .subquery()
    )
    pol = purchase_order_lines.c
    query = (
        select(
            purchase_orders.c.supplier_id,
            purchase_orders.c.status,
            pol.quantity,
            pol.received_quantity,
            pol.promised_on,
            sent.c.sent_at,
            last_receipt.c.received_at,
        )
        .join(purchase_orders, purchase_orders.c.id == pol.purchase_order_id)
        .join(sent, sent.c.purchase_order_id == purchase_orders.c.id)
        .outerjoin(
            last_receipt,
            and_(last_receipt.c.purchase_order_id == purchase_orders.c.id, last_receipt.c.line_no == pol.line_no),
        )
        .where(
            purchase_orders.c.supplier_id.in_(list(supplier_ids)),
            purchase_orders.c.status.in_(["partly_received", "received", "closed"]),
            pol.promised_on.is_not(None),
        )
    )
    return [dict(r) for r in conn.execute(query).mappings()]
