"""Planning data: demand history, deposit curves, forecast runs and their results, suggestions and alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, case, cast, delete, func, literal, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import (
    alerts,
    campaign_commitments,
    campaign_skus,
    demand_forecasts,
    demand_history,
    forecast_runs,
    order_lines,
    orders,
    parcel_lines,
    parcels,
    presale_campaigns,
    presale_forecasts,
    purchase_order_lines,
    purchase_orders,
    replenishment_settings,
    replenishment_suggestions,
    reservations,
    shops,
    skus,
    stock_costs,
    stock_positions,
    supplier_skus,
    suppliers,
    warehouses,
)
from presale_erp.adapters.db.upsert import upsert
from presale_erp.domain.money import yuan

BUSINESS_UTC_OFFSET_HOURS = 8  # a merchant's day is a Beijing day: 双11 starts at 00:00 CST, 16:00 UTC the day before


def business_day(conn: Connection, column) -> ColumnElement[Any]:
    """The Beijing calendar day of a UTC timestamp column, in SQL."""
    if conn.dialect.name == "sqlite":
        return func.date(column, f"+{BUSINESS_UTC_OFFSET_HOURS} hours")
    return cast(func.timezone("Asia/Shanghai", column), Date)


# --- demand history ----------------------------------------------------------------------------------------------


def order_demand(conn: Connection, first: date, last: date) -> list[dict[str, Any]]:
    """Units ordered per SKU, warehouse and Beijing day in [first, last], from the parcels orders were allocated
    to (the warehouse that serves the demand); cancelled and refunded lines do not count."""
    day = business_day(conn, orders.c.platform_created_at).label("day")
    query = (
        select(
            parcel_lines.c.sku_id,
            parcels.c.warehouse_id,
            day,
            func.sum(parcel_lines.c.quantity).label("quantity"),
            func.sum(order_lines.c.unit_price * parcel_lines.c.quantity).label("revenue_fen"),
        )
        .select_from(parcel_lines)
        .join(parcels, parcels.c.code == parcel_lines.c.parcel_code)
        .join(orders, orders.c.id == parcel_lines.c.order_id)
        .join(
            order_lines,
            and_(order_lines.c.order_id == parcel_lines.c.order_id, order_lines.c.line_no == parcel_lines.c.line_no),
        )
        .where(
            parcels.c.status != "cancelled",
            orders.c.status.notin_(["cancelled", "refunded"]),
            order_lines.c.refunded.is_(False),
            # The window in UTC, a day wider than the Beijing days asked for; the exact days are kept below.
            orders.c.platform_created_at >= datetime.combine(first - timedelta(days=1), time(), UTC),
            orders.c.platform_created_at < datetime.combine(last + timedelta(days=1), time(), UTC),
        )
        .group_by(parcel_lines.c.sku_id, parcels.c.warehouse_id, day)
    )
    rows = conn.execute(query).mappings().all()
    wanted = [r for r in rows if first <= _as_date(r["day"]) <= last]
    return [{**dict(r), "day": _as_date(r["day"])} for r in wanted]


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def save_demand_days(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows: sku_id, warehouse_id, day, quantity, revenue, promotion, source; a day seen again is replaced."""
    for start in range(0, len(rows), 2000):
        upsert(
            conn,
            demand_history,
            rows[start : start + 2000],
            ["sku_id", "warehouse_id", "day"],
            ["quantity", "revenue", "promotion", "source"],
        )


def demand_rows(conn: Connection, since: date | None = None) -> list[tuple]:
    """(sku code, warehouse code, day, quantity, promotion) of the whole history (or since a day)."""
    query = (
        select(
            skus.c.code, warehouses.c.code, demand_history.c.day, demand_history.c.quantity, demand_history.c.promotion
        )
        .join(skus, skus.c.id == demand_history.c.sku_id)
        .join(warehouses, warehouses.c.id == demand_history.c.warehouse_id)
    )
    if since is not None:
        query = query.where(demand_history.c.day >= since)
    return [tuple(r) for r in conn.execute(query)]


# --- presale deposit curves --------------------------------------------------------------------------------------


def campaigns(conn: Connection, code: str | None = None) -> list[dict[str, Any]]:
    query = select(presale_campaigns, shops.c.code.label("shop")).outerjoin(
        shops, shops.c.id == presale_campaigns.c.shop_id
    )
    if code is not None:
        query = query.where(presale_campaigns.c.code == code)
    return [dict(r) for r in conn.execute(query.order_by(presale_campaigns.c.deposit_ends_at)).mappings()]


def campaign_lines(conn: Connection, campaign_ids: Sequence[int]) -> list[dict[str, Any]]:
    query = (
        select(campaign_skus, skus.c.code.label("sku"), warehouses.c.code.label("warehouse"), skus.c.unit_cost)
        .join(skus, skus.c.id == campaign_skus.c.sku_id)
        .join(warehouses, warehouses.c.id == campaign_skus.c.warehouse_id)
        .where(campaign_skus.c.campaign_id.in_(list(campaign_ids)))
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def deposit_days_from_reservations(conn: Connection, campaign: dict[str, Any], sku_ids: Sequence[int]) -> list[dict]:
    """A campaign's deposits per SKU and Beijing day, from the presale stock its deposit orders locked: a
    reservation made in the shop for a campaign SKU during the deposit window (not an allocation's) is a
    deposit; one voided or expired is a refunded or lapsed deposit, counted on the day it ended."""
    made = business_day(conn, reservations.c.created_at)
    ended = business_day(conn, reservations.c.ended_at)
    base = (
        reservations.c.shop_id == campaign["shop_id"],
        reservations.c.sku_id.in_(list(sku_ids)),
        reservations.c.created_at >= campaign["deposit_starts_at"],
        reservations.c.created_at < campaign["deposit_ends_at"],
        ~reservations.c.id.like("%:a%"),  # allocation reservations re-lock the same units: not new deposits
    )
    deposits = conn.execute(
        select(reservations.c.sku_id, made.label("day"), func.sum(reservations.c.quantity))
        .where(*base)
        .group_by(reservations.c.sku_id, made)
    ).all()
    cancelled = conn.execute(
        select(reservations.c.sku_id, ended.label("day"), func.sum(reservations.c.quantity))
        .where(*base, reservations.c.status.in_(["voided", "expired"]))
        .group_by(reservations.c.sku_id, ended)
    ).all()
    days: dict[tuple[int, date], dict[str, Any]] = {}
    for sku_id, day, units in deposits:
        days.setdefault((sku_id, _as_date(day)), _day_row(campaign, sku_id, _as_date(day)))["deposits"] += units
    for sku_id, day, units in cancelled:
        days.setdefault((sku_id, _as_date(day)), _day_row(campaign, sku_id, _as_date(day)))["cancelled"] += units
    return list(days.values())


def _day_row(campaign: dict[str, Any], sku_id: int, day: date) -> dict[str, Any]:
    return {
        "campaign_id": campaign["id"],
        "sku_id": sku_id,
        "day": day,
        "deposits": 0,
        "cancelled": 0,
        "balance_paid": 0,
        "source": "orders",
    }


def replace_commitment_days(conn: Connection, campaign_id: int, source: str, rows: Sequence[dict[str, Any]]) -> None:
    conn.execute(
        delete(campaign_commitments).where(
            campaign_commitments.c.campaign_id == campaign_id, campaign_commitments.c.source == source
        )
    )
    if rows:
        conn.execute(campaign_commitments.insert(), list(rows))


def commitment_days(conn: Connection) -> list[dict[str, Any]]:
    query = select(campaign_commitments, skus.c.code.label("sku")).join(
        skus, skus.c.id == campaign_commitments.c.sku_id
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- forecast runs -----------------------------------------------------------------------------------------------


def start_run(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(forecast_runs.insert().values(**row).returning(forecast_runs.c.id)).scalar_one()


def finish_run(conn: Connection, run_id: int, **values: Any) -> None:
    conn.execute(update(forecast_runs).where(forecast_runs.c.id == run_id).values(**values))


def runs(conn: Connection, kind: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(forecast_runs).order_by(forecast_runs.c.id.desc()).limit(limit)
    if kind:
        query = query.where(forecast_runs.c.kind == kind)
    return [dict(r) for r in conn.execute(query).mappings()]


def latest_run_id(conn: Connection, kind: str) -> int | None:
    return conn.execute(
        select(func.max(forecast_runs.c.id)).where(forecast_runs.c.kind == kind, forecast_runs.c.status == "finished")
    ).scalar()


def save_demand_forecasts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 20_000):
        bulk.insert(conn, demand_forecasts, rows[start : start + 20_000])


def prune_demand_forecasts(conn: Connection, *, keep_runs: int) -> None:
    """Drop the daily rows of all but the latest `keep_runs` demand runs (a nightly run of 10,000 SKUs × 3
    warehouses writes 1.7 million); the runs themselves, with their versions and summaries, stay."""
    kept = (
        select(forecast_runs.c.id)
        .where(forecast_runs.c.kind == "demand")
        .order_by(forecast_runs.c.id.desc())
        .limit(keep_runs)
        .subquery()
    )
    oldest_kept = conn.execute(select(func.min(kept.c.id))).scalar()
    if oldest_kept is not None:
        conn.execute(delete(demand_forecasts).where(demand_forecasts.c.run_id < oldest_kept))


def demand_forecast_rows(conn: Connection, run_id: int, sku: str | None = None) -> list[dict[str, Any]]:
    query = (
        select(
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            demand_forecasts.c.day,
            demand_forecasts.c.mean,
            demand_forecasts.c.low,
            demand_forecasts.c.high,
        )
        .join(skus, skus.c.id == demand_forecasts.c.sku_id)
        .join(warehouses, warehouses.c.id == demand_forecasts.c.warehouse_id)
        .where(demand_forecasts.c.run_id == run_id)
        .order_by(skus.c.code, warehouses.c.code, demand_forecasts.c.day)
    )
    if sku:
        query = query.where(skus.c.code == sku)
    return [dict(r) for r in conn.execute(query).mappings()]


def save_presale_forecasts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(presale_forecasts.insert(), list(rows))


def presale_forecast_rows(conn: Connection, run_id: int) -> list[dict[str, Any]]:
    query = (
        select(
            presale_forecasts,
            presale_campaigns.c.code.label("campaign"),
            skus.c.code.label("sku"),
        )
        .join(presale_campaigns, presale_campaigns.c.id == presale_forecasts.c.campaign_id)
        .join(skus, skus.c.id == presale_forecasts.c.sku_id)
        .where(presale_forecasts.c.run_id == run_id)
        .order_by(presale_campaigns.c.code, skus.c.code)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- what replenishment needs ------------------------------------------------------------------------------------


def stock_by_position(conn: Connection) -> list[dict[str, Any]]:
    """Every SKU × warehouse position with its cost, price and replenishment settings (if any)."""
    query = (
        select(
            stock_positions.c.sku_id,
            stock_positions.c.warehouse_id,
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            stock_positions.c.on_hand,
            stock_positions.c.reserved,
            stock_positions.c.presale_booked,
            stock_positions.c.in_transit_purchase,
            skus.c.unit_cost,
            stock_costs.c.average_cost,
            skus.c.list_price,
            replenishment_settings.c.service_level,
            replenishment_settings.c.lead_time_days,
            replenishment_settings.c.lead_time_std_days,
            replenishment_settings.c.review_days,
            replenishment_settings.c.min_order,
            replenishment_settings.c.salvage_value,
            replenishment_settings.c.supplier_id,
        )
        .join(skus, skus.c.id == stock_positions.c.sku_id)
        .join(warehouses, warehouses.c.id == stock_positions.c.warehouse_id)
        .outerjoin(
            replenishment_settings,
            and_(
                replenishment_settings.c.sku_id == stock_positions.c.sku_id,
                replenishment_settings.c.warehouse_id == stock_positions.c.warehouse_id,
            ),
        )
        .outerjoin(
            stock_costs,
            and_(
                stock_costs.c.sku_id == stock_positions.c.sku_id,
                stock_costs.c.warehouse_id == stock_positions.c.warehouse_id,
            ),
        )
    )
    return [_at_average_cost(dict(r)) for r in conn.execute(query).mappings()]


def _at_average_cost(row: dict[str, Any]) -> dict[str, Any]:
    """The position's cost is its moving average where receipts keep one, else the catalogue cost. Planning
    prices suggestions and alerts in money, so the average is taken to the fen here."""
    average = row.pop("average_cost")
    if average is not None:
        row["unit_cost"] = yuan(Decimal(average))
    return row


def open_inbound(conn: Connection) -> list[dict[str, Any]]:
    """Units still to come on purchase orders that are placed (not drafts, not closed), with promised dates."""
    outstanding = purchase_order_lines.c.quantity - purchase_order_lines.c.received_quantity
    query = (
        select(
            purchase_order_lines.c.sku_id,
            purchase_orders.c.warehouse_id,
            purchase_order_lines.c.promised_on,
            outstanding.label("quantity"),
            purchase_orders.c.code.label("purchase_order"),
        )
        .join(purchase_orders, purchase_orders.c.id == purchase_order_lines.c.purchase_order_id)
        .where(purchase_orders.c.status.in_(["sent", "confirmed", "partly_received"]), outstanding > 0)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def supplier_terms(conn: Connection) -> list[dict[str, Any]]:
    """Each supplier's terms per SKU, cheapest first."""
    query = (
        select(
            supplier_skus.c.sku_id,
            suppliers.c.id.label("supplier_id"),
            suppliers.c.code.label("supplier"),
            supplier_skus.c.unit_cost,
            supplier_skus.c.min_order,
            supplier_skus.c.lead_time_days,
            suppliers.c.lead_time_std_days,
        )
        .join(suppliers, suppliers.c.id == supplier_skus.c.supplier_id)
        .order_by(supplier_skus.c.sku_id, supplier_skus.c.unit_cost)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- suggestions -------------------------------------------------------------------------------------------------


def supersede_open_suggestions(conn: Connection) -> None:
    conn.execute(
        update(replenishment_suggestions)
        .where(replenishment_suggestions.c.status == "open")
        .values(status="superseded")
    )


def save_suggestions(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(replenishment_suggestions.insert(), list(rows))


def suggestion_rows(
    conn: Connection, *, status: str | None, ids: Sequence[int] | None = None, lock: bool = False
) -> list[dict[str, Any]]:
    query = (
        select(
            replenishment_suggestions,
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            suppliers.c.code.label("supplier"),
        )
        .join(skus, skus.c.id == replenishment_suggestions.c.sku_id)
        .join(warehouses, warehouses.c.id == replenishment_suggestions.c.warehouse_id)
        .outerjoin(suppliers, suppliers.c.id == replenishment_suggestions.c.supplier_id)
        .order_by(replenishment_suggestions.c.id)
    )
    if status:
        query = query.where(replenishment_suggestions.c.status == status)
    if ids is not None:
        query = query.where(replenishment_suggestions.c.id.in_(list(ids)))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=replenishment_suggestions)
    return [dict(r) for r in conn.execute(query).mappings()]


def mark_suggestions_ordered(conn: Connection, ids_by_po: dict[int, list[int]]) -> None:
    for po_id, ids in ids_by_po.items():
        conn.execute(
            update(replenishment_suggestions)
            .where(replenishment_suggestions.c.id.in_(ids))
            .values(status="ordered", purchase_order_id=po_id)
        )


# --- alerts ------------------------------------------------------------------------------------------------------


def open_alerts_by_key(conn: Connection) -> dict[str, dict[str, Any]]:
    rows = conn.execute(select(alerts).where(alerts.c.status == "open")).mappings()
    return {r["key"]: dict(r) for r in rows}


def alert_ids_by_key(conn: Connection, keys: Sequence[str]) -> dict[str, int]:
    if not keys:
        return {}
    rows = conn.execute(select(alerts.c.key, alerts.c.id).where(alerts.c.key.in_(list(keys))))
    return {key: alert_id for key, alert_id in rows}


def insert_alerts(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(alerts.insert(), list(rows))


def refresh_alert(conn: Connection, alert_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(alerts).where(alerts.c.id == alert_id).values(**values))


def resolve_alerts(conn: Connection, ids: Sequence[int], now: datetime) -> None:
    if ids:
        conn.execute(update(alerts).where(alerts.c.id.in_(list(ids))).values(status="resolved", resolved_at=now))


def alert_rows(
    conn: Connection,
    *,
    status: str | None,
    kind: str | None,
    campaign: str | None,
    limit: int,
    alert_id: int | None = None,
) -> list[dict[str, Any]]:
    query = (
        select(
            alerts,
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            presale_campaigns.c.code.label("campaign"),
        )
        .outerjoin(skus, skus.c.id == alerts.c.sku_id)
        .outerjoin(warehouses, warehouses.c.id == alerts.c.warehouse_id)
        .outerjoin(presale_campaigns, presale_campaigns.c.id == alerts.c.campaign_id)
        .order_by(
            case((alerts.c.severity == "critical", 0), (alerts.c.severity == "warning", 1), else_=2),
            alerts.c.money_at_stake.desc(),
            alerts.c.id,
        )
        .limit(limit)
    )
    if status:
        query = query.where(alerts.c.status == status)
    if kind:
        query = query.where(alerts.c.kind == kind)
    if campaign:
        query = query.where(presale_campaigns.c.code == campaign)
    if alert_id is not None:
        query = query.where(alerts.c.id == alert_id)
    return [dict(r) for r in conn.execute(query).mappings()]


def reopen(conn: Connection, alert_id: int, values: dict[str, Any]) -> None:
    conn.execute(
        update(alerts).where(alerts.c.id == alert_id).values(**values, status="open", resolved_at=literal(None))
    )
