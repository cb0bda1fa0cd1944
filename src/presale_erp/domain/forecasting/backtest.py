"""Rolling-origin backtests: train on the past, forecast h periods, score against what really happened, repeat.

The last origin's window ends at the last period of the data; earlier origins step back `step` periods each.
Exogenous columns of the scored window come from the data itself: they are known in advance by definition
(calendar, events, planned promotions and prices); demand in the window never reaches the models.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from presale_erp.domain.forecasting.demand import DEFAULT_QUANTILES, PRODUCTION, Settings, forecast
from presale_erp.domain.forecasting.metrics import quantile_column, score_series
from presale_erp.domain.forecasting.series import DemandFrame, InvalidDemandData, prepare

DEFAULT_MODELS = ("seasonal_naive", "auto_ets", "lightgbm_tweedie", PRODUCTION)


@dataclass(frozen=True)
class BacktestResult:
    """`summary`: one row per model (means over series and origins); `detail`: one row per model x origin x
    series; `forecasts`: every forecast row with its model and origin; `demand`: the history scored against."""

    summary: pd.DataFrame
    detail: pd.DataFrame
    forecasts: pd.DataFrame
    demand: DemandFrame
    horizon: int


def origins(demand: DemandFrame, horizon: int, count: int, step: int) -> list[pd.Timestamp]:
    """First forecast period of each origin, oldest first; the last window ends on the last period of the data."""
    offset = pd.tseries.frequencies.to_offset(demand.freq)
    last = demand.end - (horizon - 1) * offset
    found = [last - k * step * offset for k in reversed(range(count))]
    if found[0] <= demand.data["date"].min() + offset:
        raise InvalidDemandData(
            f"{count} origins {step} periods apart with a horizon of {horizon} reach back before the data starts "
            f"({demand.data['date'].min():%Y-%m-%d}); use fewer origins or a shorter step."
        )
    return found


def backtest(
    frame: pd.DataFrame | DemandFrame,
    horizon: int = 28,
    n_origins: int = 3,
    step: int | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    settings: Settings | None = None,
    timer: Callable[[], float] = time.perf_counter,
) -> BacktestResult:
    """Run every model at every origin and score MASE, RMSSE, scaled pinball loss and WAPE per series."""
    demand = frame if isinstance(frame, DemandFrame) else prepare(frame)
    starts = origins(demand, horizon, n_origins, step or horizon)
    details, rows, seconds = [], [], dict.fromkeys(models, 0.0)
    for origin in starts:
        train, actual = _split(demand, origin, horizon)
        for model in models:
            began = timer()
            result = forecast(train, horizon, quantiles, future_exog=actual, model=model, settings=settings)
            seconds[model] += timer() - began
            scored = score_series(actual, result.frame, train.data, demand.season_length, quantiles)
            scored = scored.assign(coverage=_coverage(actual, result.frame, quantiles))
            details.append(scored.assign(model=model, origin=origin))
            rows.append(result.frame.assign(model=model, origin=origin))
    detail = pd.concat(details, ignore_index=True)
    return BacktestResult(
        _summary(detail, seconds, models), detail, pd.concat(rows, ignore_index=True), demand, horizon
    )


def _split(demand: DemandFrame, origin: pd.Timestamp, horizon: int) -> tuple[DemandFrame, pd.DataFrame]:
    data = demand.data
    window_end = origin + (horizon - 1) * pd.tseries.frequencies.to_offset(demand.freq)
    train = data[data["date"] < origin]
    started = train.groupby("id")["date"].size()
    seen = started[started > 1].index
    actual = data[(data["date"] >= origin) & (data["date"] <= window_end) & data["id"].isin(seen)]
    train = train[train["id"].isin(seen)].reset_index(drop=True)
    return DemandFrame(train, demand.freq, demand.exog), actual.reset_index(drop=True)


def _coverage(actual: pd.DataFrame, forecast_rows: pd.DataFrame, quantiles: Sequence[float]) -> pd.Series:
    """Per series, the share of actuals between the lowest and highest quantile (80 % for q10..q90)."""
    if len(quantiles) < 2:
        return pd.Series(np.nan)
    low, high = quantile_column(min(quantiles)), quantile_column(max(quantiles))
    joined = actual[["id", "date", "quantity"]].merge(forecast_rows, on=["id", "date"])
    inside = joined["quantity"].between(joined[low], joined[high])
    return inside.groupby(joined["id"], sort=True).mean().reset_index(drop=True)


def _summary(detail: pd.DataFrame, seconds: dict[str, float], models: Sequence[str]) -> pd.DataFrame:
    summary = detail.groupby("model")[["mase", "rmsse", "pinball", "wape", "coverage"]].mean()
    summary = summary.reindex(list(models))
    summary["seconds"] = [seconds[m] for m in models]
    return summary.reset_index()


def plot(result: BacktestResult, path: Path | str, series: Sequence[str] = (), count: int = 4) -> Path:
    """Write a PNG: actual vs forecast (last origin, with the 10-90 % band of the first model that has one) for a
    few series, and the MASE of each model. Without `series`, the largest series by demand are shown."""
    from matplotlib.figure import Figure  # the object API draws without a display or pyplot's global state

    chosen = list(series) or _largest(result.demand.data, count)
    figure = Figure(figsize=(12, 3 * (len(chosen) + 1)), layout="constrained")
    axes = figure.subplots(len(chosen) + 1, 1)
    last = result.forecasts["origin"].max()
    for ax, series_id in zip(axes[:-1], chosen, strict=True):
        _plot_series(ax, result, series_id, last)
    _plot_mase(axes[-1], result.summary)
    target = Path(path)
    figure.savefig(target, dpi=90)
    return target


def _largest(data: pd.DataFrame, count: int) -> list[str]:
    return list(data.groupby("id")["quantity"].sum().nlargest(count).index)


def _plot_series(ax: object, result: BacktestResult, series_id: str, origin: pd.Timestamp) -> None:
    data = result.demand.data
    shown = data[data["id"] == series_id].tail(4 * result.horizon)  # three horizons of context, then the window
    ax.plot(shown["date"], shown["quantity"], color="black", linewidth=1.2, label="actual")
    rows = result.forecasts[(result.forecasts["id"] == series_id) & (result.forecasts["origin"] == origin)]
    for model, part in rows.groupby("model", sort=False):
        ax.plot(part["date"], part["mean"], linewidth=1, label=model)
    band = rows[rows["model"] == rows["model"].iloc[-1]] if len(rows) else rows
    if {"q10", "q90"} <= set(band.columns) and len(band):
        ax.fill_between(band["date"], band["q10"], band["q90"], alpha=0.2, label=f"{band['model'].iloc[0]} q10-q90")
    ax.axvline(origin, color="grey", linestyle=":")
    ax.set_title(f"{series_id}: actual vs forecast from {origin:%Y-%m-%d}")
    ax.legend(fontsize=7, ncols=3)


def _plot_mase(ax: object, summary: pd.DataFrame) -> None:
    bars = ax.bar(summary["model"], summary["mase"], color="tab:blue")
    ax.bar_label(bars, fmt="%.3f")
    ax.axhline(1.0, color="grey", linestyle=":")
    ax.set_ylabel("MASE (mean over series and origins)")
    ax.set_title("Rolling-origin backtest")
