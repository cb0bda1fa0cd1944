"""Finance reports (财务报表): daily cash, P&L, refund rates and inventory valuation. Each report is grouped in the
database (one query per part) and read on a read-only unit of work (the place a read replica plugs in); this
module turns fen into yuan, works out ratios and running balances on the grouped rows, and names the groups.

P&L attribution of platform fees and commissions (payment_entries platform_fee | commission): by shop or period
they count where and when they were charged. By SKU or warehouse (or under a SKU or warehouse filter) an order's
fees are spread over its shipped lines in proportion to their share of the order's shipped revenue (all its
shipments, whenever they happened), each group's sum rounded to the fen; fees of no order, or of an order that
shipped nothing, show as one unallocated row (key None) so the fee total still adds up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters.db import finance_report_repo as repo
from presale_erp.adapters.db.finance_report_repo import Scope
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.errors import Forbidden, InvalidRequest
from presale_erp.domain.reporting import beijing_window, ratio, yuan_of_fen
from presale_erp.services import costing

PNL_GROUPS = ("shop", "sku", "warehouse", "day", "month")
REFUND_GROUPS = ("sku", "shop")
UNALLOCATED = "未分摊费用"


@dataclass(frozen=True)
class ReportFilters:
    """Beijing days date_from..date_to (both included) and codes to narrow a report to; None: no limit."""

    date_from: date | None = None
    date_to: date | None = None
    shop: str | None = None
    sku: str | None = None
    warehouse: str | None = None


def ensure_reader(actor: Actor) -> None:
    if not actor.may(Permission.FINANCE_READ):
        raise Forbidden(f"{actor.label} lacks the permission '{Permission.FINANCE_READ.value}' for finance reports.")


def resolve_scope(conn: Connection, filters: ReportFilters) -> Scope:
    start, end = beijing_window(filters.date_from, filters.date_to)
    ids: dict[str, int | None] = {}
    for kind in ("shop", "sku", "warehouse"):
        code = getattr(filters, kind)
        ids[kind] = None if code is None else repo.id_of(conn, kind, code)
        if code is not None and ids[kind] is None:
            raise InvalidRequest(f"There is no {kind} with code '{code}'; check the {kind} filter.")
    return Scope(start, end, ids["shop"], ids["sku"], ids["warehouse"])


def _refuse(filters: ReportFilters, names: tuple[str, ...], report: str) -> None:
    given = [name for name in names if getattr(filters, name) is not None]
    if given:
        raise InvalidRequest(f"The {report} report cannot be filtered by {', '.join(given)}.")


# --- cash ----------------------------------------------------------------------------------------------------------


def cash(db: Database, actor: Actor, filters: ReportFilters) -> dict[str, Any]:
    """Money in and out per Beijing day and channel, with each channel's running balance (from everything
    before date_from, so the balance is the channel's real one, not one restarted at the window)."""
    ensure_reader(actor)
    _refuse(filters, ("sku", "warehouse"), "cash")
    with db.uow(write=False) as uow:
        repo.prepare_read(uow.conn)
        scope = resolve_scope(uow.conn, filters)
        grouped = repo.cash_days(uow.conn, scope)
        opening = {channel: yuan_of_fen(total) for channel, total in repo.cash_before(uow.conn, scope).items()}
    balances = dict(opening)
    rows = []
    for row in grouped:
        money_in, money_out = yuan_of_fen(row["money_in"]), yuan_of_fen(row["money_out"])
        net = money_in - money_out
        balances[row["channel"]] = balances.get(row["channel"], Decimal("0.00")) + net
        rows.append(
            {
                "day": repo.as_date(row["day"]),
                "channel": row["channel"],
                "money_in": money_in,
                "money_out": money_out,
                "net": net,
                "balance": balances[row["channel"]],
            }
        )
    totals_in = sum((r["money_in"] for r in rows), Decimal("0.00"))
    totals_out = sum((r["money_out"] for r in rows), Decimal("0.00"))
    opening_total = sum(opening.values(), Decimal("0.00"))
    return {
        "rows": rows,
        "totals": {
            "opening": opening_total,
            "money_in": totals_in,
            "money_out": totals_out,
            "net": totals_in - totals_out,
            "closing": opening_total + totals_in - totals_out,
        },
    }


# --- P&L -----------------------------------------------------------------------------------------------------------


def pnl(db: Database, actor: Actor, filters: ReportFilters, group_by: str) -> dict[str, Any]:
    """Revenue, refunds, COGS at moving-average cost, gross profit and margin, fees and net per group."""
    ensure_reader(actor)
    if group_by not in PNL_GROUPS:
        raise InvalidRequest(f"group_by must be one of {', '.join(PNL_GROUPS)}, not '{group_by}'.")
    with db.uow(write=False) as uow:
        repo.prepare_read(uow.conn)
        scope = resolve_scope(uow.conn, filters)
        postings = repo.posting_totals(uow.conn, scope, group_by)
        allocate = group_by in ("sku", "warehouse") or scope.sku_id is not None or scope.warehouse_id is not None
        fees = (repo.allocated_fees if allocate else repo.direct_fees)(uow.conn, scope, group_by)
        names = _names(uow.conn, group_by, [r["key"] for r in postings] + [r["key"] for r in fees])
    groups: dict[Any, dict[str, Any]] = {}
    for row in postings:
        groups[_key(row["key"], group_by)] = _pnl_amounts(row)
    for row in fees:
        group = groups.setdefault(_key(row["key"], group_by), _pnl_amounts({}))
        group["fees"] += yuan_of_fen(row["fees"])
    rows = sorted(
        ({**_label(key, group_by, names), **_pnl_figures(g)} for key, g in groups.items()),
        key=lambda r: (r["key"] is None, r["key"] or ""),
    )
    totals = _pnl_amounts({})
    for group in groups.values():
        for name in ("gross_revenue", "refunds", "forfeited_deposits", "net_revenue", "cogs", "fees"):
            totals[name] += group[name]
        totals["units_shipped"] += group["units_shipped"]
        totals["units_returned"] += group["units_returned"]
    return {"group_by": group_by, "rows": rows, "totals": _pnl_figures(totals)}


def _pnl_amounts(row: dict[str, Any]) -> dict[str, Any]:
    money = ("gross_revenue", "refunds", "forfeited_deposits", "net_revenue", "cogs")
    return {
        **{name: yuan_of_fen(row.get(name)) for name in money},
        "fees": Decimal("0.00"),
        "units_shipped": int(row.get("units_shipped") or 0),
        "units_returned": int(row.get("units_returned") or 0),
    }


def _pnl_figures(group: dict[str, Any]) -> dict[str, Any]:
    gross_profit = group["net_revenue"] - group["cogs"]
    return {
        **group,
        "gross_profit": gross_profit,
        "gross_margin": ratio(gross_profit, group["net_revenue"]),
        "net_profit": gross_profit - group["fees"],
    }


# --- refund rates --------------------------------------------------------------------------------------------------


def refund_rates(db: Database, actor: Actor, filters: ReportFilters, group_by: str) -> dict[str, Any]:
    """Units returned / units shipped and refunds / revenue per SKU or shop (returns and refunds without
    return both count as refunds; the period is when each posting happened)."""
    ensure_reader(actor)
    if group_by not in REFUND_GROUPS:
        raise InvalidRequest(f"group_by must be one of {', '.join(REFUND_GROUPS)}, not '{group_by}'.")
    with db.uow(write=False) as uow:
        repo.prepare_read(uow.conn)
        scope = resolve_scope(uow.conn, filters)
        grouped = repo.refund_totals(uow.conn, scope, group_by)
        names = _names(uow.conn, group_by, [r["key"] for r in grouped])
    rows = sorted(
        ({**_label(row["key"], group_by, names), **_refund_figures(row)} for row in grouped), key=lambda r: r["key"]
    )
    totals = {
        name: sum(row[name] for row in grouped) or 0
        for name in ("units_shipped", "units_returned", "revenue", "refunds")
    }
    return {"group_by": group_by, "rows": rows, "totals": _refund_figures(totals)}


def _refund_figures(row: dict[str, Any]) -> dict[str, Any]:
    shipped, returned = int(row["units_shipped"] or 0), int(row["units_returned"] or 0)
    revenue, refunds = yuan_of_fen(row["revenue"]), yuan_of_fen(row["refunds"])
    return {
        "units_shipped": shipped,
        "units_returned": returned,
        "return_rate": ratio(returned, shipped),
        "revenue": revenue,
        "refunds": refunds,
        "refund_rate": ratio(refunds, revenue),
    }


# --- inventory valuation -------------------------------------------------------------------------------------------


def inventory_valuation(db: Database, actor: Actor, filters: ReportFilters) -> dict[str, Any]:
    """Stock at moving-average cost per warehouse, and per SKU × warehouse below it: sellable (on hand) and
    damaged (残次品) apart. The costing service's own valuation, so report and receiving screens never disagree."""
    ensure_reader(actor)
    _refuse(filters, ("date_from", "date_to", "shop"), "inventory valuation (it is the stock as it stands now)")
    with db.uow(write=False) as uow:
        resolve_scope(uow.conn, filters)
    warehouses = costing.valuation(db, warehouse=filters.warehouse, sku=filters.sku)
    lines = costing.stock_costs(db, warehouse=filters.warehouse, sku=filters.sku)
    totals = {
        "units": sum(w["units"] for w in warehouses),
        "value": sum((w["value"] for w in warehouses), Decimal("0.00")),
        "units_without_cost": sum(w["units_without_cost"] for w in warehouses),
        "damaged_units": sum(w["damaged_units"] for w in warehouses),
        "damaged_value": sum((w["damaged_value"] for w in warehouses), Decimal("0.00")),
    }
    return {"warehouses": warehouses, "lines": lines, "totals": totals}


# --- naming groups -------------------------------------------------------------------------------------------------


def _names(conn: Connection, group_by: str, keys: list[Any]) -> dict[Any, tuple[str, str]]:
    return repo.labels(conn, group_by, keys) if group_by in repo.LABEL_TABLES else {}


def _key(value: Any, group_by: str) -> Any:
    if value is None or group_by not in ("day", "month"):
        return value
    return value.isoformat()[: 7 if group_by == "month" else 10] if isinstance(value, date) else str(value)


def _label(key: Any, group_by: str, names: dict[Any, tuple[str, str]]) -> dict[str, Any]:
    if key is None:
        return {"key": None, "name": UNALLOCATED}
    if group_by in ("day", "month"):
        return {"key": key, "name": None}
    code, name = names.get(key, (str(key), ""))
    return {"key": code, "name": name}
