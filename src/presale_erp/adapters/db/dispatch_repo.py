"""Reads and writes of shipment confirmation (发货确认): parcels by code or tracking number, the sellable bins
that hold their goods, what each order line paid, the moving average costs, and the orders' new status."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import (
    aftersales_cases,
    bin_stock,
    bins,
    movement_requests,
    order_lines,
    orders,
    parcel_lines,
    parcels,
    reservations,
    skus,
    stock_costs,
    warehouses,
)
from presale_erp.domain.costing import round_cost
from presale_erp.domain.dispatch import BinStock


def codes_of_tracking(conn: Connection, tracking_numbers: Sequence[str]) -> dict[str, str]:
    """tracking number -> parcel code (a cancelled parcel's number is ignored: it never left)."""
    if not tracking_numbers:
        return {}
    rows = conn.execute(
        select(parcels.c.tracking_no, parcels.c.code).where(
            parcels.c.tracking_no.in_(sorted(set(tracking_numbers))), parcels.c.status != "cancelled"
        )
    ).all()
    return {tracking: code for tracking, code in rows}


def warehouse_codes(conn: Connection, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(conn.execute(select(warehouses.c.id, warehouses.c.code).where(warehouses.c.id.in_(wanted))).all())


def sellable_bins(conn: Connection, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], list[BinStock]]:
    """(sku id, warehouse id) -> the sellable bins holding it, with their units."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    rows = conn.execute(
        select(bin_stock.c.sku_id, bin_stock.c.warehouse_id, bins.c.code, bin_stock.c.on_hand)
        .join(bins, bins.c.id == bin_stock.c.bin_id)
        .where(
            tuple_(bin_stock.c.sku_id, bin_stock.c.warehouse_id).in_(wanted),
            bins.c.sellable.is_(True),
            bin_stock.c.on_hand > 0,
        )
        .order_by(bins.c.code)
    ).all()
    found: dict[tuple[int, int], list[BinStock]] = {}
    for sku_id, warehouse_id, code, on_hand in rows:
        found.setdefault((sku_id, warehouse_id), []).append(BinStock(code, on_hand))
    return found


def line_facts(conn: Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], dict[str, Any]]:
    """(order id, line no) -> quantity, paid_amount, refunded, sku_id of the order line."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        select(order_lines).where(tuple_(order_lines.c.order_id, order_lines.c.line_no).in_(wanted))
    ).mappings()
    return {(r["order_id"], r["line_no"]): dict(r) for r in rows}


def average_costs(conn: Connection, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Decimal]:
    """(sku id, warehouse id) -> the moving average cost, else the catalogue cost (as stock valuation uses);
    pairs with neither are left out."""
    wanted = sorted(set(pairs))
    if not wanted:
        return {}
    averages = dict(
        ((s, w), round_cost(Decimal(c)))
        for s, w, c in conn.execute(
            select(stock_costs.c.sku_id, stock_costs.c.warehouse_id, stock_costs.c.average_cost).where(
                tuple_(stock_costs.c.sku_id, stock_costs.c.warehouse_id).in_(wanted)
            )
        ).all()
    )
    catalogue = dict(
        conn.execute(
            select(skus.c.id, skus.c.unit_cost).where(
                skus.c.id.in_(sorted({s for s, _ in wanted})), skus.c.unit_cost.is_not(None)
            )
        ).all()
    )
    return {(s, w): averages.get((s, w), catalogue.get(s)) for s, w in wanted if (s, w) in averages or s in catalogue}


def orders_with_lines(conn: Connection, order_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """order id -> fulfilment status, shop id, and {line no: quantity} of its lines that are not refunded."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return {}
    found = {
        r["id"]: {"fulfilment_status": r["fulfilment_status"], "shop_id": r["shop_id"], "lines": {}}
        for r in conn.execute(
            select(orders.c.id, orders.c.fulfilment_status, orders.c.shop_id)
            .where(orders.c.id.in_(wanted))
            .with_for_update()
        ).mappings()
    }
    for order_id, line_no, quantity in conn.execute(
        select(order_lines.c.order_id, order_lines.c.line_no, order_lines.c.quantity).where(
            and_(order_lines.c.order_id.in_(wanted), order_lines.c.refunded.is_(False))
        )
    ).all():
        found[order_id]["lines"][line_no] = quantity
    return found


def mark_orders_shipped(conn: Connection, order_ids: list[int]) -> None:
    """Fulfilment's own status (the platform's status is intake's to write)."""
    if order_ids:
        conn.execute(update(orders).where(orders.c.id.in_(sorted(order_ids))).values(fulfilment_status="shipped"))


def orders_with_open_refunds(conn: Connection, order_ids: Iterable[int]) -> set[int]:
    """Orders with a whole-order refund case still open (售后中): their parcels must not leave."""
    wanted = sorted(set(order_ids))
    if not wanted:
        return set()
    return set(
        conn.execute(
            select(aftersales_cases.c.order_id).where(
                aftersales_cases.c.order_id.in_(wanted),
                aftersales_cases.c.before_shipment.is_(True),
                aftersales_cases.c.state.in_(("requested", "approved")),
            )
        ).scalars()
    )


def parcels_sharing(conn: Connection, reservation_ids: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """reservation id -> every line of a parcel (not cancelled) that ships from it: a line split over parcels by
    weight shares its order line's reservation."""
    wanted = sorted(set(reservation_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(
            parcel_lines.c.reservation_id,
            parcel_lines.c.parcel_code,
            parcel_lines.c.order_id,
            parcel_lines.c.line_no,
            parcel_lines.c.quantity,
            parcels.c.status,
        )
        .join(parcels, parcels.c.code == parcel_lines.c.parcel_code)
        .where(parcel_lines.c.reservation_id.in_(wanted), parcels.c.status != "cancelled")
        .order_by(parcel_lines.c.parcel_code, parcel_lines.c.order_id, parcel_lines.c.line_no)
    ).mappings()
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        found.setdefault(row["reservation_id"], []).append(dict(row))
    return found


def reservation_quantities(conn: Connection, ids: Iterable[str]) -> dict[str, int]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(reservations.c.id, reservations.c.quantity).where(reservations.c.id.in_(wanted))
    return {rid: quantity for rid, quantity in conn.execute(query).all()}


def posted_bins(conn: Connection, movement_ids: Iterable[str]) -> dict[str, str]:
    """movement id -> the bin a movement already posted under that id took its goods from (a retry reuses it)."""
    wanted = sorted(set(movement_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(movement_requests.c.id, movement_requests.c.payload).where(movement_requests.c.id.in_(wanted))
    ).all()
    return {movement_id: payload.get("bin") for movement_id, payload in rows}
