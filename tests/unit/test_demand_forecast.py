"""Baseline demand forecasts: the right rows, ordered quantiles, versions to store, and better than last season."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from presale_erp.domain.forecasting.backtest import backtest
from presale_erp.domain.forecasting.demand import MODEL_VERSION, Settings, data_fingerprint, forecast
from presale_erp.domain.forecasting.series import InvalidDemandData

EXCERPT = Path(__file__).parents[1] / "data" / "m5_store_dept_excerpt.csv"


def generated(series: int = 6, periods: int = 400, freq: str = "D", seed: int = 1) -> pd.DataFrame:
    """Seasonal demand with a known promotion flag that doubles sales."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2025-01-05", periods=periods, freq=freq)
    season = 7 if freq == "D" else 52
    rows = []
    for n in range(series):
        level = 5 + 10 * n
        promotion = (rng.random(periods) < 0.1).astype(int)
        mean = level * (1 + 0.4 * np.sin(2 * np.pi * np.arange(periods) / season)) * (1 + promotion)
        rows.append(pd.DataFrame({"id": f"s{n}", "date": dates, "quantity": rng.poisson(mean), "promotion": promotion}))
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def excerpt() -> pd.DataFrame:
    return pd.read_csv(EXCERPT, parse_dates=["date"])


@pytest.mark.parametrize("model", ["seasonal_naive", "production", "lightgbm_tweedie", "croston_sba", "tsb"])
def test_a_forecast_has_one_row_per_series_and_future_period(model):
    history = generated()

    result = forecast(history, 14, model=model).frame

    assert list(result.columns) == ["id", "date", "mean", "q10", "q50", "q90"]
    assert len(result) == 6 * 14
    assert result.groupby("id")["date"].min().eq(pd.Timestamp(history["date"].max()) + pd.Timedelta(days=1)).all()
    assert result[["mean", "q10", "q50", "q90"]].notna().all().all()


@pytest.mark.parametrize("model", ["seasonal_naive", "production", "imapa"])
def test_quantiles_are_ordered_and_never_negative(model):
    result = forecast(generated(), 14, quantiles=(0.9, 0.05, 0.5), model=model).frame

    assert (result["q5"] >= 0).all()
    assert (result["q5"] <= result["q50"]).all()
    assert (result["q50"] <= result["q90"]).all()


def test_weekly_data_is_forecast_by_weeks_without_any_setting():
    history = generated(periods=160, freq="W-SUN")

    result = forecast(history, 8).frame

    assert len(result) == 6 * 8
    assert result["date"].dt.dayofweek.eq(6).all()
    assert result["date"].min() == history["date"].max() + pd.Timedelta(weeks=1)


def test_a_promotion_known_in_advance_raises_the_forecast():
    history = generated()
    end = history["date"].max()
    future = pd.DataFrame({"date": pd.date_range(end + pd.Timedelta(days=1), periods=14)})

    quiet = forecast(history, 14, future_exog=future.assign(promotion=0)).frame
    promoted = forecast(history, 14, future_exog=future.assign(promotion=1)).frame

    assert promoted["mean"].sum() > 1.5 * quiet["mean"].sum()


def test_the_forecast_names_its_model_version_and_the_data_it_came_from():
    history = generated()

    result = forecast(history, 7)

    assert result.model == "production"
    assert result.model_version == f"production/{MODEL_VERSION}"
    assert result.data_version == forecast(history.sample(frac=1, random_state=3), 7).data_version


def test_the_data_fingerprint_ignores_row_order_and_sees_any_change():
    history = generated()
    changed = history.copy()
    changed.loc[5, "quantity"] += 1

    assert data_fingerprint(history) == data_fingerprint(history.iloc[::-1])
    assert data_fingerprint(history) != data_fingerprint(changed)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"model": "prophet"}, "Unknown model"), ({"horizon": 0}, "at least one"), ({"quantiles": (0.5, 1.0)}, "between")],
)
def test_impossible_requests_are_refused(kwargs, message):
    with pytest.raises(InvalidDemandData, match=message):
        forecast(generated(), **{"horizon": 7, **kwargs})


def test_on_real_m5_data_the_production_model_beats_seasonal_naive(excerpt):
    result = backtest(excerpt, horizon=28, n_origins=2, models=("seasonal_naive", "production"))

    mase = result.summary.set_index("model")["mase"]
    assert mase["production"] < 0.9 * mase["seasonal_naive"]
    assert set(result.detail["id"]) == set(excerpt["id"])
    assert len(result.detail) == 2 * 2 * 4  # models x origins x series


@pytest.mark.parametrize("blend", ["croston_sba", "tsb"])
def test_intermittent_series_can_be_blended_with_an_intermittent_demand_model(blend):
    slow = generated(series=3).assign(quantity=lambda f: np.where(np.arange(len(f)) % 5 == 0, f["quantity"], 0))

    alone = forecast(slow, 14).frame
    blended = forecast(slow, 14, settings=Settings(intermittent_blend=blend)).frame

    assert not np.allclose(alone["mean"], blended["mean"])
    assert (blended[["q10", "q50", "q90"]].diff(axis=1).iloc[:, 1:] >= 0).all().all()
