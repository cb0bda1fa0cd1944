"""aftersales_cases, aftersales_lines and aftersales_settings, and the order facts a case is decided on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import (
    aftersales_cases,
    aftersales_lines,
    aftersales_settings,
    order_lines,
    orders,
    reservations,
    sales_postings,
    shops,
    skus,
    stock_positions,
    warehouses,
)
from presale_erp.adapters.db.upsert import upsert
from presale_erp.domain.aftersales import DepositPolicy


def deposit_policy(conn: Connection, shop_id: int) -> DepositPolicy:
    found = conn.execute(
        select(aftersales_settings.c.deposit_policy).where(aftersales_settings.c.shop_id == shop_id)
    ).scalar_one_or_none()
    return DepositPolicy(found) if found else DepositPolicy.KEEP


def set_deposit_policy(conn: Connection, shop_id: int, policy: DepositPolicy, *, now: datetime, actor: str) -> None:
    upsert(
        conn,
        aftersales_settings,
        [{"shop_id": shop_id, "deposit_policy": policy.value, "updated_at": now, "updated_by": actor}],
        key=["shop_id"],
        update=["deposit_policy", "updated_at", "updated_by"],
    )


def order_facts(conn: Connection, order_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    """The order (with its shop's code and platform) and its lines; locked when a case changes money on it."""
    query = (
        select(orders, shops.c.code.label("shop"), shops.c.platform)
        .join(shops, shops.c.id == orders.c.shop_id)
        .where(orders.c.id == order_id)
    )
    row = conn.execute(query.with_for_update(of=orders) if lock else query).mappings().first()
    if row is None:
        return None
    lines = conn.execute(
        select(order_lines, skus.c.code.label("sku"))
        .outerjoin(skus, skus.c.id == order_lines.c.sku_id)
        .where(order_lines.c.order_id == order_id)
        .order_by(order_lines.c.line_no)
    ).mappings()
    return dict(row) | {"lines": {r["line_no"]: dict(r) for r in lines}}


def case_id_by_key(conn: Connection, case_key: str) -> int | None:
    return conn.execute(
        select(aftersales_cases.c.id).where(aftersales_cases.c.case_key == case_key)
    ).scalar_one_or_none()


def insert_case(conn: Connection, row: dict[str, Any], lines: list[dict[str, Any]]) -> int:
    case_id = conn.execute(aftersales_cases.insert().returning(aftersales_cases.c.id), [row]).scalar_one()
    conn.execute(aftersales_lines.insert(), [line | {"case_id": case_id} for line in lines])
    return case_id


def case(conn: Connection, case_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    query = (
        select(aftersales_cases, warehouses.c.code.label("return_warehouse"))
        .outerjoin(warehouses, warehouses.c.id == aftersales_cases.c.return_warehouse_id)
        .where(aftersales_cases.c.id == case_id)
    )
    row = conn.execute(query.with_for_update(of=aftersales_cases) if lock else query).mappings().first()
    if row is None:
        return None
    lines = conn.execute(
        select(aftersales_lines).where(aftersales_lines.c.case_id == case_id).order_by(aftersales_lines.c.line_no)
    ).mappings()
    return dict(row) | {"lines": [dict(r) for r in lines]}


def cases_of_order(conn: Connection, order_id: int) -> list[int]:
    return list(
        conn.execute(
            select(aftersales_cases.c.id).where(aftersales_cases.c.order_id == order_id).order_by(aftersales_cases.c.id)
        ).scalars()
    )


def claimed(
    conn: Connection, order_id: int, states: Iterable[str], *, except_case: int | None = None
) -> dict[int, tuple[Decimal, int]]:
    """line no -> (amount, units) that cases of the order in `states` refund or take back."""
    query = (
        select(aftersales_lines.c.line_no, func.sum(aftersales_lines.c.amount), func.sum(aftersales_lines.c.quantity))
        .join(aftersales_cases, aftersales_cases.c.id == aftersales_lines.c.case_id)
        .where(aftersales_cases.c.order_id == order_id, aftersales_cases.c.state.in_(sorted(states)))
        .group_by(aftersales_lines.c.line_no)
    )
    if except_case is not None:
        query = query.where(aftersales_cases.c.id != except_case)
    return {n: (amount, int(units)) for n, amount, units in conn.execute(query)}  # SUM keeps the Money type


def set_state(conn: Connection, case_id: int, state: str, *, now: datetime, **values: Any) -> None:
    conn.execute(
        update(aftersales_cases).where(aftersales_cases.c.id == case_id).values(state=state, updated_at=now, **values)
    )


def forfeit_candidates(conn: Connection, *, order_id: int | None = None, limit: int = 1000) -> list[dict[str, Any]]:
    """Deposit orders whose balance never came (or, with `order_id`, that one order however it ended), whose shop
    keeps deposits, with no forfeiture booked and no refund paid on them yet; with the warehouse to book against
    (where the order's stock was locked, else the shop's lock warehouse) and their matched lines. Orders with
    neither a matched line nor a warehouse are not returned (they stay deposits received)."""
    booked = (
        select(sales_postings.c.id)
        .where(sales_postings.c.order_id == orders.c.id, sales_postings.c.kind == "deposit_forfeited")
        .exists()
    )
    refunded = (
        select(aftersales_cases.c.id)
        .where(
            aftersales_cases.c.order_id == orders.c.id,
            aftersales_cases.c.state == "refunded",
            aftersales_cases.c.refund_amount > Decimal("0.00"),
        )
        .exists()
    )
    locked_in = (
        select(func.min(reservations.c.warehouse_id))
        .where(reservations.c.shop_id == orders.c.shop_id, reservations.c.order_ref == orders.c.platform_order_id)
        .scalar_subquery()
    )
    matched = (
        select(order_lines.c.line_no)
        .where(order_lines.c.order_id == orders.c.id, order_lines.c.sku_id.is_not(None))
        .exists()
    )
    policy = func.coalesce(aftersales_settings.c.deposit_policy, DepositPolicy.KEEP.value)
    warehouse = func.coalesce(locked_in, shops.c.lock_warehouse_id)
    query = (
        select(orders.c.id, orders.c.shop_id, orders.c.deposit_amount, warehouse.label("warehouse_id"))
        .join(shops, shops.c.id == orders.c.shop_id)
        .outerjoin(aftersales_settings, aftersales_settings.c.shop_id == orders.c.shop_id)
        .where(
            orders.c.presale_type.in_(("deposit", "stepped")),
            orders.c.deposit_amount > Decimal("0.00"),
            orders.c.paid_amount > Decimal("0.00"),
            orders.c.balance_paid.is_(False),
            ~booked,
            ~refunded,
            matched,  # without a matched line or a warehouse there is nothing to book against: never picked,
            warehouse.is_not(None),  # so they cannot crowd out the batch run after run
        )
        .order_by(orders.c.id)
        .limit(limit)
    )
    if order_id is None:
        query = query.where(orders.c.balance_expired_at.is_not(None), policy == DepositPolicy.KEEP.value)
    else:
        query = query.where(orders.c.id == order_id)
    found = [dict(r) for r in conn.execute(query).mappings()]
    if not found:
        return []
    lines: dict[int, list[dict[str, Any]]] = {}
    for row in conn.execute(
        select(order_lines.c.order_id, order_lines.c.line_no, order_lines.c.sku_id, order_lines.c.paid_amount)
        .where(order_lines.c.order_id.in_([o["id"] for o in found]), order_lines.c.sku_id.is_not(None))
        .order_by(order_lines.c.order_id, order_lines.c.line_no)
    ).mappings():
        lines.setdefault(row["order_id"], []).append(dict(row))
    return [o | {"lines": lines.get(o["id"], [])} for o in found]


def units_in_stock(conn: Connection, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """(sku id, warehouse id) -> units held there, sellable and damaged."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        select(
            stock_positions.c.sku_id,
            stock_positions.c.warehouse_id,
            stock_positions.c.on_hand + stock_positions.c.damaged,
        ).where(tuple_(stock_positions.c.sku_id, stock_positions.c.warehouse_id).in_(wanted))
    ).all()
    return {(s, w): int(u) for s, w, u in rows}
