"""Forecast runs: demand per SKU × warehouse, and the final demand of every live presale campaign. Each run is
stored with the model and the data version that produced it, so a number on a screen can be traced back."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from presale_erp.adapters.db import lookups, planning_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.forecasting import demand
from presale_erp.domain.forecasting.commitment_curve import CommitmentCurve
from presale_erp.domain.forecasting.curve_model import CommitmentCurveModel, CommitmentForecast
from presale_erp.domain.forecasting.presale_analogs import analog_forecast
from presale_erp.domain.forecasting.sales_calendar import promotion_days
from presale_erp.services import demand_history
from presale_erp.services.demand_history import split_series_id

DEFAULT_HORIZON_DAYS = 56
MIN_HISTORY_DAYS = 28  # a series shorter than four weeks is left out (it would only echo its last days)
LONG_HISTORY_MARGIN_DAYS = 120  # beyond the horizon, for the global model's lags and rolling windows to have rows
SHORT_HISTORY_MODEL = "auto_ets"
KEEP_DEMAND_RUNS = 7  # a week of nightly forecasts to compare; older runs keep their summary, not their rows
# Below this many finished campaign curves a learned curve model has too little to learn from: analogs instead.
MIN_CURVES_FOR_LEARNED_MODEL = 200
PRESALE_MODEL_VERSION = "1.0.0"


@dataclass(frozen=True)
class RunSummary:
    run_id: int
    kind: str
    model: str
    model_version: str
    data_version: str
    series: int
    rows: int
    seconds: float
    skipped: dict[str, str]


def run_demand_forecast(
    db: Database, actor: Actor, *, now: datetime, horizon: int = DEFAULT_HORIZON_DAYS, model: str = demand.PRODUCTION
) -> RunSummary:
    """Forecast every SKU × warehouse with enough history for the next `horizon` days and store the result."""
    if not 1 <= horizon <= 366:
        raise InvalidRequest("The horizon must be between 1 and 366 days.")
    started = time.perf_counter()
    history = demand_history.history_frame(db)
    lengths = history.groupby("id")["date"].agg(["min", "max"]) if not history.empty else pd.DataFrame()
    days = (lengths["max"] - lengths["min"]).dt.days + 1 if not history.empty else pd.Series(dtype=int)
    too_short = {i: f"only {n} days of history" for i, n in days.items() if n < MIN_HISTORY_DAYS}
    usable = history[~history["id"].isin(too_short)]
    if usable.empty:
        raise InvalidRequest(
            f"No SKU has {MIN_HISTORY_DAYS} days of sales history yet: import past sales or wait for orders."
        )
    result = _forecast_by_length(usable, days, horizon, model)
    run_id = _store_demand(db, actor, result, horizon, now, started, len(too_short))
    return RunSummary(
        run_id,
        "demand",
        result.model,
        result.model_version,
        result.data_version,
        usable["id"].nunique(),
        len(result.frame),
        time.perf_counter() - started,
        too_short,
    )


def _forecast_by_length(history: pd.DataFrame, days: pd.Series, horizon: int, model: str) -> demand.Forecast:
    """The global model learns from lags of at least the horizon, so it needs a long history; series shorter than
    that (new SKUs) get AutoETS, which fits a level, trend and week from a few weeks."""
    long_ids = days[days >= horizon + LONG_HISTORY_MARGIN_DAYS].index
    long_part = history[history["id"].isin(long_ids)]
    short_part = history[~history["id"].isin(long_ids)]
    last = history["date"].max().date()
    calendar = promotion_days(last, last + timedelta(days=horizon))
    parts = [
        demand.forecast(part, horizon, model=name, future_exog=calendar)
        for part, name in ((long_part, model), (short_part, SHORT_HISTORY_MODEL))
        if not part.empty
    ]
    if len(parts) == 1:
        return parts[0]
    return demand.Forecast(
        pd.concat([p.frame for p in parts], ignore_index=True),
        "+".join(p.model for p in parts),
        "+".join(p.model_version for p in parts),
        demand.data_fingerprint(history),
    )


def _store_demand(
    db: Database, actor: Actor, result: demand.Forecast, horizon: int, now: datetime, started: float, skipped: int
) -> int:
    frame = result.frame
    keys = frame["id"].map(split_series_id)
    with db.uow() as uow:
        sku_ids = lookups.sku_ids(uow.conn, {k[0] for k in keys})
        warehouse_ids = lookups.warehouse_ids(uow.conn, {k[1] for k in keys})
        run_id = planning_repo.start_run(
            uow.conn,
            {
                "kind": "demand",
                "status": "finished",
                "model": result.model,
                "model_version": result.model_version,
                "data_version": result.data_version,
                "params": {"horizon": horizon},
                "summary": {"series": int(frame["id"].nunique()), "skipped": skipped},
                "started_at": now,
                "finished_at": now,
                "created_by": actor.label,
            },
        )
        rows = [
            {
                "run_id": run_id,
                "sku_id": sku_ids[sku],
                "warehouse_id": warehouse_ids[warehouse],
                "day": day.date(),
                "mean": max(float(mean), 0.0),
                "low": max(float(low), 0.0),
                "high": max(float(high), 0.0),
            }
            for (sku, warehouse), day, mean, low, high in zip(
                keys, frame["date"], frame["mean"], frame["q10"], frame["q90"], strict=True
            )
        ]
        planning_repo.save_demand_forecasts(uow.conn, rows)
        planning_repo.prune_demand_forecasts(uow.conn, keep_runs=KEEP_DEMAND_RUNS)
        planning_repo.finish_run(
            uow.conn,
            run_id,
            summary={
                "series": int(frame["id"].nunique()),
                "skipped": skipped,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        uow.commit()
    return run_id


# --- presale ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PresaleEstimate:
    curve_id: str
    campaign: dict[str, Any]
    forecast: CommitmentForecast
    model: str


def estimate_campaigns(db: Database, *, now: datetime, campaign: str | None = None) -> list[PresaleEstimate]:
    """The final balance-paid units of each SKU of every campaign still taking deposits (or one campaign)."""
    curves = demand_history.campaign_curves(db, as_of=now)
    today = demand_history.beijing_day(now)
    live = [
        c
        for c in curves.curves
        if (campaign is None or curves.campaigns[c.campaign_id]["code"] == campaign)
        and c.final_kept is None
        and curves.campaigns[c.campaign_id]["deposit_starts_at"] <= now
    ]
    if campaign is not None and not live:
        raise InvalidRequest(f"Campaign {campaign} is not taking deposits, or does not exist.")
    forecaster, name = _presale_model(curves.curves, today)
    estimates = []
    for curve in live:
        as_of = min(today, curve.ends_on)
        estimates.append(
            PresaleEstimate(
                curve.campaign_id, curves.campaigns[curve.campaign_id], forecaster(curve, as_of, curves.curves), name
            )
        )
    return estimates


def _presale_model(curves: list[CommitmentCurve], today):
    finished = [c for c in curves if c.is_complete_by(today)]
    if len(finished) >= MIN_CURVES_FOR_LEARNED_MODEL:
        model = CommitmentCurveModel().fit(finished)
        return model.forecast, "commitment_curve_lightgbm"
    return analog_forecast, "analog_conversion"


def run_presale_forecast(
    db: Database, actor: Actor, *, now: datetime, campaign: str | None = None
) -> tuple[RunSummary, list[PresaleEstimate]]:
    started = time.perf_counter()
    demand_history.roll_up_deposits(db, now=now)
    estimates = estimate_campaigns(db, now=now, campaign=campaign)
    model = estimates[0].model if estimates else "analog_conversion"
    fingerprint = _curves_fingerprint(estimates)
    with db.uow() as uow:
        sku_ids = lookups.sku_ids(uow.conn, {e.curve_id.split("/", 1)[1] for e in estimates})
        run_id = planning_repo.start_run(
            uow.conn,
            {
                "kind": "presale",
                "status": "finished",
                "model": model,
                "model_version": f"{model}/{PRESALE_MODEL_VERSION}",
                "data_version": fingerprint,
                "params": {"campaign": campaign},
                "summary": {"curves": len(estimates), "seconds": round(time.perf_counter() - started, 2)},
                "started_at": now,
                "finished_at": now,
                "created_by": actor.label,
            },
        )
        planning_repo.save_presale_forecasts(uow.conn, [_presale_row(run_id, e, sku_ids) for e in estimates])
        uow.commit()
    summary = RunSummary(
        run_id,
        "presale",
        model,
        f"{model}/{PRESALE_MODEL_VERSION}",
        fingerprint,
        len(estimates),
        len(estimates),
        time.perf_counter() - started,
        {},
    )
    return summary, estimates


def _presale_row(run_id: int, estimate: PresaleEstimate, sku_ids: dict[str, int]) -> dict[str, Any]:
    f = estimate.forecast
    e = f.explanation
    return {
        "run_id": run_id,
        "campaign_id": estimate.campaign["id"],
        "sku_id": sku_ids[estimate.curve_id.split("/", 1)[1]],
        "days_before": f.days_before,
        "committed": e.on_books,
        "point": round(f.point, 1),
        "low": round(f.low, 1),
        "high": round(f.high, 1),
        "explanation": presale_sentence(f)[:1000],
        "inputs": {
            "deposits": e.committed,
            "refunded": e.cancelled,
            "held": e.on_books,
            "days_left_for_deposits": f.days_before,
            "analog_campaigns": list(e.analog_campaigns),
            "analog_conversion": None if e.analog_conversion is None else round(e.analog_conversion, 3),
            "quota_left": e.capacity_left,
            "coverage": f.coverage,
            "model": estimate.model,
        },
    }


def presale_sentence(forecast: CommitmentForecast) -> str:
    """The estimate in a buyer's words."""
    e = forecast.explanation
    text = (
        f"{e.on_books} units hold a deposit with {forecast.days_before} days of deposits to go "
        f"({e.committed} deposited, {e.cancelled} refunded). Expected to end with {forecast.point:.0f} balance-paid "
        f"units (80% range {forecast.low:.0f}–{forecast.high:.0f})."
    )
    if e.analog_campaigns and e.analog_conversion is not None:
        names = ", ".join(c.split("/")[0] for c in e.analog_campaigns[-4:])
        text += f" Past campaigns ({names}) ended at {e.analog_conversion:.0%} of what they held at this point."
    else:
        text += " No finished campaign to compare with yet, so the range is kept wide."
    return text


def _curves_fingerprint(estimates: list[PresaleEstimate]) -> str:
    text = "|".join(
        f"{e.curve_id}:{e.forecast.explanation.committed}:{e.forecast.explanation.cancelled}"
        for e in sorted(estimates, key=lambda e: e.curve_id)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def list_runs(db: Database, *, kind: str | None, limit: int = 50) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return planning_repo.runs(uow.conn, kind, limit)


def latest_demand_forecast(db: Database, *, sku: str | None = None) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        run_id = planning_repo.latest_run_id(uow.conn, "demand")
        if run_id is None:
            return {"run": None, "rows": []}
        run = next(r for r in planning_repo.runs(uow.conn, "demand", 1000) if r["id"] == run_id)
        return {"run": run, "rows": planning_repo.demand_forecast_rows(uow.conn, run_id, sku)}


def latest_presale_forecast(db: Database) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        run_id = planning_repo.latest_run_id(uow.conn, "presale")
        if run_id is None:
            return {"run": None, "rows": []}
        run = next(r for r in planning_repo.runs(uow.conn, "presale", 1000) if r["id"] == run_id)
        return {"run": run, "rows": planning_repo.presale_forecast_rows(uow.conn, run_id)}
