"""Receivables on disk: customers, the platform buyers linked to them, the AR ledger, and the facts read in bulk
(open invoices by FIFO, balances, orders not yet invoiced) for review batches and the aging report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, and_, case, cast, exists, func, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk, upsert
from presale_erp.adapters.db.tables import ar_entries, customer_accounts, customers, orders, shops
from presale_erp.domain.errors import NotFound

ar = ar_entries.c
# An order is on account from the moment its buyer is linked; it is owed (open) once approved, or once shipped
# if it never passed review here, and invoiced when it has shipped in full.
OPEN_ORDER = and_(
    orders.c.status.not_in(["cancelled", "refunded"]),
    (orders.c.review_status.in_(["approved", "awaiting_finance"]))
    | orders.c.status.in_(["partly_shipped", "shipped", "completed"])
    | (orders.c.fulfilment_status == "shipped"),
)
# Shipped in full: confirmed by our warehouse (发货确认), or already reported so by the platform.
SHIPPED_IN_FULL = orders.c.status.in_(["shipped", "completed"]) | (orders.c.fulfilment_status == "shipped")
INVOICED = exists().where(ar.order_id == orders.c.id, ar.kind == "invoice")
ON_ACCOUNT = and_(
    customer_accounts.c.shop_id == orders.c.shop_id,
    customer_accounts.c.buyer_index == orders.c.buyer_index,
    orders.c.platform_created_at >= customer_accounts.c.created_at,
)


# --- Customers and their buyers ------------------------------------------------------------------------------------


def insert_customer(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(customers.insert().returning(customers.c.id), [row]).scalar_one()


def update_customer(conn: Connection, customer_id: int, changes: dict[str, Any]) -> None:
    conn.execute(update(customers).where(customers.c.id == customer_id).values(**changes))


def find_customer(conn: Connection, code: str, *, lock: bool = False) -> dict[str, Any] | None:
    query = select(customers).where(customers.c.code == code)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    return dict(row) if row else None


def customer(conn: Connection, code: str, *, lock: bool = False) -> dict[str, Any]:
    found = find_customer(conn, code, lock=lock)
    if found is None:
        raise NotFound(f"No customer {code}.")
    return found


def customer_list(conn: Connection, *, kind: str | None, active: bool | None) -> list[dict[str, Any]]:
    query = select(customers).order_by(customers.c.code)
    if kind:
        query = query.where(customers.c.kind == kind)
    if active is not None:
        query = query.where(customers.c.active.is_(active))
    return [dict(r) for r in conn.execute(query).mappings()]


def account_owner(conn: Connection, shop_id: int, buyer_index: str) -> str | None:
    return conn.execute(
        select(customers.c.code)
        .join(customer_accounts, customer_accounts.c.customer_id == customers.c.id)
        .where(customer_accounts.c.shop_id == shop_id, customer_accounts.c.buyer_index == buyer_index)
    ).scalar()


def link(conn: Connection, row: dict[str, Any]) -> None:
    upsert.insert_ignoring_existing(conn, customer_accounts, [row])


def unlink(conn: Connection, customer_id: int, shop_id: int, buyer_index: str) -> int:
    c = customer_accounts.c
    return conn.execute(
        customer_accounts.delete().where(
            c.customer_id == customer_id, c.shop_id == shop_id, c.buyer_index == buyer_index
        )
    ).rowcount


def accounts_of(conn: Connection, customer_id: int) -> list[dict[str, Any]]:
    c = customer_accounts.c
    rows = conn.execute(
        select(shops.c.code.label("shop"), c.buyer_index, c.buyer_label, c.created_at, c.created_by)
        .join(shops, shops.c.id == c.shop_id)
        .where(c.customer_id == customer_id)
        .order_by(shops.c.code, c.buyer_label)
    )
    return [dict(r) for r in rows.mappings()]


# --- The ledger ----------------------------------------------------------------------------------------------------


def entry_by_key(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(ar_entries).where(ar.entry_key == key)).mappings().first()
    return dict(row) if row else None


def insert_entries(conn: Connection, rows: list[dict[str, Any]]) -> None:
    upsert.insert_ignoring_existing(conn, ar_entries, rows)


def entries_of(conn: Connection, customer_id: int, *, before: datetime | None = None) -> list[dict[str, Any]]:
    query = select(ar_entries).where(ar.customer_id == customer_id).order_by(ar.occurred_at, ar.id)
    if before is not None:
        query = query.where(ar.occurred_at < before)
    return [dict(r) for r in conn.execute(query).mappings()]


def order_invoiced(conn: Connection, order_id: int) -> bool:
    return conn.execute(select(ar.id).where(ar.order_id == order_id, ar.kind == "invoice").limit(1)).first() is not None


def order_of_customer(conn: Connection, customer_id: int, order_id: int) -> bool:
    found = conn.execute(
        select(orders.c.id)
        .join(customer_accounts, ON_ACCOUNT)
        .where(orders.c.id == order_id, customer_accounts.c.customer_id == customer_id)
    ).first()
    return found is not None


def shipped_not_invoiced(conn: Connection, *, limit: int) -> list[dict[str, Any]]:
    """On-account orders shipped in full with no invoice yet, oldest first."""
    rows = conn.execute(
        select(
            orders.c.id,
            orders.c.platform_order_id,
            orders.c.total_amount,
            orders.c.platform_modified_at,
            customers.c.id.label("customer_id"),
            customers.c.payment_terms_days,
        )
        .join(customer_accounts, ON_ACCOUNT)
        .join(customers, customers.c.id == customer_accounts.c.customer_id)
        .where(customers.c.active.is_(True), SHIPPED_IN_FULL, ~INVOICED)
        .order_by(orders.c.id)
        .limit(limit)
    )
    return [dict(r) for r in rows.mappings()]


# --- Facts in bulk -------------------------------------------------------------------------------------------------


def customers_for_buyers(conn: Connection, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], dict[str, Any]]:
    """(shop id, buyer index) -> its active customer, for the pairs that have one."""
    if not pairs:
        return {}
    c = customer_accounts.c
    rows = conn.execute(
        select(c.shop_id, c.buyer_index, customers.c.id, customers.c.code, customers.c.name, customers.c.credit_limit)
        .join(customers, customers.c.id == c.customer_id)
        .where(bulk.among(conn, c.buyer_index, sorted({b for _, b in pairs})), customers.c.active.is_(True))
    ).mappings()
    return {(r["shop_id"], r["buyer_index"]): dict(r) for r in rows if (r["shop_id"], r["buyer_index"]) in pairs}


def totals(conn: Connection, customer_ids: Sequence[int], *, before: datetime) -> dict[int, tuple[int, int]]:
    """customer id -> (fen invoiced, fen paid or credited) up to `before`: what the balances are made of."""
    fen = cast(ar.amount, BigInteger)
    rows = conn.execute(
        select(
            ar.customer_id,
            func.sum(case((ar.kind == "invoice", fen), else_=0)),
            func.sum(case((ar.kind != "invoice", -fen), else_=0)),
        )
        .where(ar.customer_id.in_(list(customer_ids)), ar.occurred_at < before)
        .group_by(ar.customer_id)
    )
    return {cid: (int(invoiced or 0), int(credited or 0)) for cid, invoiced, credited in rows}


def open_invoices(conn: Connection, customer_ids: Sequence[int], *, before: datetime) -> list[dict[str, Any]]:
    """The invoices still open up to `before`, by FIFO in SQL: the customer's payments and credits, all together,
    settle its invoices oldest first, so an invoice is open by what its running total exceeds them (the same
    answer as domain.receivables.allocate, without reading every settled entry)."""
    fen = cast(ar.amount, BigInteger)
    wanted = [ar.customer_id.in_(list(customer_ids)), ar.occurred_at < before]
    invoices = (
        select(
            ar.customer_id,
            ar.id,
            ar.entry_key,
            ar.occurred_at,
            ar.due_at,
            fen.label("fen"),
            func.sum(fen).over(partition_by=ar.customer_id, order_by=(ar.occurred_at, ar.id)).label("running"),
        )
        .where(*wanted, ar.kind == "invoice")
        .subquery()
    )
    credits = (
        select(ar.customer_id, func.sum(-fen).label("paid"))
        .where(*wanted, ar.kind != "invoice")
        .group_by(ar.customer_id)
        .subquery()
    )
    paid = func.coalesce(credits.c.paid, 0)
    rows = conn.execute(
        select(invoices, paid.label("paid"))
        .select_from(invoices.outerjoin(credits, credits.c.customer_id == invoices.c.customer_id))
        .where(invoices.c.running > paid)
        .order_by(invoices.c.customer_id, invoices.c.occurred_at, invoices.c.id)
    ).mappings()
    return [
        {
            "customer_id": r["customer_id"],
            "entry_key": r["entry_key"],
            "occurred_at": r["occurred_at"],
            "due_at": r["due_at"],
            "open_fen": min(int(r["fen"]), int(r["running"]) - int(r["paid"])),
        }
        for r in rows
    ]


def open_orders(conn: Connection, customer_ids: Sequence[int]) -> dict[int, Any]:
    """customer id -> total of its on-account orders approved (or shipped) but not invoiced yet."""
    rows = conn.execute(
        select(customer_accounts.c.customer_id, func.sum(orders.c.total_amount))
        .select_from(orders.join(customer_accounts, ON_ACCOUNT))
        .where(customer_accounts.c.customer_id.in_(list(customer_ids)), OPEN_ORDER, ~INVOICED)
        .group_by(customer_accounts.c.customer_id)
    )
    return dict(rows.all())
