"""The finance reports' grouped queries: cash per day and channel, P&L parts and refund rates from the payments
ledger and the sales postings. Every query groups in the database and returns amounts as whole fen (int), so a
report over a million order lines sends back one row per group, never the lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, and_, case, func, literal_column, select, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from presale_erp.adapters.db.planning_repo import BUSINESS_UTC_OFFSET_HOURS, business_day
from presale_erp.adapters.db.tables import payment_entries, sales_postings, shops, skus, warehouses

FEE_KINDS = ("platform_fee", "commission")
REFUND_POSTINGS = ("return", "refund_allowance")


@dataclass(frozen=True)
class Scope:
    """What a report covers: [start, end) in UTC and the ids it is narrowed to (None: all)."""

    start: datetime | None = None
    end: datetime | None = None
    shop_id: int | None = None
    sku_id: int | None = None
    warehouse_id: int | None = None


def as_date(value: date | str | None) -> date | None:
    """A grouped day as a date: SQLite hands it back as text, PostgreSQL as a date."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def fen(column: Any) -> ColumnElement[int]:
    """A Money column as its stored whole fen, so sums stay exact integers on both databases."""
    return type_coerce(column, BigInteger)


def business_month(conn: Connection, column: Any) -> ColumnElement[str]:
    """The Beijing calendar month (YYYY-MM) of a UTC timestamp column, in SQL."""
    if conn.dialect.name == "sqlite":
        return func.strftime("%Y-%m", column, f"+{BUSINESS_UTC_OFFSET_HOURS} hours")
    return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")


def period_key(conn: Connection, column: Any, period: str) -> ColumnElement[Any]:
    return business_day(conn, column) if period == "day" else business_month(conn, column)


def _in_time(column: Any, scope: Scope) -> list[ColumnElement[bool]]:
    found = []
    if scope.start is not None:
        found.append(column >= scope.start)
    if scope.end is not None:
        found.append(column < scope.end)
    return found


def _posting_filters(scope: Scope) -> list[ColumnElement[bool]]:
    sp = sales_postings.c
    found = _in_time(sp.occurred_at, scope)
    for column, wanted in (
        (sp.shop_id, scope.shop_id),
        (sp.sku_id, scope.sku_id),
        (sp.warehouse_id, scope.warehouse_id),
    ):
        if wanted is not None:
            found.append(column == wanted)
    return found


def _sum_if(condition: ColumnElement[bool], value: Any) -> ColumnElement[int]:
    return func.sum(case((condition, value), else_=literal_column("0")))


# --- cash ----------------------------------------------------------------------------------------------------------


def cash_days(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Money in and out per Beijing day and channel, in fen."""
    pe = payment_entries.c
    day = business_day(conn, pe.occurred_at).label("day")
    amount = fen(pe.amount)
    query = (
        select(
            day,
            pe.channel,
            _sum_if(amount > 0, amount).label("money_in"),
            _sum_if(amount < 0, -amount).label("money_out"),
        )
        .where(*_in_time(pe.occurred_at, scope), *_shop_filter(scope))
        .group_by(day, pe.channel)
        .order_by(day, pe.channel)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def cash_before(conn: Connection, scope: Scope) -> dict[str, int]:
    """Each channel's net money before the scope starts: the opening balance of its running balance."""
    if scope.start is None:
        return {}
    pe = payment_entries.c
    rows = conn.execute(
        select(pe.channel, func.sum(fen(pe.amount)))
        .where(pe.occurred_at < scope.start, *_shop_filter(scope))
        .group_by(pe.channel)
    ).all()
    return {channel: int(total) for channel, total in rows}


def _shop_filter(scope: Scope) -> list[ColumnElement[bool]]:
    return [payment_entries.c.shop_id == scope.shop_id] if scope.shop_id is not None else []


# --- P&L -----------------------------------------------------------------------------------------------------------


def _group_column(conn: Connection, group_by: str, table_columns: Any) -> ColumnElement[Any]:
    if group_by in ("day", "month"):
        return period_key(conn, table_columns.occurred_at, group_by)
    return getattr(table_columns, f"{group_by}_id")


def posting_totals(conn: Connection, scope: Scope, group_by: str) -> list[dict[str, Any]]:
    """Revenue, refunds, forfeited deposits, cost and units per group (shop | sku | warehouse | day | month)."""
    sp = sales_postings.c
    key = _group_column(conn, group_by, sp).label("key")
    revenue, cost = fen(sp.revenue), fen(sp.cost)
    query = (
        select(
            key,
            _sum_if(sp.kind == "shipment", revenue).label("gross_revenue"),
            _sum_if(sp.kind.in_(REFUND_POSTINGS), -revenue).label("refunds"),
            _sum_if(sp.kind == "deposit_forfeited", revenue).label("forfeited_deposits"),
            func.sum(revenue).label("net_revenue"),
            func.sum(cost).label("cogs"),
            _sum_if(sp.kind == "shipment", sp.quantity).label("units_shipped"),
            _sum_if(sp.kind == "return", -sp.quantity).label("units_returned"),
        )
        .where(*_posting_filters(scope))
        .group_by(key)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def direct_fees(conn: Connection, scope: Scope, group_by: str) -> list[dict[str, Any]]:
    """Platform fees and commissions per shop or period, as charged (no allocation needed): fen, positive."""
    pe = payment_entries.c
    key = _group_column(conn, group_by, pe).label("key")
    query = (
        select(key, func.sum(-fen(pe.amount)).label("fees"))
        .where(pe.kind.in_(FEE_KINDS), *_in_time(pe.occurred_at, scope), *_shop_filter(scope))
        .group_by(key)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def allocated_fees(conn: Connection, scope: Scope, group_by: str) -> list[dict[str, Any]]:
    """Fees charged in the scope, spread over each order's shipped lines by their share of its shipped revenue,
    summed per group, in whole fen. Each fee is split exactly (largest remainder: every line gets the floor of
    its share and the fen left over go to the lines with the largest remainders), so the groups add up to the
    fees charged, with integer arithmetic on both databases. Fees of no order, or of an order that shipped
    nothing, come back under key None (unallocated) unless a SKU or warehouse filter excludes them. One
    statement: the order's total comes from a window over its grouped lines, not from a second pass."""
    pe, sp = payment_entries.c, sales_postings.c
    fee_filters = (pe.kind.in_(FEE_KINDS), *_in_time(pe.occurred_at, scope), *_shop_filter(scope))
    bucket = period_key(conn, pe.occurred_at, group_by) if group_by in ("day", "month") else pe.shop_id
    charged = (
        select(pe.order_id, bucket.label("bucket"), func.sum(-fen(pe.amount)).label("fee"))
        .where(*fee_filters)
        .group_by(pe.order_id, bucket)
        .subquery("charged")
    )
    part = func.sum(fen(sp.revenue))
    parts = (
        select(
            sp.order_id,
            sp.sku_id,
            sp.warehouse_id,
            part.label("part"),
            func.sum(part).over(partition_by=sp.order_id).label("total"),
            func.count().over(partition_by=sp.order_id).label("lines"),
        )
        .where(sp.kind == "shipment", sp.order_id.in_(select(pe.order_id).where(*fee_filters)))
        .group_by(sp.order_id, sp.sku_id, sp.warehouse_id)
        .subquery("parts")
    )
    allocatable = and_(parts.c.total.is_not(None), parts.c.total > 0)
    # An order that shipped nothing of value keeps its fee once, unallocated, split evenly over the lines it
    # joined (they all fall under the unallocated key).
    weight = case((allocatable, parts.c.part), else_=1)
    whole = case((allocatable, parts.c.total), else_=func.coalesce(parts.c.lines, 1))
    split = select(
        charged.c.order_id,
        charged.c.bucket,
        charged.c.fee,
        parts.c.sku_id,
        parts.c.warehouse_id,
        allocatable.label("allocatable"),
        (charged.c.fee * weight / whole).label("floor"),  # integer division: both operands are whole fen
        ((charged.c.fee * weight) % whole).label("remainder"),
    ).select_from(charged.outerjoin(parts, parts.c.order_id == charged.c.order_id))
    split = split.subquery("split")
    one_fee = (split.c.order_id, split.c.bucket)
    ranked = select(
        split,
        func.row_number()
        .over(partition_by=one_fee, order_by=(split.c.remainder.desc(), split.c.sku_id, split.c.warehouse_id))
        .label("rank"),
        (split.c.fee - func.sum(split.c.floor).over(partition_by=one_fee)).label("left_over"),
    ).subquery("ranked")
    share = ranked.c.floor + case((ranked.c.rank <= ranked.c.left_over, 1), else_=0)
    key = _allocation_key(group_by, ranked).label("key")
    query = select(key, func.sum(share).label("fees")).where(*_part_filters(scope, ranked)).group_by(key)
    return [dict(r) for r in conn.execute(query).mappings() if r["fees"]]


def prepare_read(conn: Connection) -> None:
    """Give a report's grouping room in memory on PostgreSQL (the 4 MB default spills a million lines' hash
    aggregates to disk); only for this read-only transaction."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")


def _allocation_key(group_by: str, ranked: Any) -> ColumnElement[Any]:
    if group_by in ("sku", "warehouse"):
        column = ranked.c.sku_id if group_by == "sku" else ranked.c.warehouse_id
        return case((ranked.c.allocatable, column), else_=None)
    return ranked.c.bucket  # the shop or the period the fee was charged in


def _part_filters(scope: Scope, parts: Any) -> list[ColumnElement[bool]]:
    found = []
    if scope.sku_id is not None:
        found.append(parts.c.sku_id == scope.sku_id)
    if scope.warehouse_id is not None:
        found.append(parts.c.warehouse_id == scope.warehouse_id)
    return found


# --- refund rates --------------------------------------------------------------------------------------------------


def refund_totals(conn: Connection, scope: Scope, group_by: str) -> list[dict[str, Any]]:
    """Units shipped and returned, revenue and refunds per SKU or shop (fen)."""
    sp = sales_postings.c
    key = _group_column(conn, group_by, sp).label("key")
    revenue = fen(sp.revenue)
    query = (
        select(
            key,
            _sum_if(sp.kind == "shipment", sp.quantity).label("units_shipped"),
            _sum_if(sp.kind == "return", -sp.quantity).label("units_returned"),
            _sum_if(sp.kind == "shipment", revenue).label("revenue"),
            _sum_if(sp.kind.in_(REFUND_POSTINGS), -revenue).label("refunds"),
        )
        .where(*_posting_filters(scope))
        .group_by(key)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


# --- labels --------------------------------------------------------------------------------------------------------

LABEL_TABLES = {"shop": shops, "sku": skus, "warehouse": warehouses}


def labels(conn: Connection, kind: str, ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    """Code and name of the shops, SKUs or warehouses a report's groups name."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    table = LABEL_TABLES[kind]
    rows = conn.execute(select(table.c.id, table.c.code, table.c.name).where(table.c.id.in_(wanted))).all()
    return {i: (code, name) for i, code, name in rows}


def id_of(conn: Connection, kind: str, code: str) -> int | None:
    table = LABEL_TABLES[kind]
    return conn.execute(select(table.c.id).where(table.c.code == code)).scalar()
