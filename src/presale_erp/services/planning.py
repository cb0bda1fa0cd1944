"""The planning cycle the worker runs: history rolled up from orders, demand and presale forecasts, then
suggestions and alerts. Nightly in full; hourly for presale campaigns, whose deposits move by the hour."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest
from presale_erp.services import demand_history, forecasting, replenishment


def run_cycle(db: Database, actor: Actor, *, now: datetime, demand: bool = True) -> dict[str, Any]:
    """One pass; `demand=False` keeps the last demand forecast and refreshes only the presale side."""
    report: dict[str, Any] = {}
    if demand:
        report["history_days"] = demand_history.roll_up_orders(db, today=demand_history.beijing_day(now))
        try:
            report["demand"] = forecasting.run_demand_forecast(db, actor, now=now).__dict__
        except InvalidRequest as nothing_to_forecast:  # a new shop: plan presales and stock without it
            report["demand"] = {"skipped": nothing_to_forecast.detail}
    summary, _ = forecasting.run_presale_forecast(db, actor, now=now)
    report["presale"] = summary.__dict__
    report["plan"] = replenishment.plan(db, actor, now=now).__dict__
    return report
