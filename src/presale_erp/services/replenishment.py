"""Replenishment planning (补货): from the latest forecasts, stock, inbound purchase orders and each SKU's
settings, decide what to buy (reorder suggestions, presale newsvendor quantities) and what is at risk (alerts).
Suggestions become draft purchase orders in one action."""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import planning_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.forecasting.decisions import (
    Z_80,
    DailyDemand,
    DemandRange,
    Inbound,
    LeadTime,
    StockPicture,
    UnitEconomics,
    money_at,
    newsvendor,
    overstock_units,
    projected_stockout,
    reorder_policy,
    replenishment,
)
from presale_erp.services import alerts
from presale_erp.services.demand_history import beijing_day

DEFAULT_SERVICE_LEVEL = 0.95
DEFAULT_LEAD_TIME = LeadTime(14, 3)  # days: a domestic supplier's usual, until settings or deliveries say otherwise
DEFAULT_REVIEW_DAYS = 7
DEFAULT_SALVAGE_SHARE = Decimal("0.3")  # leftover presale goods clear at about 30% of cost (清仓)
OVERSTOCK_MARGIN = 0.10  # leftover under 10% of expected demand is normal slack, not 积压
AFTER_CAMPAIGN_DAYS = 30  # regular sales that still absorb presale leftovers
ASN_TRANSIT_DAYS = 3  # stock a supplier has shipped (an inbound notice) is on a truck: days, not weeks


@dataclass
class Position:
    row: dict[str, Any]
    inbound: list[Inbound] = field(default_factory=list)
    forecast: list[tuple[date, float, float, float]] = field(default_factory=list)  # day, mean, low, high

    @property
    def available(self) -> int:
        """What regular orders can still take. Units booked by presale deposits are left out here: they are
        sold against the campaign's quota and its inbound stock, which the presale checks weigh separately."""
        return self.row["on_hand"] - (self.row["reserved"] - self.row["presale_booked"])

    @property
    def stock(self) -> StockPicture:
        return StockPicture(self.available, tuple(self.inbound))

    @property
    def unit_cost(self) -> Decimal:
        return self.row["unit_cost"] or Decimal("0")

    @property
    def price(self) -> Decimal:
        return self.row["list_price"] or self.unit_cost

    @property
    def margin(self) -> Decimal:
        return max(self.price - self.unit_cost, Decimal("0"))


@dataclass(frozen=True)
class PlanReport:
    suggestions: int
    alerts_opened: int
    alerts_refreshed: int
    alerts_resolved: int


def plan(db: Database, actor: Actor, *, now: datetime) -> PlanReport:
    """Re-plan from the latest finished forecasts: suggestions are replaced, alerts opened, refreshed, resolved."""
    today = beijing_day(now)
    with db.uow() as uow:
        conn = uow.conn
        demand_run = planning_repo.latest_run_id(conn, "demand")
        presale_run = planning_repo.latest_run_id(conn, "presale")
        positions = _positions(conn, demand_run, today)
        terms = _terms_by_sku(planning_repo.supplier_terms(conn))
        suggestions, candidates = [], []
        if presale_run is not None:
            suggestions, candidates = _presale(conn, presale_run, positions, terms, now, today)
        # A campaign's newsvendor quantity already covers that SKU's regular sales through the campaign: a reorder
        # on top of it would buy the same units twice.
        covered = {(s["sku_id"], s["warehouse_id"]) for s in suggestions}
        for key, position in positions.items():
            if key not in covered:
                suggestions += _reorder(position, terms, demand_run, now)
            candidates += _stock_alerts(position, terms, today)
        planning_repo.supersede_open_suggestions(conn)
        planning_repo.save_suggestions(conn, suggestions)
        synced = alerts.sync(conn, candidates, run_id=demand_run or presale_run, now=now)
        uow.commit()
    return PlanReport(len(suggestions), synced.opened, synced.refreshed, synced.resolved)


def _positions(conn, demand_run: int | None, today: date) -> dict[tuple[int, int], Position]:
    positions = {(r["sku_id"], r["warehouse_id"]): Position(r) for r in planning_repo.stock_by_position(conn)}
    for line in planning_repo.open_inbound(conn):
        position = positions.get((line["sku_id"], line["warehouse_id"]))
        if position is not None:
            arrives = line["promised_on"] or today + timedelta(days=DEFAULT_LEAD_TIME.mean_days)
            position.inbound.append(Inbound(int(line["quantity"]), max(arrives, today)))
    for position in positions.values():
        # Stock a supplier has shipped (an ASN) that no open purchase order line accounts for: landing soon.
        shipped = position.row["in_transit_purchase"] - sum(i.quantity for i in position.inbound)
        if shipped > 0:
            position.inbound.append(Inbound(shipped, today + timedelta(days=ASN_TRANSIT_DAYS)))
    if demand_run is not None:
        ids = {(p.row["sku"], p.row["warehouse"]): key for key, p in positions.items()}
        for r in planning_repo.demand_forecast_rows(conn, demand_run):
            key = ids.get((r["sku"], r["warehouse"]))
            if key is not None and r["day"] >= today:
                positions[key].forecast.append((r["day"], r["mean"], r["low"], r["high"]))
    return positions


def _terms_by_sku(rows: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    by_sku: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_sku[row["sku_id"]].append(row)
    return by_sku


def _supplier(position: Position, terms: dict[int, list[dict[str, Any]]]) -> dict[str, Any] | None:
    """The SKU's chosen supplier (settings), else its cheapest."""
    offers = terms.get(position.row["sku_id"], [])
    chosen = position.row["supplier_id"]
    return next((o for o in offers if o["supplier_id"] == chosen), None) or (offers[0] if offers else None)


def _lead_time(position: Position, supplier: dict[str, Any] | None) -> LeadTime:
    if position.row["lead_time_days"] is not None:
        return LeadTime(float(position.row["lead_time_days"]), float(position.row["lead_time_std_days"]))
    if supplier is not None:
        return LeadTime(float(supplier["lead_time_days"]), float(supplier["lead_time_std_days"]))
    return DEFAULT_LEAD_TIME


def _daily(position: Position) -> DailyDemand:
    means = [mean for _, mean, _, _ in position.forecast]
    spreads = [(high - low) / (2 * Z_80) for _, _, low, high in position.forecast]
    return DailyDemand(max(statistics.fmean(means), 0.0), max(statistics.fmean(spreads), 0.0))


def _reorder(position: Position, terms, run_id: int | None, now: datetime) -> list[dict[str, Any]]:
    if not position.forecast:
        return []
    supplier = _supplier(position, terms)
    demand = _daily(position)
    if demand.mean <= 0:
        return []
    service = float(position.row["service_level"] or DEFAULT_SERVICE_LEVEL)
    policy = reorder_policy(demand, _lead_time(position, supplier), service)
    review = position.row["review_days"] or DEFAULT_REVIEW_DAYS
    min_order = position.row["min_order"] or (supplier["min_order"] if supplier else 1)
    decision = replenishment(position.stock, policy, demand, review_days=review, min_order=min_order)
    if decision.quantity <= 0:
        return []
    cost = supplier["unit_cost"] if supplier else position.unit_cost
    return [
        _suggestion(
            position, "reorder", decision.quantity, cost, decision.explanation, decision.inputs, supplier, run_id, now
        )
    ]


def _suggestion(position, kind, quantity, cost, explanation, inputs, supplier, run_id, now) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "sku_id": position.row["sku_id"],
        "warehouse_id": position.row["warehouse_id"],
        "supplier_id": supplier["supplier_id"] if supplier else None,
        "kind": kind,
        "quantity": quantity,
        "unit_cost": cost,
        "explanation": explanation[:1500],
        "inputs": {**inputs, "supplier": supplier["supplier"] if supplier else None},
        "status": "open",
        "purchase_order_id": None,
        "created_at": now,
    }


def _stock_alerts(position: Position, terms, today: date) -> list[dict[str, Any]]:
    if not position.forecast:
        return []
    supplier = _supplier(position, terms)
    demand = _daily(position)
    lead = _lead_time(position, supplier)
    service = float(position.row["service_level"] or DEFAULT_SERVICE_LEVEL)
    policy = reorder_policy(demand, lead, service)
    found = []
    sku, wh = position.row["sku"], position.row["warehouse"]
    if position.available < policy.safety_stock:
        short = policy.safety_stock - position.available
        found.append(
            alerts.candidate(
                kind="below_safety_stock",
                severity="warning",
                position=position.row,
                money=money_at(short, position.margin),
                title=f"{sku} @ {wh}: below safety stock ({position.available} < {policy.safety_stock})",
                reason=(
                    f"{position.available} units can still be sold, under the safety stock of {policy.safety_stock} "
                    f"that covers {service:.0%} of demand swings over the {lead.mean_days:g}-day lead time. "
                    f"About {demand.mean:.1f} sell a day."
                ),
                action="Order now (see the replenishment suggestion) or move stock from another warehouse.",
                details={**policy.inputs, "available": position.available, "safety_stock": policy.safety_stock},
            )
        )
    daily = [(day, mean) for day, mean, _, _ in position.forecast]
    stockout = projected_stockout(position.stock, daily)
    arrival = min((i.arrives_on for i in position.inbound), default=None)
    replenished_by = arrival or today + timedelta(days=round(lead.mean_days))
    if stockout is not None and stockout < replenished_by:
        gap = sum(mean for day, mean in daily if stockout <= day < replenished_by)
        landing = (
            f"the next delivery lands on {arrival}"
            if arrival
            else (f"nothing is on order and a new order takes about {lead.mean_days:g} days")
        )
        found.append(
            alerts.candidate(
                kind="stockout_before_inbound",
                severity="critical",
                position=position.row,
                money=money_at(gap, position.price),
                title=f"{sku} @ {wh}: out of stock on {stockout}, before stock arrives",
                reason=(
                    f"At about {demand.mean:.1f} a day, the {position.available} units available run out on "
                    f"{stockout}, but {landing}: about {gap:.0f} units of demand go unserved."
                ),
                action="Expedite the purchase order, order now, or transfer stock from another warehouse.",
                details={
                    "stockout_on": stockout.isoformat(),
                    "replenished_by": replenished_by.isoformat(),
                    "units_short": round(gap, 1),
                    "daily_demand": round(demand.mean, 2),
                },
            )
        )
    return found


# --- presale campaigns -------------------------------------------------------------------------------------------


def _presale(conn, run_id: int, positions, terms, now: datetime, today: date):
    rows = planning_repo.presale_forecast_rows(conn, run_id)
    campaigns = {c["id"]: c for c in planning_repo.campaigns(conn)}
    lines = planning_repo.campaign_lines(conn, list({r["campaign_id"] for r in rows}))
    by_curve: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        by_curve[(line["campaign_id"], line["sku_id"])].append(line)
    suggestions, found = [], []
    for forecast in rows:
        campaign = campaigns[forecast["campaign_id"]]
        if (campaign["balance_ends_at"] or campaign["deposit_ends_at"]) <= now:
            continue
        warehouse_lines = by_curve[(forecast["campaign_id"], forecast["sku_id"])]
        quota = sum(line["presale_quota"] for line in warehouse_lines) or len(warehouse_lines)
        for line in warehouse_lines:
            share = (line["presale_quota"] or 1) / quota
            position = positions.get((line["sku_id"], line["warehouse_id"]))
            if position is None:
                continue
            s, a = _presale_position(position, campaign, forecast, line, share, terms, run_id, now, today)
            suggestions += s
            found += a
    return suggestions, found


def _presale_position(position, campaign, forecast, line, share, terms, run_id, now, today):
    sku, wh = position.row["sku"], position.row["warehouse"]
    point, low, high = forecast["point"] * share, forecast["low"] * share, forecast["high"] * share
    # Stock the campaign can use: what is on hand or coming, less what other (non-presale) orders already hold.
    other_holds = position.row["reserved"] - position.row["presale_booked"]
    supply = position.row["on_hand"] - other_holds + sum(i.quantity for i in position.inbound)
    price, cost = line["price"], position.unit_cost
    salvage = (
        position.row["salvage_value"]
        if position.row["salvage_value"] is not None
        else ((cost * DEFAULT_SALVAGE_SHARE).quantize(Decimal("0.01")))
    )
    suggestions, found = [], []
    details = {
        "campaign": campaign["code"],
        "forecast_point": round(point, 1),
        "forecast_low": round(low, 1),
        "forecast_high": round(high, 1),
        "warehouse_share": round(share, 3),
        "supply": supply,
        "on_hand": position.row["on_hand"],
        "inbound": sum(i.quantity for i in position.inbound),
        "deposits_held": forecast["committed"],
        "forecast_explanation": forecast["explanation"],
    }
    ships_from = beijing_day(campaign["ships_from"])
    after = ships_from + timedelta(days=AFTER_CAMPAIGN_DAYS)
    regular = sum(mean for day, mean, _, _ in position.forecast if today <= day < after)
    if cost > 0 and price > 0:
        economics = UnitEconomics(cost, price, min(salvage, cost))
        # What the stock must cover: the campaign's balance-paid units plus regular sales until it has shipped.
        need = DemandRange(point + regular, min(low, point) + regular, max(high, point) + regular)
        decision = newsvendor(need, economics, on_hand=max(supply, 0))
        if decision.quantity > 0:
            supplier = _supplier(position, terms)
            explanation = (
                f"Presale {campaign['code']} and regular sales until {after} (about {regular:.0f} units): "
                f"{decision.explanation} {forecast['explanation']}"
            )
            suggestions.append(
                _suggestion(
                    position,
                    "presale",
                    decision.quantity,
                    supplier["unit_cost"] if supplier else cost,
                    explanation,
                    {**decision.inputs, **details},
                    supplier,
                    run_id,
                    now,
                )
            )
    if point > supply:
        short = point - supply
        found.append(
            alerts.candidate(
                kind="presale_ahead_of_stock",
                severity="critical" if low > supply else "warning",
                position=position.row,
                campaign_id=campaign["id"],
                money=money_at(short, price),
                title=f"{sku} @ {wh}: {campaign['code']} heads for {point:.0f} units, stock and inbound {supply}",
                reason=(
                    f"The deposit curve says about {point:.0f} units (80% range {low:.0f}–{high:.0f}) will pay the "
                    f"balance here, but only {supply} units are on hand or on order for the campaign: about "
                    f"{short:.0f} buyers would wait or be refunded. {forecast['explanation']}"
                ),
                action=(
                    "Order more now (see the presale suggestion), ask the supplier to bring deliveries forward, or "
                    "lower the remaining presale quota."
                ),
                details=details,
            )
        )
    leftover = overstock_units(StockPicture(supply), point + regular)
    if point > 0 and leftover > OVERSTOCK_MARGIN * (point + regular):
        found.append(
            alerts.candidate(
                kind="overstock_after_campaign",
                severity="warning",
                position=position.row,
                campaign_id=campaign["id"],
                money=money_at(leftover, cost),
                title=f"{sku} @ {wh}: about {leftover:.0f} units left after {campaign['code']} (积压)",
                reason=(
                    f"{supply} units are on hand or on order for this campaign, but the deposit curve points to "
                    f"{point:.0f} balance-paid units and regular sales to about {regular:.0f} more by {after}: "
                    f"about {leftover:.0f} units (¥{money_at(leftover, cost)} at cost) would sit in the warehouse."
                ),
                action=(
                    "Cut or delay the open purchase order, move the surplus to a warehouse that sells it, or plan a "
                    "clearance after the campaign."
                ),
                details={
                    **details,
                    "regular_demand_until": after.isoformat(),
                    "regular_demand": round(regular, 1),
                    "leftover_units": round(leftover, 1),
                },
            )
        )
    return suggestions, found


def list_suggestions(db: Database, *, status: str | None = "open") -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return planning_repo.suggestion_rows(uow.conn, status=status)
