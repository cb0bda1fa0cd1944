"""Backtest of the presale forecast against the weekday pickup baseline on one train/test split by end date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from presale_erp.domain.forecasting.commitment_curve import CommitmentCurve, WeekdayPickupBaseline
from presale_erp.domain.forecasting.curve_features import CurvePanel
from presale_erp.domain.forecasting.curve_model import CommitmentCurveModel

EVALUATION_HORIZONS = (60, 28, 14, 7)


@dataclass(frozen=True)
class HorizonScore:
    days_before: int
    baseline_wape: float
    model_wape: float
    coverage: float  # share of test outcomes inside the model's range
    mean_range_width: float
    train_curves: int
    test_curves: int

    @property
    def improvement(self) -> float:
        """How much lower the model's WAPE is than the baseline's (0.2 = 20% lower)."""
        return 1 - self.model_wape / self.baseline_wape


def wape(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.abs(predicted - actual).sum() / np.abs(actual).sum())


def evaluate(
    curves: Sequence[CommitmentCurve],
    split: date,
    horizons: Sequence[int] = EVALUATION_HORIZONS,
    model: CommitmentCurveModel | None = None,
) -> list[HorizonScore]:
    """Train on campaigns that ended before `split`, score those that ended on or after it.

    Both the baseline and the model learn from the training campaigns only. At test time a forecast k days ahead
    still sees test-period campaigns that were complete by then, as the product would.
    """
    train = [c for c in curves if c.ends_on < split and c.final_kept is not None]
    test_ids = {c.campaign_id for c in curves if c.ends_on >= split and c.final_kept is not None}
    model = model or CommitmentCurveModel()
    model.fit(train)
    baseline = WeekdayPickupBaseline.fit(train, horizons)
    panel = CurvePanel.build(curves, max(model.depth, max(horizons) + 28))
    rows = np.array([i for i, c in enumerate(panel.curves) if c.campaign_id in test_ids])
    low, high = (model.levels.index(q) for q in model.range_levels)
    scores = []
    for k in horizons:
        point, quantiles = model.predict_rows(panel, rows, np.full(rows.size, k))
        actual = panel.final[rows]
        base = np.array([baseline.predict(panel.curves[i], k) for i in rows])
        lo, hi = np.minimum(quantiles[:, low], point), np.maximum(quantiles[:, high], point)
        scores.append(
            HorizonScore(
                days_before=k,
                baseline_wape=wape(actual, base),
                model_wape=wape(actual, point),
                coverage=float(np.mean((actual >= lo) & (actual <= hi))),
                mean_range_width=float(np.mean(hi - lo)),
                train_curves=len(train),
                test_curves=rows.size,
            )
        )
    return scores
