"""The presale forecast: final kept commitments from a live curve, with a calibrated range and an explanation.

Point: LightGBM (L1, so a median) on the pickup still to come (final - on_books now), from the curve so far, the
baseline's pickup, analogous completed campaigns of the same group (recent ones, the same end weekday, the same
season a year ago: their finals, pickups and conversion final / on_books) and the capacity left.
Range: conformal, from the errors of forecasts replayed over the training period (each block of end dates predicted
by a model trained on the blocks before it), scaled by sqrt(point) because the spread grows with volume; their
quantiles, times the scale, are added to the point. See `_range_shape` for which errors set the width.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

import lightgbm as lgb
import numpy as np
import pandas as pd

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.forecasting.commitment_curve import (
    CommitmentCurve,
    WeekdayPickupBaseline,
    observable_history,
)
from presale_erp.domain.forecasting.curve_features import (
    LAST_YEAR,
    LOOKBACKS,
    SAME_WEEKDAY,
    CurvePanel,
    feature_frame,
)

DEFAULT_HORIZONS = (7, 10, 14, 21, 28, 35, 42, 60)
DEFAULT_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
MIN_STEADY_ROWS = 30  # held-out forecasts with a year of history needed to set the range's width at a horizon
MIN_STEADY_ROWS_FOR_TAILS = 300  # ... and to take its 10% and 90% quantiles as they are
MIN_FOLD_TRAINING_ROWS = 100  # a calibration model trained on fewer rows would say more about itself than the model
_TARGETS = ("pickup", "sqrt")  # two views of the same target; their average is steadier than either


@dataclass(frozen=True)
class ForecastExplanation:
    """What drove an estimate, in numbers the product can put into words for a merchant or a buyer."""

    days_before: int
    on_books: int
    committed: int
    cancelled: int
    capacity_left: float | None
    analog_campaigns: tuple[str, ...]  # completed campaigns of the same group: same end weekday, a year ago
    analog_pickup: float | None  # their mean gain from this point to the end
    analog_conversion: float | None  # their final kept / on books at this point
    baseline_pickup: float  # the plain weekday average pickup
    expected_pickup: float  # what the model adds to the books now

    def summary(self) -> str:
        text = (
            f"{self.on_books} commitments held {self.days_before} days before the end "
            f"({self.committed} made, {self.cancelled} cancelled); we expect {self.expected_pickup:+.0f} more."
        )
        if self.analog_campaigns and self.analog_pickup is not None:
            text += f" {len(self.analog_campaigns)} similar past campaigns gained {self.analog_pickup:+.0f} from here"
            if self.analog_conversion is not None:
                text += f" and ended at {self.analog_conversion:.0%} of what they held"
            text += "."
        if self.capacity_left is not None:
            text += f" Capacity left: {self.capacity_left:.0f}."
        return text


@dataclass(frozen=True)
class CommitmentForecast:
    campaign_id: str
    as_of: date
    days_before: int
    point: float
    low: float  # the range that holds the outcome `coverage` of the time
    high: float
    coverage: float
    quantiles: Mapping[float, float]
    explanation: ForecastExplanation


class CommitmentCurveModel:
    """fit(past curves) once; then forecast(live curve, as_of, history) as deposits arrive."""

    def __init__(
        self,
        horizons: Sequence[int] = DEFAULT_HORIZONS,
        coverage: float = 0.8,
        rounds: int = 400,
        folds: int = 4,
        levels: Sequence[float] = DEFAULT_LEVELS,
    ) -> None:
        if not 0 < coverage < 1:
            raise InvalidRequest("The range's coverage must be between 0 and 1.")
        self.horizons = tuple(sorted(set(horizons)))
        self.coverage, self.rounds, self.folds = coverage, rounds, folds
        tail = (1 - coverage) / 2
        self.range_levels = (round(tail, 6), round(1 - tail, 6))
        self.levels = tuple(sorted({round(q, 6) for q in (*levels, *self.range_levels)}))
        self.depth = max(self.horizons) + max(LOOKBACKS)
        self.baseline: WeekdayPickupBaseline | None = None
        self._boosters: list[tuple[str, lgb.Booster]] = []
        self._residual_quantiles: dict[int, np.ndarray] = {}

    # -- training ------------------------------------------------------------------------------------------------

    def fit(self, curves: Sequence[CommitmentCurve]) -> CommitmentCurveModel:
        """Learn from complete curves; incomplete ones still serve as history for features."""
        self.baseline = WeekdayPickupBaseline.fit(curves, self.horizons)
        panel = CurvePanel.build(curves, self.depth)
        rows, ks = self._training_rows(panel)
        x = feature_frame(panel, rows, ks, self.baseline)
        y, on_books = panel.final[rows], x["on_books"].to_numpy()
        self._calibrate(panel, rows, ks, x, y, on_books)
        self._boosters = self._train(x, y, on_books)
        return self

    def _training_rows(self, panel: CurvePanel) -> tuple[np.ndarray, np.ndarray]:
        complete = np.flatnonzero(~np.isnan(panel.final))
        if complete.size == 0:
            raise InvalidRequest("No finished campaign to learn from.")
        rows = np.tile(complete, len(self.horizons))
        ks = np.repeat(np.array(self.horizons), complete.size)
        return rows, ks

    def _train(self, x: pd.DataFrame, y: np.ndarray, on_books: np.ndarray) -> list[tuple[str, lgb.Booster]]:
        params = {
            "objective": "l1",
            "learning_rate": 0.03,
            "num_leaves": 15,
            "min_data_in_leaf": 30,
            "feature_fraction": 0.8,
            "bagging_fraction": 0.8,
            "bagging_freq": 1,
            "lambda_l2": 1.0,
            "num_threads": 1,  # shared machines: one thread, and results that repeat exactly
            "verbose": -1,
            "deterministic": True,
        }
        boosters = []
        for seed, target in enumerate(_TARGETS, start=1):
            data = lgb.Dataset(x, _to_target(target, y, on_books), free_raw_data=True)
            boosters.append((target, lgb.train({**params, "seed": seed}, data, num_boost_round=self.rounds)))
        return boosters

    def _calibrate(
        self, panel: CurvePanel, rows: np.ndarray, ks: np.ndarray, x: pd.DataFrame, y: np.ndarray, on_books: np.ndarray
    ) -> None:
        """Residuals of forecasts made as the product makes them: each block of end dates is predicted by a model
        trained on the blocks before it only, so the errors include the model's ageing since its last fit."""
        ends = panel.end[rows]
        edges = np.quantile(np.unique(ends), np.linspace(0, 1, self.folds + 1)[1:-1])
        fold = np.searchsorted(edges, ends, side="right")
        point = np.full(rows.size, np.nan)
        for f in range(1, self.folds):
            past, held = fold < f, fold == f
            if past.sum() >= MIN_FOLD_TRAINING_ROWS and held.any():
                point[held] = _blend(self._train(x[past], y[past], on_books[past]), x[held], on_books[held])
        predicted = ~np.isnan(point)
        if not predicted.any():
            # too little history to hold any out: in-sample errors, which understate the spread
            point, predicted = _blend(self._train(x, y, on_books), x, on_books), np.ones(rows.size, dtype=bool)
        steady = predicted & ~np.isnan(x["last_year_final"].to_numpy())
        scaled = (y - point) / _scale(point)
        self._residual_quantiles = {
            int(k): _range_shape(scaled[predicted & (ks == k)], scaled[steady & (ks == k)], self.levels)
            for k in self.horizons
        }

    # -- prediction ----------------------------------------------------------------------------------------------

    def predict_rows(self, panel: CurvePanel, rows: np.ndarray, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Points and quantiles (rows x levels) for curve indexes of `panel` at k days before their end."""
        if self.baseline is None:
            raise InvalidRequest("The forecast model has not been fitted.")
        x = feature_frame(panel, rows, ks, self.baseline)
        on_books = x["on_books"].to_numpy()
        point = np.maximum(_blend(self._boosters, x, on_books), 0.0)
        spread = np.vstack([self._quantiles_for(int(k)) for k in ks]) * _scale(point)[:, None]
        quantiles = np.maximum(point[:, None] + spread, 0.0)
        return point, quantiles

    def _quantiles_for(self, k: int) -> np.ndarray:
        nearest = min(self._residual_quantiles, key=lambda h: (abs(h - k), h))
        return self._residual_quantiles[nearest]

    def forecast(self, curve: CommitmentCurve, as_of: date, history: Sequence[CommitmentCurve]) -> CommitmentForecast:
        """The estimate for a live campaign at the end of `as_of`, from what was known then (nothing later)."""
        return self.forecast_many([curve], as_of, history)[0]

    def forecast_many(
        self, live: Sequence[CommitmentCurve], as_of: date, history: Sequence[CommitmentCurve]
    ) -> list[CommitmentForecast]:
        """Estimates for several live campaigns at once (one pass over the history), in the order given.

        `history` may hold anything, later data included: it is cut to what was observable at the end of `as_of`.
        Beyond the furthest trained horizon the model extrapolates flat and keeps that horizon's range."""
        if not live:
            return []
        ids = {c.campaign_id for c in live}
        seen = observable_history([c for c in history if c.campaign_id not in ids], as_of)
        seen += [c.seen_on(as_of) for c in live]
        days = [(c.ends_on - as_of).days for c in live]
        panel = CurvePanel.build(seen, max(self.depth, max(days) + max(LOOKBACKS)))
        index = {c.campaign_id: i for i, c in enumerate(panel.curves)}
        running = [n for n, k in enumerate(days) if k > 0]
        rows = np.array([index[live[n].campaign_id] for n in running], dtype=int)
        ks = np.array([days[n] for n in running], dtype=int)
        points, quantiles = self.predict_rows(panel, rows, ks) if running else (np.empty(0), np.empty((0, 0)))
        out = {
            n: self._forecast(panel, i, int(k), as_of, p, q)
            for n, i, k, p, q in zip(running, rows, ks, points, quantiles, strict=True)
        }
        return [out[n] if n in out else self._ended(c, as_of) for n, c in enumerate(live)]

    def _forecast(
        self, panel: CurvePanel, i: int, k: int, as_of: date, point: float, quantiles: np.ndarray
    ) -> CommitmentForecast:
        by_level = dict(zip(self.levels, quantiles.tolist(), strict=True))
        low = min(by_level[self.range_levels[0]], point)
        high = max(by_level[self.range_levels[1]], point)
        return CommitmentForecast(
            panel.curves[i].campaign_id, as_of, k, float(point), low, high, self.coverage, by_level,
            self._explain(panel, i, k, float(point)),
        )  # fmt: skip

    def _ended(self, curve: CommitmentCurve, as_of: date) -> CommitmentForecast:
        """Once the campaign is over nothing is left to forecast: what was kept (or is on the books) is the answer."""
        now = curve.seen_on(as_of).at(0)
        kept = float(curve.final_kept if curve.final_kept is not None else now.on_books)
        explanation = ForecastExplanation(
            0, now.on_books, now.committed, now.cancelled, now.capacity_left, (), None, None, 0.0, kept - now.on_books
        )
        quantiles = dict.fromkeys(self.levels, kept)
        return CommitmentForecast(curve.campaign_id, as_of, 0, kept, kept, kept, self.coverage, quantiles, explanation)

    def _explain(self, panel: CurvePanel, i: int, k: int, point: float) -> ForecastExplanation:
        assert self.baseline is not None
        curve, now = panel.curves[i], panel.curves[i].at(k)
        analogs = _analogs(panel, i, k)
        books = sum(a.at(k).on_books for a in analogs)
        finals = sum(a.final_kept or 0 for a in analogs)
        return ForecastExplanation(
            days_before=k,
            on_books=now.on_books,
            committed=now.committed,
            cancelled=now.cancelled,
            capacity_left=now.capacity_left,
            analog_campaigns=tuple(a.campaign_id for a in analogs),
            analog_pickup=(finals - books) / len(analogs) if analogs else None,
            analog_conversion=finals / books if analogs and books > 0 else None,
            baseline_pickup=self.baseline.pickup(curve.group, curve.ends_on.weekday(), k),
            expected_pickup=point - now.on_books,
        )


def _analogs(panel: CurvePanel, i: int, k: int) -> list[CommitmentCurve]:
    """The campaigns the explanation names, all complete at the forecast moment: the last few ending on the same
    weekday and those of that weekday around the same date a year earlier (any weekday if none match; the last
    few of the group if neither exists)."""
    me, t = panel.curves[i], panel.end[i] - k
    done = [
        c
        for j, c in enumerate(panel.curves)
        if c.group == me.group and panel.end[j] <= t and not np.isnan(panel.final[j])
    ]
    same_day = [c for c in done if c.ends_on.weekday() == me.ends_on.weekday()]
    year_ago = [c for c in done if LAST_YEAR[0] <= (me.ends_on - c.ends_on).days <= LAST_YEAR[1]]
    weekday_ids = {c.campaign_id for c in same_day}
    chosen = (same_day or done)[-SAME_WEEKDAY:] + ([c for c in year_ago if c.campaign_id in weekday_ids] or year_ago)
    return sorted({c.campaign_id: c for c in chosen}.values(), key=lambda c: c.ends_on)


def _range_shape(held_out: np.ndarray, steady: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """Quantiles of scaled errors around the point, for one horizon.

    The errors that matter are those of steady forecasts, made with a year of history behind them as the product
    will run: early campaigns lack same-season analogs and err more, and would make the range too wide. With enough
    of them their own quantiles are the range; with fewer, tail quantiles are noise, so the shape comes from every
    held-out forecast and only the width (a median absolute deviation, stable on few rows) from the steady ones.
    Errors are centred on their median: the point is a median, and the calibration period's own drift (demand
    rising faster than the model knew) says nothing about the sign of the next period's errors."""
    if steady.size >= MIN_STEADY_ROWS_FOR_TAILS:
        return np.quantile(steady - np.median(steady), levels)
    if held_out.size == 0:
        return np.zeros(len(levels))
    centred = held_out - np.median(held_out)
    width = np.median(np.abs(centred))
    if steady.size >= MIN_STEADY_ROWS and width > 0:
        centred = centred * np.median(np.abs(steady - np.median(steady))) / width
    return np.quantile(centred, levels)


def _scale(point: np.ndarray) -> np.ndarray:
    """Errors grow with volume, about as counts do (Poisson-like: with the square root)."""
    return np.sqrt(np.maximum(point, 1.0))


def _to_target(target: str, final: np.ndarray, on_books: np.ndarray) -> np.ndarray:
    if target == "pickup":
        return final - on_books
    return np.sqrt(final) - np.sqrt(np.maximum(on_books, 0.0))


def _from_target(target: str, predicted: np.ndarray, on_books: np.ndarray) -> np.ndarray:
    if target == "pickup":
        return on_books + predicted
    return np.maximum(np.sqrt(np.maximum(on_books, 0.0)) + predicted, 0.0) ** 2


def _blend(boosters: Sequence[tuple[str, lgb.Booster]], x: pd.DataFrame, on_books: np.ndarray) -> np.ndarray:
    return np.mean([_from_target(t, b.predict(x), on_books) for t, b in boosters], axis=0)
