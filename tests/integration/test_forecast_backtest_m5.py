"""The baseline demand model on real Walmart data (M5, 70 store x department series): the accuracy we promise.

Rolling-origin backtest: 3 origins 28 days apart, the last window being the final 28 days of the data; each model
trains on everything before its origin and forecasts 28 days. MASE is scaled by in-sample seasonal naive(7) MAE
and averaged over series and origins. Measured here: seasonal naive 1.188, AutoETS about 1.00, production about
0.86. Skipped when the shared data folder is absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from presale_erp.adapters.datasets import load
from presale_erp.domain.forecasting.backtest import backtest

M5 = Path(__file__).parents[2].parent / "shared" / "data" / "m5_walmart_subset"


@pytest.fixture(scope="module")
def result():
    if not (M5 / "store_dept_daily_sales.parquet").exists():
        pytest.skip(f"M5 subset not found at {M5} (shared data folder absent)")
    return backtest(load(M5), horizon=28, n_origins=3, step=28, models=("seasonal_naive", "production"))


def test_the_backtest_covers_70_series_at_3_origins(result):
    assert result.detail.groupby("model").size().to_dict() == {"production": 210, "seasonal_naive": 210}
    assert result.detail["origin"].max() + pd.Timedelta(days=27) == result.demand.end


def test_seasonal_naive_scores_as_published_for_this_subset(result):
    assert result.summary.set_index("model").loc["seasonal_naive", "mase"] == pytest.approx(1.19, abs=0.01)


def test_the_production_model_reaches_mase_0_90_or_better(result):
    assert result.summary.set_index("model").loc["production", "mase"] <= 0.90


def test_the_production_quantiles_are_calibrated_and_beat_seasonal_naive(result):
    summary = result.summary.set_index("model")

    assert summary.loc["production", "coverage"] == pytest.approx(0.80, abs=0.08)  # q10..q90
    assert summary.loc["production", "pinball"] < summary.loc["seasonal_naive", "pinball"]
