"""Review: the stored rule set, the blacklist, the pending batch with its lines, the context in bulk, and the
verdicts written back. One query per kind of fact per batch."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk, costing_repo
from presale_erp.adapters.db.tables import (
    blacklist,
    order_lines,
    orders,
    reservations,
    review_rules,
    shops,
    stock_positions,
)
from presale_erp.adapters.db.upsert import upsert
from presale_erp.domain.review.model import SkuHistory


def stored_rules(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(review_rules).order_by(review_rules.c.priority)).mappings()]


def save_rule(conn: Connection, row: dict[str, Any]) -> None:
    upsert(conn, review_rules, [row], key=["code"], update=[c for c in row if c != "code"])


PENDING_COLUMNS = (
    "id",
    "shop_id",
    "platform_order_id",
    "total_amount",
    "paid_at",
    "province",
    "city",
    "district",
    "street",
    "buyer_phone",
    "buyer_index",
    "phone_index",
    "address_index",
    "buyer_remark",
    "seller_remark",
    "refund_requested",
    "review_hits",
)


def pending(conn: Connection, *, after_id: int, limit: int) -> list[tuple]:
    """Orders waiting for review, as rows in PENDING_COLUMNS order (tuples: tens of thousands per run)."""
    return list(
        conn.execute(
            select(*(orders.c[name] for name in PENDING_COLUMNS))
            .where(
                orders.c.review_status == "pending",
                orders.c.status == "paid",
                orders.c.id > after_id,
                # A 预订单 waits for review until it activates, unless it also has goods in stock to ship now.
                or_(orders.c.preorder_status != "waiting", orders.c.mixed_presale.is_(True)),
            )
            .order_by(orders.c.id)
            .limit(limit)
        )
    )


def lines_of(conn: Connection, order_ids: Sequence[int]) -> dict[int, list[tuple]]:
    """order id -> its lines still to ship, as (sku id, sku code, quantity, unit price, presale)."""
    grouped: dict[int, list[tuple]] = {i: [] for i in order_ids}
    for order_id, *line in conn.execute(
        select(
            order_lines.c.order_id,
            order_lines.c.sku_id,
            order_lines.c.sku_code,
            order_lines.c.quantity,
            order_lines.c.unit_price,
            order_lines.c.presale,
        )
        .where(bulk.among(conn, order_lines.c.order_id, list(order_ids)), order_lines.c.refunded.is_(False))
        .order_by(order_lines.c.order_id, order_lines.c.line_no)
    ):
        grouped[order_id].append(line)
    return grouped


def blacklisted(conn: Connection) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"buyer": set(), "phone": set(), "address": set()}
    for kind, value in conn.execute(select(blacklist.c.kind, blacklist.c.value_index)):
        found[kind].add(value)
    return found


def recent_counts(conn: Connection, column, values: set[str], since: datetime) -> dict[str, int]:
    if not values:
        return {}
    return dict(
        conn.execute(
            select(column, func.count())
            .where(bulk.among(conn, column, sorted(values)), orders.c.platform_created_at >= since)
            .group_by(column)
        ).all()
    )


def buyer_refund_counts(conn: Connection, buyers: set[str]) -> tuple[dict[str, int], dict[str, int]]:
    if not buyers:
        return {}, {}
    rows = conn.execute(
        select(orders.c.buyer_index, func.count(), func.sum(case((orders.c.status == "refunded", 1), else_=0)))
        .where(bulk.among(conn, orders.c.buyer_index, sorted(buyers)))
        .group_by(orders.c.buyer_index)
    ).all()
    return {b: int(n) for b, n, _ in rows}, {b: int(r or 0) for b, _, r in rows}


def sku_history(conn: Connection, sku_ids: set[int]) -> tuple[dict[int, SkuHistory], dict[int, Decimal]]:
    """What normal looks like per SKU (units per line over its past orders) and its unit cost."""
    if not sku_ids:
        return {}, {}
    wanted = sorted(sku_ids)
    history = {
        sku: SkuHistory(int(n), float(mean_q or 0), int(max_q or 0))
        for sku, n, mean_q, max_q in conn.execute(
            select(
                order_lines.c.sku_id, func.count(), func.avg(order_lines.c.quantity), func.max(order_lines.c.quantity)
            )
            .where(order_lines.c.sku_id.in_(wanted))
            .group_by(order_lines.c.sku_id)
        )
    }
    # The moving average cost where receipts have been costed, else the catalogue's unit cost.
    return history, costing_repo.sku_costs(conn, wanted)


def sku_available(conn: Connection, sku_ids: set[int]) -> dict[int, int]:
    """Units free to promise per SKU across warehouses (on hand beyond what is reserved)."""
    if not sku_ids:
        return {}
    p = stock_positions.c
    free = case((p.on_hand > p.reserved, p.on_hand - p.reserved), else_=0)
    return {
        sku: int(total or 0)
        for sku, total in conn.execute(
            select(p.sku_id, func.sum(free)).where(p.sku_id.in_(sorted(sku_ids))).group_by(p.sku_id)
        )
    }


def write_verdicts(conn: Connection, verdicts: list[dict[str, Any]]) -> None:
    bulk.update_by_key(
        conn,
        orders,
        [
            {
                "review_status": v["status"],
                "risk_score": v["score"],
                "review_hits": v["hits"],
                "review_rules_hit": v["rules"],
                "reviewed_at": v["at"],
                "reviewed_by": v["by"],
                "id": v["id"],
            }
            for v in verdicts
        ],
        key="id",
        only_if="review_status = 'pending'",
    )


def held_orders(conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """id -> (review status, shop id), row-locked so two people deciding at once queue."""
    rows = conn.execute(
        select(orders.c.id, orders.c.review_status, orders.c.shop_id)
        .where(orders.c.id.in_(list(ids)))
        .order_by(orders.c.id)
        .with_for_update()
    )
    return {order_id: (status, shop_id) for order_id, status, shop_id in rows}


def finance_shops(conn: Connection) -> set[int]:
    return set(conn.execute(select(shops.c.id).where(shops.c.financial_review.is_(True))).scalars())


def add_blacklist(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(blacklist.insert().returning(blacklist.c.id), [row]).scalar_one()


def blacklist_entries(conn: Connection) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(blacklist).order_by(blacklist.c.id)).mappings()]


def remove_blacklist(conn: Connection, entry_id: int) -> int:
    return conn.execute(blacklist.delete().where(blacklist.c.id == entry_id)).rowcount


def write_status(conn: Connection, statuses: dict[int, str], *, by: str, at: datetime) -> None:
    bulk.update_by_key(
        conn,
        orders,
        [{"review_status": status, "reviewed_by": by, "reviewed_at": at, "id": i} for i, status in statuses.items()],
        key="id",
    )


def own_locks(conn: Connection, orders_by_ref: dict[tuple[int, str], int]) -> dict[int, dict[int, int]]:
    """order id -> sku id -> units this order itself holds locked (its own lock is not someone else's stock)."""
    found: dict[int, dict[int, int]] = {}
    by_shop: dict[int, list[str]] = {}
    for shop_id, ref in orders_by_ref:
        by_shop.setdefault(shop_id, []).append(ref)
    for shop_id, refs in by_shop.items():
        for start in range(0, len(refs), 1000):
            rows = conn.execute(
                select(reservations.c.order_ref, reservations.c.sku_id, func.sum(reservations.c.quantity))
                .where(
                    reservations.c.shop_id == shop_id,
                    reservations.c.status == "pending",
                    bulk.among(conn, reservations.c.order_ref, refs[start : start + 1000]),
                )
                .group_by(reservations.c.order_ref, reservations.c.sku_id)
            )
            for ref, sku_id, units in rows:
                order_id = orders_by_ref[(shop_id, ref)]
                found.setdefault(order_id, {})[sku_id] = int(units)
    return found
