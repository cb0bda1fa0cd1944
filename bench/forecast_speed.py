"""Demand forecasting speed and accuracy: our production model beside statsforecast's AutoETS, same series, same run.
Prints figures; asserts nothing about time.

    .venv/bin/python bench/forecast_speed.py [--series 10000] [--days 730] [--horizon 28] [--threads 2] [--no-ets]

Synthetic SKUs (seeded): weekly and yearly seasonality, a trend, promotions that lift demand and are known in
advance (the `promotion` column), a share of intermittent slow movers, Poisson-gamma noise. Both models train on
all but the last `horizon` days and are scored on those days (MASE scaled by in-sample seasonal naive(7)).
The target: 10,000 SKUs x 2 years in under 60 s on a 2-core machine, with a MASE no worse than AutoETS.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd


def synthetic_skus(series: int, days: int, seed: int = 7, slow_share: float = 0.3) -> pd.DataFrame:
    """Daily demand of `series` SKUs over `days` days in the long layout (id, date, quantity, promotion)."""
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    level = np.exp(rng.normal(2.5, 1.0, series))[:, None]
    slow = rng.random(series) < slow_share
    level[slow] = rng.uniform(0.05, 0.6, slow.sum())[:, None]
    weekly = 1 + rng.uniform(0.1, 0.5, (series, 1)) * np.cos(
        2 * np.pi * (t[None, :] % 7 - rng.integers(0, 7, (series, 1))) / 7
    )
    yearly = 1 + rng.uniform(0.0, 0.4, (series, 1)) * np.sin(
        2 * np.pi * t[None, :] / 365.25 + rng.uniform(0, 6.3, (series, 1))
    )
    trend = np.exp(rng.normal(0.0, 0.3, (series, 1)) * t[None, :] / 365.25)
    promotion = _promotions(rng, series, days)
    lift = np.where(promotion == 1, rng.uniform(1.5, 3.0, (series, 1)), 1.0)
    mean = level * weekly * yearly * trend * lift
    # Poisson-gamma (negative binomial) noise: counts, overdispersed like real sales.
    quantity = rng.poisson(mean * rng.gamma(4.0, 0.25, mean.shape))
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    return pd.DataFrame(
        {
            "id": np.repeat([f"SKU{n:05d}" for n in range(series)], days),
            "date": np.tile(dates, series),
            "quantity": quantity.ravel().astype(float),
            "promotion": promotion.ravel(),
        }
    )


def _promotions(rng: np.random.Generator, series: int, days: int) -> np.ndarray:
    """Promotion runs of 3-7 days starting on about 1.5 % of days: about 7 % of days are on promotion."""
    starts = rng.random((series, days)) < 0.015
    lengths = rng.integers(3, 8, (series, days))
    promotion = np.zeros((series, days), dtype=np.int8)
    for offset in range(7):
        shifted = np.roll(starts & (lengths > offset), offset, axis=1)
        shifted[:, :offset] = False
        promotion |= shifted.astype(np.int8)
    return promotion


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-ets", action="store_true", help="skip AutoETS (it takes minutes for 10k series)")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    from presale_erp.domain.forecasting.demand import Settings, forecast
    from presale_erp.domain.forecasting.metrics import score_series
    from presale_erp.domain.forecasting.series import classify, prepare

    began = time.perf_counter()
    frame = synthetic_skus(args.series, args.days)
    end = frame["date"].max() - pd.Timedelta(days=args.horizon)
    history, actual = frame[frame["date"] <= end], frame[frame["date"] > end]
    print(f"{args.series:,} SKUs x {args.days} days generated in {time.perf_counter() - began:.1f} s", flush=True)
    kinds = classify(prepare(history).data)["kind"].value_counts().to_dict()
    print(f"demand classes: {kinds}", flush=True)

    settings = Settings(threads=args.threads)
    models = ["production"] if args.no_ets else ["production", "auto_ets"]
    for model in models:
        began = time.perf_counter()
        result = forecast(
            history, args.horizon, future_exog=actual.drop(columns="quantity"), model=model, settings=settings
        )
        seconds = time.perf_counter() - began
        scores = score_series(actual, result.frame, history, 7, (0.1, 0.5, 0.9))
        print(
            f"{model:>12}: {seconds:7.1f} s  MASE {scores['mase'].mean():.3f}  RMSSE {scores['rmsse'].mean():.3f}  "
            f"scaled pinball {scores['pinball'].mean():.3f}  ({result.model_version})",
            flush=True,
        )


if __name__ == "__main__":
    main()
