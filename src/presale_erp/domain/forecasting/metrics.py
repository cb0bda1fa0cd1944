"""Forecast accuracy: MASE, RMSSE, pinball loss and WAPE, for one series (arrays) or many (long frames).

MASE and RMSSE divide the forecast error by the in-sample error of seasonal naive (repeat the value m periods
back), so 1.0 means "as good as last season, one step ahead" and series of any size can be averaged. m is 7 for
daily data, 52 for weekly; a history shorter than m + 1 periods falls back to m = 1 (naive).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def quantile_column(q: float) -> str:
    """The column that holds quantile q in a forecast frame: 0.1 -> "q10", 0.5 -> "q50", 0.975 -> "q97.5"."""
    return f"q{round(q * 100, 6):g}"


def _season(n: int, m: int) -> int:
    return m if n > m else 1


def mase(actual: Sequence[float], forecast: Sequence[float], insample: Sequence[float], m: int = 1) -> float:
    """Mean absolute error scaled by the in-sample MAE of seasonal naive(m); NaN if that scale is zero."""
    y, f, h = np.asarray(actual, float), np.asarray(forecast, float), np.asarray(insample, float)
    lag = _season(len(h), m)
    scale = np.mean(np.abs(h[lag:] - h[:-lag]))
    return float(np.mean(np.abs(y - f)) / scale) if scale > 0 else float("nan")


def rmsse(actual: Sequence[float], forecast: Sequence[float], insample: Sequence[float], m: int = 1) -> float:
    """Root mean squared error scaled by the in-sample squared error of seasonal naive(m)."""
    y, f, h = np.asarray(actual, float), np.asarray(forecast, float), np.asarray(insample, float)
    lag = _season(len(h), m)
    scale = np.mean((h[lag:] - h[:-lag]) ** 2)
    return float(np.sqrt(np.mean((y - f) ** 2) / scale)) if scale > 0 else float("nan")


def pinball(actual: Sequence[float], forecast: Sequence[float], q: float) -> float:
    """Mean quantile (pinball) loss of a q-quantile forecast: under-forecasts cost q, over-forecasts 1 - q."""
    diff = np.asarray(actual, float) - np.asarray(forecast, float)
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def wape(actual: Sequence[float], forecast: Sequence[float]) -> float:
    """Weighted absolute percentage error: total absolute error over total demand; NaN without demand."""
    y, f = np.asarray(actual, float), np.asarray(forecast, float)
    total = np.abs(y).sum()
    return float(np.abs(y - f).sum() / total) if total > 0 else float("nan")


def insample_scales(history: pd.DataFrame, m: int) -> pd.DataFrame:
    """Per series: MAE and MSE of seasonal naive(m) over the history (columns id, date, quantity, sorted)."""
    lengths = history.groupby("id", sort=False)["quantity"].transform("size")
    grouped = history.groupby("id", sort=False)["quantity"]
    seasonal = grouped.diff(m) if m > 1 else grouped.diff(1)
    diff = seasonal.where(lengths > m, grouped.diff(1))
    work = pd.DataFrame({"id": history["id"], "abs": diff.abs(), "sq": diff**2})
    scales = work.groupby("id", sort=False)[["abs", "sq"]].mean()
    return scales.rename(columns={"abs": "mae_scale", "sq": "mse_scale"}).replace(0.0, np.nan)


def score_series(
    actual: pd.DataFrame, forecast: pd.DataFrame, history: pd.DataFrame, m: int, quantiles: Sequence[float] = ()
) -> pd.DataFrame:
    """Per-series accuracy of a forecast frame (id, date, mean, q..) against actuals (id, date, quantity).

    `pinball` is the mean over the quantiles of the pinball loss divided by the series' MASE scale (the scaled
    pinball loss of the M5 uncertainty track), so it averages across series of different size like MASE.
    """
    joined = actual[["id", "date", "quantity"]].merge(forecast, on=["id", "date"], how="inner")
    err = joined["quantity"] - joined["mean"]
    joined["abs"], joined["sq"] = err.abs(), err**2
    joined["pin"] = _mean_pinball(joined, quantiles)
    per = joined.groupby("id", sort=True).agg(
        abs=("abs", "mean"), sq=("sq", "mean"), pin=("pin", "mean"), total=("quantity", "sum"), abs_sum=("abs", "sum")
    )
    scales = insample_scales(history, m).reindex(per.index)
    return pd.DataFrame(
        {
            "id": per.index,
            "mase": (per["abs"] / scales["mae_scale"]).to_numpy(),
            "rmsse": np.sqrt(per["sq"] / scales["mse_scale"]).to_numpy(),
            "pinball": (per["pin"] / scales["mae_scale"]).to_numpy(),
            "wape": (per["abs_sum"] / per["total"].replace(0.0, np.nan)).to_numpy(),
        }
    ).reset_index(drop=True)


def _mean_pinball(joined: pd.DataFrame, quantiles: Sequence[float]) -> pd.Series:
    if not quantiles:
        return pd.Series(np.nan, index=joined.index)
    losses = []
    for q in quantiles:
        diff = joined["quantity"] - joined[quantile_column(q)]
        losses.append(np.maximum(q * diff, (q - 1) * diff))
    return sum(losses) / len(losses)
