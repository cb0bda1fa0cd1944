"""The cash-gap report's grouped queries: what buyers paid and still owe (per Beijing day) against what suppliers
are owed (per day the goods arrived or are promised, and the supplier's payment terms). Amounts in whole fen."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement

from presale_erp.adapters.db.finance_report_repo import Scope, fen
from presale_erp.adapters.db.planning_repo import business_day
from presale_erp.adapters.db.tables import (
    campaign_skus,
    order_lines,
    orders,
    payment_entries,
    presale_campaigns,
    purchase_order_lines,
    purchase_orders,
    receipt_lines,
    receipts,
    suppliers,
)

BUYER_KINDS = ("deposit", "balance", "full_payment", "refund")
OPEN_PO_STATUSES = ("sent", "confirmed", "partly_received")


def campaign(conn: Connection, code: str) -> dict[str, Any] | None:
    row = conn.execute(select(presale_campaigns).where(presale_campaigns.c.code == code)).mappings().first()
    return dict(row) if row else None


def campaign_orders(found: dict[str, Any]) -> Select:
    """The campaign's orders: its shop's (any shop if it names none) orders placed in the deposit window with a
    presale line on one of its SKUs. Their whole amounts count (a mixed order's spot lines ride along)."""
    line_on_campaign_sku = (
        select(order_lines.c.order_id)
        .where(
            order_lines.c.order_id == orders.c.id,
            order_lines.c.presale.is_(True),
            order_lines.c.sku_id.in_(select(campaign_skus.c.sku_id).where(campaign_skus.c.campaign_id == found["id"])),
        )
        .exists()
    )
    query = select(orders.c.id).where(
        orders.c.platform_created_at >= found["deposit_starts_at"],
        orders.c.platform_created_at <= found["deposit_ends_at"],
        line_on_campaign_sku,
    )
    if found["shop_id"] is not None:
        query = query.where(orders.c.shop_id == found["shop_id"])
    return query


def collected(conn: Connection, scope: Scope, order_ids: Select | None) -> list[dict[str, Any]]:
    """Buyers' payments and refunds per Beijing day and kind."""
    pe = payment_entries.c
    day = business_day(conn, pe.occurred_at).label("day")
    query = select(day, pe.kind, func.sum(fen(pe.amount)).label("amount")).where(pe.kind.in_(BUYER_KINDS))
    if scope.start is not None:
        query = query.where(pe.occurred_at >= scope.start)
    if scope.end is not None:
        query = query.where(pe.occurred_at < scope.end)
    if scope.shop_id is not None:
        query = query.where(pe.shop_id == scope.shop_id)
    if order_ids is not None:
        query = query.where(pe.order_id.in_(order_ids))
    return [dict(r) for r in conn.execute(query.group_by(day, pe.kind)).mappings()]


def expected_balances(conn: Connection, scope: Scope, order_ids: Select | None) -> list[dict[str, Any]]:
    """Balances (尾款) still owed by orders awaiting balance, per Beijing day they fall due (None: no due date)."""
    day = business_day(conn, orders.c.balance_due_at).label("day")
    query = select(day, func.sum(fen(orders.c.balance_amount)).label("amount"), func.count().label("orders")).where(
        orders.c.status == "deposit_paid",
        orders.c.balance_paid.is_(False),
        orders.c.balance_expired_at.is_(None),
    )
    if scope.shop_id is not None:
        query = query.where(orders.c.shop_id == scope.shop_id)
    if order_ids is not None:
        query = query.where(orders.c.id.in_(order_ids))
    return [dict(r) for r in conn.execute(query.group_by(day)).mappings()]


def received_payables(conn: Connection, scope: Scope, campaign_id: int | None) -> list[dict[str, Any]]:
    """What accepted goods cost at purchase price, per Beijing day received and supplier payment terms.
    Damaged units are not paid for (domain/costing.py); landed costs are owed to carriers, not suppliers."""
    day = business_day(conn, receipts.c.received_at).label("day")
    terms = suppliers.c.payment_terms_days.label("terms_days")
    query = (
        select(day, terms, func.sum(receipt_lines.c.accepted * fen(receipt_lines.c.unit_cost)).label("amount"))
        .select_from(receipt_lines)
        .join(receipts, receipts.c.id == receipt_lines.c.receipt_id)
        .join(purchase_orders, purchase_orders.c.id == receipts.c.purchase_order_id)
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .where(*_goods_filters(scope, campaign_id, receipt_lines.c.sku_id, receipts.c.warehouse_id))
        .group_by(day, terms)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def outstanding_payables(conn: Connection, scope: Scope, campaign_id: int | None) -> list[dict[str, Any]]:
    """What goods still to come on placed purchase orders will cost, per promised date and payment terms."""
    pol = purchase_order_lines.c
    outstanding = pol.quantity - pol.received_quantity
    terms = suppliers.c.payment_terms_days.label("terms_days")
    query = (
        select(pol.promised_on.label("day"), terms, func.sum(outstanding * fen(pol.unit_cost)).label("amount"))
        .select_from(purchase_order_lines)
        .join(purchase_orders, purchase_orders.c.id == pol.purchase_order_id)
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .where(
            purchase_orders.c.status.in_(OPEN_PO_STATUSES),
            outstanding > 0,
            *_goods_filters(scope, campaign_id, pol.sku_id, purchase_orders.c.warehouse_id),
        )
        .group_by(pol.promised_on, terms)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def _goods_filters(scope: Scope, campaign_id: int | None, sku_id: Any, warehouse_id: Any) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if campaign_id is not None:
        cs = campaign_skus.c
        found.append(
            select(cs.sku_id)
            .where(and_(cs.campaign_id == campaign_id, cs.sku_id == sku_id, cs.warehouse_id == warehouse_id))
            .exists()
        )
    if scope.sku_id is not None:
        found.append(sku_id == scope.sku_id)
    if scope.warehouse_id is not None:
        found.append(warehouse_id == scope.warehouse_id)
    return found
