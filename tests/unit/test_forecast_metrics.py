"""Forecast accuracy metrics, each checked against a case worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from presale_erp.domain.forecasting.metrics import mase, pinball, quantile_column, rmsse, score_series, wape

# In-sample 2, 4, 6, 8: naive (m=1) errors are 2, 2, 2 -> MAE 2, MSE 4.
HISTORY = [2, 4, 6, 8]


@pytest.mark.parametrize(
    ("actual", "forecast", "m", "expected"),
    [
        ([10, 12], [10, 12], 1, 0.0),  # perfect
        ([10, 12], [9, 14], 1, 0.75),  # errors 1, 2 -> MAE 1.5 / 2
        ([10, 12], [8, 8], 1, 1.5),  # errors 2, 4 -> MAE 3 / 2
        ([10, 12], [9, 14], 2, 0.375),  # seasonal lag 2: errors 4, 4 -> scale 4
        ([10, 12], [9, 14], 7, 0.75),  # history too short for m = 7: falls back to naive
    ],
)
def test_mase_divides_the_error_by_in_sample_seasonal_naive(actual, forecast, m, expected):
    assert mase(actual, forecast, HISTORY, m) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("actual", "forecast", "m", "expected"),
    [
        ([10, 12], [10, 12], 1, 0.0),
        ([10, 12], [9, 14], 1, math.sqrt(2.5 / 4)),  # squared errors 1, 4 -> MSE 2.5; scale 4
        ([10, 12], [9, 14], 2, math.sqrt(2.5 / 16)),  # seasonal lag 2: squared errors 16, 16
    ],
)
def test_rmsse_divides_the_squared_error_by_in_sample_seasonal_naive(actual, forecast, m, expected):
    assert rmsse(actual, forecast, HISTORY, m) == pytest.approx(expected)


def test_scaled_errors_are_undefined_for_a_flat_history():
    assert math.isnan(mase([1], [2], [5, 5, 5], 1))
    assert math.isnan(rmsse([1], [2], [5, 5, 5], 1))


@pytest.mark.parametrize(
    ("actual", "forecast", "q", "expected"),
    [
        ([10], [8], 0.9, 1.8),  # under-forecast by 2 costs q per unit
        ([10], [12], 0.9, 0.2),  # over-forecast by 2 costs 1 - q per unit
        ([10], [8], 0.1, 0.2),
        ([10], [12], 0.1, 1.8),
        ([10, 10], [8, 12], 0.5, 1.0),  # the median's pinball loss is half the absolute error
    ],
)
def test_pinball_loss_weighs_under_and_over_forecasts_by_the_quantile(actual, forecast, q, expected):
    assert pinball(actual, forecast, q) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("actual", "forecast", "expected"),
    [([10, 0, 30], [12, 1, 27], 6 / 40), ([5, 5], [5, 5], 0.0), ([0, 0], [1, 0], math.nan)],
)
def test_wape_is_total_absolute_error_over_total_demand(actual, forecast, expected):
    assert wape(actual, forecast) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(("q", "column"), [(0.1, "q10"), (0.5, "q50"), (0.9, "q90"), (0.975, "q97.5")])
def test_quantile_columns_are_named_by_percent(q, column):
    assert quantile_column(q) == column


def test_scoring_a_forecast_frame_matches_the_single_series_metrics():
    dates = pd.date_range("2026-01-01", periods=6, freq="D")
    history = pd.DataFrame(
        {"id": ["a"] * 4 + ["b"] * 4, "date": list(dates[:4]) * 2, "quantity": [*HISTORY, 1, 1, 3, 3]}
    )
    actual = pd.DataFrame({"id": ["a", "a", "b", "b"], "date": list(dates[4:]) * 2, "quantity": [10, 12, 4, 2]})
    forecast = actual.assign(mean=[9, 14, 3, 3], q10=[8, 8, 1, 1], q90=[12, 12, 5, 5]).drop(columns="quantity")

    scores = score_series(actual, forecast, history, 1, (0.1, 0.9)).set_index("id")

    assert scores.loc["a", "mase"] == pytest.approx(mase([10, 12], [9, 14], HISTORY, 1))
    assert scores.loc["b", "rmsse"] == pytest.approx(rmsse([4, 2], [3, 3], [1, 1, 3, 3], 1))
    expected_pinball = (pinball([10, 12], [8, 8], 0.1) + pinball([10, 12], [12, 12], 0.9)) / 2 / 2
    assert scores.loc["a", "pinball"] == pytest.approx(expected_pinball)
    assert scores.loc["b", "wape"] == pytest.approx(2 / 6)
