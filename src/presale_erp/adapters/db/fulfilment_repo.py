"""Fulfilment rows: shop policies, coverage, pins, gift and carrier rules, rates, the approved orders waiting
for parcels, and the parcels themselves. Read and written per batch, one statement per kind of row."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, exists, func, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import (
    carrier_rules,
    gift_rules,
    order_lines,
    orders,
    parcel_lines,
    parcels,
    reservations,
    shipping_rates,
    shop_fulfilment,
    shops,
    sku_warehouse_pins,
    skus,
    warehouse_coverage,
    warehouses,
)
from presale_erp.adapters.db.upsert import upsert

CHUNK = 1000
OPEN = "allocated"  # a parcel nobody has started picking: split, merge and cancel may still change it


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def policies(conn: Connection, shop_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    wanted = sorted(set(shop_ids))
    if not wanted:
        return {}
    rows = conn.execute(select(shop_fulfilment).where(shop_fulfilment.c.shop_id.in_(wanted))).mappings()
    return {row["shop_id"]: dict(row) for row in rows}


def save_policy(conn: Connection, row: dict[str, Any]) -> None:
    upsert(conn, shop_fulfilment, [row], key=["shop_id"], update=[c for c in row if c != "shop_id"])


def candidates(
    conn: Connection, *, after_id: int, limit: int, shop_id: int | None = None, up_to: int | None = None
) -> list[dict[str, Any]]:
    """Approved, paid orders with no parcels yet (or waiting to try again), row-locked, in id order after
    `after_id` (and up to `up_to`, if given). SKIP LOCKED lets many workers take disjoint batches instead of
    queueing on the same rows."""
    query = (
        select(
            orders.c.id,
            orders.c.shop_id,
            orders.c.platform_order_id,
            orders.c.province,
            orders.c.buyer_index,
            orders.c.address_index,
            orders.c.paid_at,
            orders.c.platform_created_at,
            orders.c.presale_type,
            orders.c.total_amount,
            orders.c.priority,
            orders.c.cash_on_delivery,
            orders.c.separate_parcels,
            orders.c.allocation_round,
            orders.c.preorder_status,
        )
        .where(*_waiting_for_allocation(after_id, shop_id, up_to))
        .order_by(orders.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def batch_end(conn: Connection, *, after_id: int, limit: int, shop_id: int | None = None) -> int | None:
    """The id of the last of the next `limit` candidates after `after_id` (None: there are none), read from the
    index alone: a batch bounded by it stays the same batch when orders after it become candidates."""
    first = (
        select(orders.c.id)
        .where(*_waiting_for_allocation(after_id, shop_id, None))
        .order_by(orders.c.id)
        .limit(limit)
        .subquery()
    )
    return conn.execute(select(func.max(first.c.id))).scalar_one()


def _waiting_for_allocation(after_id: int, shop_id: int | None, up_to: int | None) -> list[Any]:
    conditions = [
        orders.c.fulfilment_status.in_(("pending", "waiting", "partial")),
        orders.c.review_status == "approved",
        orders.c.status == "paid",
        # a waiting 预订单 with in-stock lines may ship those now (现货先发), if its shop says so
        or_(orders.c.preorder_status != "waiting", orders.c.mixed_presale.is_(True)),
        orders.c.refund_requested.is_(False),
        orders.c.id > after_id,
    ]
    if shop_id is not None:
        conditions.append(orders.c.shop_id == shop_id)
    if up_to is not None:
        conditions.append(orders.c.id <= up_to)
    return conditions


def lines_of(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Lines still to ship, with the SKU's code, weight and volume (sku_id None: the code matched no SKU)."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in order_ids}
    for chunk in _chunks(list(order_ids)):
        rows = conn.execute(
            select(
                order_lines.c.order_id,
                order_lines.c.line_no,
                order_lines.c.sku_id,
                order_lines.c.sku_code,
                order_lines.c.quantity,
                order_lines.c.presale,
                order_lines.c.planned_ship_at,
                skus.c.code.label("sku"),
                skus.c.weight_grams,
                skus.c.volume_cm3,
            )
            .select_from(order_lines.outerjoin(skus, skus.c.id == order_lines.c.sku_id))
            .where(
                bulk.among(conn, order_lines.c.order_id, list(chunk)),
                # the range lets the planner see how few rows these are: it reads them by index, not the table
                order_lines.c.order_id.between(min(chunk), max(chunk)),
                order_lines.c.refunded.is_(False),
                ~exists().where(  # already in a parcel (the in-stock part of an order that shipped first)
                    # said twice so the planner reads the batch's parcel lines by index, not all of them
                    bulk.among(conn, parcel_lines.c.order_id, list(chunk)),
                    parcel_lines.c.order_id == order_lines.c.order_id,
                    parcel_lines.c.line_no == order_lines.c.line_no,
                    parcels.c.code == parcel_lines.c.parcel_code,
                    parcels.c.status != "cancelled",
                ),
            )
            .order_by(order_lines.c.order_id, order_lines.c.line_no)
        ).mappings()
        for row in rows:
            found[row["order_id"]].append(dict(row))
    return found


def pending_reservations(conn: Connection, refs: Sequence[tuple[int, str]]) -> list[dict[str, Any]]:
    """What the orders already hold (their intake lock, or an earlier allocation), by (shop id, order ref)."""
    found: list[dict[str, Any]] = []
    for shop_id, chunk in _by_shop(refs):  # shop = ? AND ref = ANY(...) uses the index; row-value IN lists do not
        rows = conn.execute(
            select(reservations).where(
                reservations.c.shop_id == shop_id,
                bulk.among(conn, reservations.c.order_ref, chunk),
                reservations.c.status == "pending",
            )
        ).mappings()
        found += [dict(r) for r in rows]
    return found


def _by_shop(pairs: Iterable[tuple[int, str]]) -> Iterable[tuple[int, list[str]]]:
    grouped: dict[int, set[str]] = {}
    for shop_id, value in pairs:
        grouped.setdefault(shop_id, set()).add(value)
    for shop_id, values in sorted(grouped.items()):
        for chunk in _chunks(sorted(values)):
            yield shop_id, list(chunk)


def active_warehouses(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(warehouses.c.id, warehouses.c.code, warehouses.c.kind).where(warehouses.c.active.is_(True))
    ).mappings()
    found = [dict(r) | {"covers": {}} for r in rows]
    by_id = {w["id"]: w for w in found}
    for warehouse_id, province, rank in conn.execute(select(warehouse_coverage)):
        if warehouse_id in by_id:
            by_id[warehouse_id]["covers"][province] = rank
    return found


def coverage(conn: Connection, warehouse_id: int) -> dict[str, int]:
    rows = conn.execute(
        select(warehouse_coverage.c.province, warehouse_coverage.c.rank).where(
            warehouse_coverage.c.warehouse_id == warehouse_id
        )
    )
    return dict(rows.all())


def replace_coverage(conn: Connection, warehouse_id: int, ranks: dict[str, int]) -> None:
    conn.execute(delete(warehouse_coverage).where(warehouse_coverage.c.warehouse_id == warehouse_id))
    if ranks:
        conn.execute(
            warehouse_coverage.insert(),
            [{"warehouse_id": warehouse_id, "province": p, "rank": r} for p, r in sorted(ranks.items())],
        )


def pins(conn: Connection, shop_ids: Iterable[int]) -> dict[int, dict[int, set[int]]]:
    """shop id -> sku id -> pinned warehouse ids."""
    found: dict[int, dict[int, set[int]]] = {}
    rows = conn.execute(select(sku_warehouse_pins).where(sku_warehouse_pins.c.shop_id.in_(sorted(set(shop_ids)))))
    for shop_id, sku_id, warehouse_id in rows:
        found.setdefault(shop_id, {}).setdefault(sku_id, set()).add(warehouse_id)
    return found


def replace_pins(conn: Connection, shop_id: int, sku_id: int, warehouse_ids: set[int]) -> None:
    conn.execute(
        delete(sku_warehouse_pins).where(sku_warehouse_pins.c.shop_id == shop_id, sku_warehouse_pins.c.sku_id == sku_id)
    )
    if warehouse_ids:
        conn.execute(
            sku_warehouse_pins.insert(),
            [{"shop_id": shop_id, "sku_id": sku_id, "warehouse_id": w} for w in sorted(warehouse_ids)],
        )


def rates(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(shipping_rates).order_by(shipping_rates.c.id)).mappings()]


def find_rate(conn: Connection, carrier: str, warehouse_id: int | None, province: str | None) -> int | None:
    """Id of the rate for exactly this carrier, warehouse and province (NULL compared as NULL)."""
    c = shipping_rates.c
    condition = and_(
        c.carrier == carrier,
        c.warehouse_id.is_(None) if warehouse_id is None else c.warehouse_id == warehouse_id,
        c.province.is_(None) if province is None else c.province == province,
    )
    return conn.execute(select(shipping_rates.c.id).where(condition)).scalar()


def update_rate(conn: Connection, rate_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(shipping_rates).where(shipping_rates.c.id == rate_id).values(**values))


def insert_rate(conn: Connection, row: dict[str, Any]) -> None:
    conn.execute(shipping_rates.insert(), [row])


def carrier_rules_of(conn: Connection, shop_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    rows = conn.execute(
        select(carrier_rules)
        .where(carrier_rules.c.shop_id.in_(sorted(set(shop_ids))))
        .order_by(carrier_rules.c.priority, carrier_rules.c.id)
    ).mappings()
    for row in rows:
        found.setdefault(row["shop_id"], []).append(dict(row))
    return found


def add_carrier_rule(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(carrier_rules.insert().returning(carrier_rules.c.id), [row]).scalar_one()


def remove_carrier_rule(conn: Connection, rule_id: int) -> int:
    return conn.execute(delete(carrier_rules).where(carrier_rules.c.id == rule_id)).rowcount


def gift_rules_of(conn: Connection, shop_ids: Iterable[int], *, active_only: bool = True) -> list[dict[str, Any]]:
    query = select(gift_rules).where(gift_rules.c.shop_id.in_(sorted(set(shop_ids)))).order_by(gift_rules.c.id)
    if active_only:
        query = query.where(gift_rules.c.enabled.is_(True))
    return [dict(r) for r in conn.execute(query).mappings()]


def lock_gift_rules(conn: Connection, rule_ids: Sequence[int]) -> dict[int, int]:
    """Gifts given so far per rule, row-locked: two runs cannot both hand out the last gift."""
    if not rule_ids:
        return {}
    rows = conn.execute(
        select(gift_rules.c.id, gift_rules.c.gifts_given)
        .where(gift_rules.c.id.in_(sorted(rule_ids)))
        .order_by(gift_rules.c.id)
        .with_for_update()
    )
    return dict(rows.all())


def add_gift_rule(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(gift_rules.insert().returning(gift_rules.c.id), [row]).scalar_one()


def set_gift_rule_enabled(conn: Connection, rule_id: int, enabled: bool) -> int:
    return conn.execute(update(gift_rules).where(gift_rules.c.id == rule_id).values(enabled=enabled)).rowcount


def add_gifts_given(conn: Connection, given: dict[int, int]) -> None:
    for rule_id, count in sorted(given.items()):
        if count:
            given_now = gift_rules.c.gifts_given + count
            conn.execute(update(gift_rules).where(gift_rules.c.id == rule_id).values(gifts_given=given_now))


def any_open_parcels(conn: Connection, buyers: set[tuple[int, str]]) -> bool:
    """Whether any of these (shop, buyer) pairs has an open parcel a new one could join (read, not locked)."""
    return any(
        conn.execute(select(exists().where(*_open_for(conn, shop_id, chunk)))).scalar()
        for shop_id, chunk in _by_shop(buyers)
    )


def _open_for(conn: Connection, shop_id: int, buyers: list[str]) -> list:
    return [
        parcels.c.shop_id == shop_id,
        bulk.among(conn, parcels.c.buyer_index, buyers),
        parcels.c.status == OPEN,
        parcels.c.mergeable.is_(True),
        parcels.c.tracking_no.is_(None),
    ]


def open_parcels_for(conn: Connection, buyers: set[tuple[int, str]]) -> list[dict[str, Any]]:
    """Open, mergeable parcels with no waybill yet for these (shop, buyer) pairs, row-locked, with their lines."""
    if not buyers:
        return []
    found: list[dict[str, Any]] = []
    for shop_id, chunk in _by_shop(buyers):
        rows = conn.execute(
            select(parcels).where(*_open_for(conn, shop_id, chunk)).order_by(parcels.c.code).with_for_update()
        ).mappings()
        found += [dict(r) for r in rows]
    lines = parcel_lines_of(conn, [p["code"] for p in found])
    return [p | {"lines": lines.get(p["code"], [])} for p in found]


def parcel_lines_of(conn: Connection, codes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks(sorted(set(codes))):
        rows = conn.execute(
            select(parcel_lines, skus.c.code.label("sku"))
            .join(skus, skus.c.id == parcel_lines.c.sku_id)
            .where(parcel_lines.c.parcel_code.in_(list(chunk)))
            .order_by(parcel_lines.c.parcel_code, parcel_lines.c.order_id, parcel_lines.c.line_no)
        ).mappings()
        for row in rows:
            found.setdefault(row["parcel_code"], []).append(dict(row))
    return found


def insert_parcels(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        bulk.insert(conn, parcels, chunk)


def update_parcels(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows):
        bulk.update_by_key(conn, parcels, chunk, key="code")


def insert_parcel_lines(conn: Connection, rows: list[dict[str, Any]]) -> None:
    for chunk in _chunks(rows, 5000):
        bulk.insert(conn, parcel_lines, chunk)


def mark_orders(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """rows: id, fulfilment_status, fulfilment_reason, allocation_round."""
    for chunk in _chunks(rows):
        bulk.update_by_key(conn, orders, chunk, key="id")


def parcels_of_orders(conn: Connection, order_ids: Sequence[int], *, open_only: bool) -> list[dict[str, Any]]:
    codes: set[str] = set()
    for chunk in _chunks(sorted(set(order_ids))):
        codes |= set(
            conn.execute(
                select(parcel_lines.c.parcel_code).where(parcel_lines.c.order_id.in_(list(chunk))).distinct()
            ).scalars()
        )
    if not codes:
        return []
    query = select(parcels).where(parcels.c.code.in_(sorted(codes))).order_by(parcels.c.code)
    if open_only:
        query = query.where(parcels.c.status == OPEN)
    rows = [dict(r) for r in conn.execute(query.with_for_update()).mappings()]
    lines = parcel_lines_of(conn, [r["code"] for r in rows])
    return [r | {"lines": lines.get(r["code"], [])} for r in rows]


def delete_parcel_lines(conn: Connection, keys: Sequence[tuple[str, int, int]]) -> None:
    """keys: (parcel code, order id, line no)."""
    for chunk in _chunks(sorted(set(keys))):
        conn.execute(
            delete(parcel_lines).where(
                tuple_(parcel_lines.c.parcel_code, parcel_lines.c.order_id, parcel_lines.c.line_no).in_(list(chunk))
            )
        )


def set_parcel_status(conn: Connection, codes: Sequence[str], status: str, now: datetime) -> None:
    for chunk in _chunks(sorted(set(codes))):
        conn.execute(update(parcels).where(parcels.c.code.in_(list(chunk))).values(status=status, updated_at=now))


def parcel_list(
    conn: Connection,
    *,
    status: str | None,
    shop_id: int | None,
    after: str,
    limit: int,
    codes: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    query = (
        select(parcels, warehouses.c.code.label("warehouse"), shops.c.code.label("shop"))
        .join(warehouses, warehouses.c.id == parcels.c.warehouse_id)
        .join(shops, shops.c.id == parcels.c.shop_id)
        .where(parcels.c.code > after)
        .order_by(parcels.c.code)
        .limit(limit)
    )
    if status:
        query = query.where(parcels.c.status == status)
    if shop_id is not None:
        query = query.where(parcels.c.shop_id == shop_id)
    if codes is not None:
        query = query.where(parcels.c.code.in_(sorted(set(codes))))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    lines = parcel_lines_of(conn, [r["code"] for r in rows])
    return [r | {"lines": lines.get(r["code"], [])} for r in rows]


def due_for_waybill(conn: Connection, *, now: datetime, limit: int) -> list[dict[str, Any]]:
    """Open parcels with a carrier and no tracking number, whose goods may leave now, with the receiver of
    their first order (encrypted as stored), row-locked so two runs never ask twice."""
    first_order = (
        select(parcel_lines.c.parcel_code, func.min(parcel_lines.c.order_id).label("order_id"))
        .group_by(parcel_lines.c.parcel_code)
        .subquery()
    )
    query = (
        select(
            parcels.c.code,
            parcels.c.carrier,
            parcels.c.weight_grams,
            warehouses.c.code.label("warehouse"),
            orders.c.buyer_name,
            orders.c.buyer_phone,
            orders.c.province,
            orders.c.city,
            orders.c.district,
            orders.c.street,
        )
        .join(first_order, first_order.c.parcel_code == parcels.c.code)
        .join(orders, orders.c.id == first_order.c.order_id)
        .join(warehouses, warehouses.c.id == parcels.c.warehouse_id)
        .where(
            parcels.c.status == OPEN,
            parcels.c.carrier.is_not(None),
            parcels.c.tracking_no.is_(None),
            or_(parcels.c.ship_after.is_(None), parcels.c.ship_after <= now),
        )
        .order_by(parcels.c.code)
        .limit(limit)
        .with_for_update(of=parcels, skip_locked=True)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def sku_facts(conn: Connection, sku_ids: Iterable[int]) -> dict[int, tuple[str, int, int]]:
    """sku id -> (code, grams per unit, cm³ per unit)."""
    wanted = sorted(set(sku_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(skus.c.id, skus.c.code, skus.c.weight_grams, skus.c.volume_cm3).where(skus.c.id.in_(wanted))
    )
    return {sku_id: (code, grams, volume) for sku_id, code, grams, volume in rows}


def shop_codes(conn: Connection, shop_ids: Iterable[int]) -> dict[int, str]:
    return dict(conn.execute(select(shops.c.id, shops.c.code).where(shops.c.id.in_(sorted(set(shop_ids))))).all())


def flag_orders(conn: Connection, order_ids: Sequence[int], changes: dict[str, Any]) -> set[int]:
    """Set flags on orders; returns the ids that exist."""
    found: set[int] = set()
    for chunk in _chunks(list(order_ids)):
        found |= set(conn.execute(select(orders.c.id).where(orders.c.id.in_(list(chunk)))).scalars())
        conn.execute(update(orders).where(orders.c.id.in_(list(chunk))).values(**changes))
    return found


PARCEL_COPY = (
    "shop_id",
    "warehouse_id",
    "status",
    "buyer_index",
    "address_index",
    "province",
    "ship_after",
    "earliest_paid_at",
    "latest_paid_at",
    "presale",
    "carrier",
    "shipping_cost",
    "carrier_reason",
)
LINE_COLUMNS = ("order_id", "line_no", "shop_id", "sku_id", "quantity", "gift_rule_id", "reservation_id")


def parcels_by_code(conn: Connection, codes: Sequence[str]) -> list[dict[str, Any]]:
    rows = [
        dict(r)
        for r in conn.execute(
            select(parcels).where(parcels.c.code.in_(sorted(set(codes)))).order_by(parcels.c.code).with_for_update()
        ).mappings()
    ]
    lines = parcel_lines_of(conn, [r["code"] for r in rows])
    return [r | {"lines": lines.get(r["code"], [])} for r in rows]


def add_parcel_lines(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Lines moved into a parcel that may already hold part of the same order line (a weight split undone)."""
    for row in rows:
        key = (
            parcel_lines.c.parcel_code == row["parcel_code"],
            parcel_lines.c.order_id == row["order_id"],
            parcel_lines.c.line_no == row["line_no"],
        )
        changed = conn.execute(
            update(parcel_lines).where(*key).values(quantity=parcel_lines.c.quantity + row["quantity"])
        ).rowcount
        if not changed:
            conn.execute(parcel_lines.insert(), [row])


def reset_fulfilment(conn: Connection, order_ids: Sequence[int], *, status: str, reason: str) -> None:
    for chunk in _chunks(list(order_ids)):
        conn.execute(
            update(orders)
            .where(orders.c.id.in_(list(chunk)), orders.c.fulfilment_status != "cancelled")
            .values(fulfilment_status=status, fulfilment_reason=reason)
        )


def set_tracking(conn: Connection, numbers: dict[str, str], now: datetime) -> None:
    bulk.update_by_key(
        conn,
        parcels,
        [{"code": c, "tracking_no": n, "carrier_reason": "", "updated_at": now} for c, n in sorted(numbers.items())],
        key="code",
    )


def note_carrier_reason(conn: Connection, reasons: dict[str, str], now: datetime) -> None:
    bulk.update_by_key(
        conn,
        parcels,
        [{"code": c, "carrier_reason": r, "updated_at": now} for c, r in sorted(reasons.items())],
        key="code",
    )


def reservations_in_parcels(conn: Connection, order_ids: Sequence[int]) -> set[str]:
    """Reservations that back lines already in a live parcel: those stay as they are."""
    found: set[str] = set()
    for chunk in _chunks(sorted(set(order_ids))):
        found |= set(
            conn.execute(
                select(parcel_lines.c.reservation_id)
                .join(parcels, parcels.c.code == parcel_lines.c.parcel_code)
                .where(bulk.among(conn, parcel_lines.c.order_id, list(chunk)), parcels.c.status != "cancelled")
            ).scalars()
        )
    return found
