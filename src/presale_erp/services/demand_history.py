"""Demand history (销量历史) and presale deposit curves: what the forecasts learn from.

History is rolled up nightly from orders (by the warehouse each was allocated to, per Beijing day) and can be
imported for the years before the ERP (a platform's sales export). Deposit curves are rolled up from the presale
stock deposit orders lock, and can be imported for campaigns run before the ERP.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from presale_erp.adapters.db import lookups, planning_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.domain.forecasting.commitment_curve import CommitmentCurve, curve_from_daily_counts
from presale_erp.domain.money import fen_to_yuan

SERIES_SEPARATOR = "@"  # a demand series is one SKU in one warehouse: "TEA-LJ-250G@HZ"


@dataclass(frozen=True)
class HistoryDay:
    sku: str
    warehouse: str
    day: date
    quantity: int
    revenue: Decimal = Decimal("0")
    promotion: str = ""

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise InvalidRequest(f"{self.sku} on {self.day}: units sold cannot be negative.")
        if self.revenue < 0:
            raise InvalidRequest(f"{self.sku} on {self.day}: revenue cannot be negative.")


def series_id(sku: str, warehouse: str) -> str:
    return f"{sku}{SERIES_SEPARATOR}{warehouse}"


def split_series_id(value: str) -> tuple[str, str]:
    sku, _, warehouse = value.rpartition(SERIES_SEPARATOR)
    return sku, warehouse


def import_history(db: Database, actor: Actor, days: list[HistoryDay], *, now: datetime) -> int:
    """Past sales (from a platform export) into the history; a day already there is replaced."""
    if not days:
        return 0
    with db.uow() as uow:
        sku_ids = lookups.sku_ids(uow.conn, {d.sku for d in days})
        warehouse_ids = lookups.warehouse_ids(uow.conn, {d.warehouse for d in days})
        rows = {
            (d.sku, d.warehouse, d.day): {
                "sku_id": sku_ids[d.sku],
                "warehouse_id": warehouse_ids[d.warehouse],
                "day": d.day,
                "quantity": d.quantity,
                "revenue": d.revenue,
                "promotion": d.promotion[:60],
                "source": "import",
            }
            for d in days
        }
        planning_repo.save_demand_days(uow.conn, list(rows.values()))
        uow.commit()
    return len(rows)


def roll_up_orders(db: Database, *, today: date, days: int = 35) -> int:
    """Recount the last `days` days of orders into the history (late allocations and refunds change them)."""
    first = today - timedelta(days=days)
    with db.uow() as uow:
        rows = planning_repo.order_demand(uow.conn, first, today)
        planning_repo.save_demand_days(
            uow.conn,
            [
                {
                    "sku_id": r["sku_id"],
                    "warehouse_id": r["warehouse_id"],
                    "day": r["day"],
                    "quantity": int(r["quantity"]),
                    "revenue": fen_to_yuan(int(r["revenue_fen"] or 0)),
                    "promotion": "",
                    "source": "orders",
                }
                for r in rows
            ],
        )
        uow.commit()
    return len(rows)


def history_frame(db: Database, *, since: date | None = None) -> pd.DataFrame:
    """The long layout the forecasting models take: id (SKU@warehouse), date, quantity, promotion (0/1)."""
    with db.uow(write=False) as uow:
        rows = planning_repo.demand_rows(uow.conn, since)
    frame = pd.DataFrame(rows, columns=["sku", "warehouse", "date", "quantity", "promotion"])
    frame["id"] = frame["sku"] + SERIES_SEPARATOR + frame["warehouse"]
    frame["date"] = pd.to_datetime(frame["date"])
    frame["promotion"] = (frame["promotion"].fillna("") != "").astype(int)
    return frame[["id", "date", "quantity", "promotion"]]


# --- presale deposit curves --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignDay:
    """One day of a campaign's deposits for one SKU (imported for campaigns run before the ERP)."""

    sku: str
    day: date
    deposits: int
    cancelled: int = 0
    balance_paid: int = 0


def import_campaign_days(db: Database, actor: Actor, campaign: str, days: list[CampaignDay]) -> int:
    if any(d.deposits < 0 or d.cancelled < 0 or d.balance_paid < 0 for d in days):
        raise InvalidRequest("Deposits, cancellations and balances paid cannot be negative.")
    with db.uow() as uow:
        found = planning_repo.campaigns(uow.conn, campaign)
        if not found:
            raise NotFound(f"No presale campaign with code {campaign}.")
        sku_ids = lookups.sku_ids(uow.conn, {d.sku for d in days})
        rows = [
            {
                "campaign_id": found[0]["id"],
                "sku_id": sku_ids[d.sku],
                "day": d.day,
                "deposits": d.deposits,
                "cancelled": d.cancelled,
                "balance_paid": d.balance_paid,
                "source": "import",
            }
            for d in days
        ]
        planning_repo.replace_commitment_days(uow.conn, found[0]["id"], "import", rows)
        uow.commit()
    return len(days)


def roll_up_deposits(db: Database, *, now: datetime) -> int:
    """Recount every campaign's deposit curve from the presale stock its orders locked."""
    written = 0
    with db.uow() as uow:
        for campaign in planning_repo.campaigns(uow.conn):
            if campaign["shop_id"] is None or campaign["deposit_starts_at"] > now:
                continue
            lines = planning_repo.campaign_lines(uow.conn, [campaign["id"]])
            rows = planning_repo.deposit_days_from_reservations(uow.conn, campaign, [r["sku_id"] for r in lines])
            planning_repo.replace_commitment_days(uow.conn, campaign["id"], "orders", rows)
            written += len(rows)
        uow.commit()
    return written


@dataclass(frozen=True)
class CampaignCurves:
    """Each campaign SKU's curve (id "CAMPAIGN/SKU"), with the campaign rows they came from."""

    curves: list[CommitmentCurve]
    campaigns: dict[str, dict[str, Any]]  # by curve id
    lines: dict[str, list[dict[str, Any]]]  # campaign SKU lines by curve id (one per warehouse)


def campaign_curves(db: Database, *, as_of: datetime) -> CampaignCurves:
    """Every campaign's curves per SKU as known at `as_of`. A campaign's end is its deposit window's last day
    (no deposits after it); its final is what stayed after the balance window (balance paid), once that is over."""
    with db.uow(write=False) as uow:
        campaigns = {c["id"]: c for c in planning_repo.campaigns(uow.conn)}
        days = planning_repo.commitment_days(uow.conn)
        lines = planning_repo.campaign_lines(uow.conn, list(campaigns))
    by_curve: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in days:
        by_curve[(row["campaign_id"], row["sku"])].append(row)
    for line in lines:
        by_curve.setdefault((line["campaign_id"], line["sku"]), [])
    result = CampaignCurves([], {}, defaultdict(list))
    for line in lines:
        result.lines[_curve_id(campaigns[line["campaign_id"]], line["sku"])].append(line)
    for (campaign_id, sku), rows in by_curve.items():
        campaign = campaigns[campaign_id]
        quota = sum(r["presale_quota"] for r in result.lines[_curve_id(campaign, sku)])
        curve = _curve(campaign, sku, rows, as_of, quota)
        result.curves.append(curve)
        result.campaigns[curve.campaign_id] = campaign
    return result


def _curve_id(campaign: dict[str, Any], sku: str) -> str:
    return f"{campaign['code']}/{sku}"


def _curve(campaign: dict[str, Any], sku: str, rows: list[dict[str, Any]], as_of: datetime, quota: int):
    ends_on = beijing_day(campaign["deposit_ends_at"] - timedelta(microseconds=1))
    over = campaign["balance_ends_at"] or campaign["deposit_ends_at"]
    deposits: dict[date, int] = defaultdict(int)
    cancelled: dict[date, int] = defaultdict(int)
    for r in rows:
        deposits[r["day"]] += r["deposits"]
        cancelled[r["day"]] += r["cancelled"]
    # Balances paid, when a platform export gives them; otherwise every deposit not refunded or lapsed by the end.
    paid = sum(r["balance_paid"] for r in rows) or sum(deposits.values()) - sum(cancelled.values())
    final = paid if over <= as_of else None
    return curve_from_daily_counts(
        _curve_id(campaign, sku),
        f"{campaign['shop'] or ''}/{sku}",  # analogs: the same SKU in the same shop's past campaigns
        ends_on,
        dict(deposits),
        dict(cancelled),
        as_of=beijing_day(as_of),
        final_kept=final,
        capacity=float(quota) if quota else None,
    )


def beijing_day(moment: datetime) -> date:
    return (moment + timedelta(hours=planning_repo.BUSINESS_UTC_OFFSET_HOURS)).date()
