"""The presale forecast on hand-made commitment curves: the baseline's sums, a range around the point, updates as
deposits arrive, and no peeking at campaigns that had not finished yet."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import numpy as np
import pytest

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.forecasting.commitment_curve import (
    CommitmentCurve,
    CurveSnapshot,
    WeekdayPickupBaseline,
    curve_from_daily_counts,
    observable_history,
)
from presale_erp.domain.forecasting.curve_features import CurvePanel
from presale_erp.domain.forecasting.curve_model import CommitmentCurveModel

MONDAY = date(2026, 3, 2)
DAY = timedelta(days=1)


def curve(campaign_id: str, ends_on: date, points: dict[int, tuple[int, int]], final: int | None) -> CommitmentCurve:
    """points: days_before -> (committed, cancelled)."""
    snapshots = tuple(CurveSnapshot(k, made, gone) for k, (made, gone) in points.items())
    return CommitmentCurve(campaign_id, "shop-1", ends_on, snapshots, final)


def synthetic_campaigns(n: int = 150, seed: int = 7) -> list[CommitmentCurve]:
    """One campaign ending each day; deposits arrive over the last 30 days, about a fifth are refunded later."""
    rng = np.random.default_rng(seed)
    curves = []
    for i in range(n):
        ends = MONDAY + i * DAY
        size = rng.poisson(30 + 15 * (ends.weekday() >= 5) + 10 * np.sin(i / 20))
        made, gone = {}, {}
        kept = 0
        for _ in range(size):
            lead = int(min(rng.geometric(0.08), 30))
            day = ends - lead * DAY
            made[day] = made.get(day, 0) + 1
            if rng.random() < 0.2:
                refund = day + int(rng.integers(0, lead + 1)) * DAY
                gone[refund] = gone.get(refund, 0) + 1
            else:
                kept += 1
        curves.append(curve_from_daily_counts(f"C{i:03}", "shop-1", ends, made, gone, as_of=ends, final_kept=kept))
    return curves


@pytest.fixture(scope="module")
def campaigns() -> list[CommitmentCurve]:
    return synthetic_campaigns()


@pytest.fixture(scope="module")
def model(campaigns) -> CommitmentCurveModel:
    return CommitmentCurveModel(horizons=(3, 7, 14), rounds=60, folds=3).fit(campaigns[:110])


def test_a_snapshot_between_two_known_days_is_the_later_known_state():
    c = curve("A", MONDAY, {14: (10, 1), 7: (20, 3), 0: (30, 5)}, 25)

    assert c.at(7).on_books == 17
    assert c.at(9).on_books == 9  # on day end-9 the books are as day end-14 left them; end-7 is still to come
    assert c.at(30).on_books == 0  # before the first deposit nothing was committed


def test_what_was_known_on_a_day_hides_later_snapshots_and_the_unfinished_final():
    c = curve("A", MONDAY, {14: (10, 1), 7: (20, 3), 0: (30, 5)}, 25)

    seen = c.seen_on(MONDAY - 7 * DAY)

    assert [s.days_before for s in seen.snapshots] == [7, 14]
    assert seen.final_kept is None
    assert c.seen_on(MONDAY).final_kept == 25
    assert observable_history([c], MONDAY - 20 * DAY) == []  # not started yet


def test_daily_counts_become_a_cumulative_curve_with_the_quota_left():
    c = curve_from_daily_counts(
        "D11",
        "shop-1",
        MONDAY,
        {MONDAY - 3 * DAY: 5, MONDAY - DAY: 4},
        {MONDAY - 2 * DAY: 2},
        as_of=MONDAY - DAY,
        capacity=20,
    )

    assert [(s.days_before, s.committed, s.cancelled) for s in reversed(c.snapshots)] == [
        (3, 5, 0),
        (2, 5, 2),
        (1, 9, 2),
    ]
    assert c.at(1).capacity_left == 13


def test_baseline_adds_the_mean_pickup_of_the_same_weekday_to_the_books():
    past = [
        curve("M1", MONDAY - 7 * DAY, {7: (12, 2)}, 20),  # pickup from 7 days out: 20 - 10 = 10
        curve("M2", MONDAY - 14 * DAY, {7: (10, 0)}, 14),  # 4
        curve("T1", MONDAY - 6 * DAY, {7: (5, 0)}, 25),  # a Tuesday: 20
    ]
    baseline = WeekdayPickupBaseline.fit(past, horizons=[7])
    live = curve("M3", MONDAY, {7: (9, 1)}, None)

    assert baseline.predict(live, 7) == 8 + (10 + 4) / 2
    assert baseline.pickup("shop-1", MONDAY.weekday() + 2, 7) == (10 + 4 + 20) / 3  # no Wednesday: the group's mean
    assert baseline.pickup("shop-1", MONDAY.weekday(), 8) == 7  # an unfitted horizon borrows the nearest one
    assert baseline.pickup("another shop", 0, 7) == 0


def test_the_range_holds_the_point_and_the_quantiles_rise(model, campaigns):
    live = campaigns[120]

    forecast = model.forecast(live, live.ends_on - 7 * DAY, campaigns)

    assert forecast.low <= forecast.point <= forecast.high
    assert forecast.high > forecast.low
    levels = sorted(forecast.quantiles)
    assert [forecast.quantiles[q] for q in levels] == sorted(forecast.quantiles.values())
    assert forecast.days_before == 7
    assert forecast.coverage == 0.8


def test_the_forecast_moves_as_new_deposits_arrive(model, campaigns):
    live = campaigns[125]
    early = model.forecast(live, live.ends_on - 14 * DAY, campaigns)
    late = model.forecast(live, live.ends_on - 3 * DAY, campaigns)

    assert early.explanation.on_books == live.at(14).on_books
    assert late.explanation.on_books == live.at(3).on_books
    assert late.point != early.point
    # three days out, less is left to happen than two weeks out
    assert late.high - late.low < early.high - early.low


def test_campaigns_that_had_not_finished_are_never_used(model, campaigns):
    live = campaigns[130]
    as_of = live.ends_on - 7 * DAY
    # every campaign ending after the forecast moment gets an absurd outcome and absurd late deposits
    tampered = [
        c if c.ends_on <= as_of else replace(c, final_kept=10_000, snapshots=(*c.snapshots, CurveSnapshot(0, 9999, 0)))
        for c in campaigns
        if c.campaign_id != live.campaign_id
    ]

    honest = model.forecast(live, as_of, campaigns)
    peeking = model.forecast(live, as_of, [*tampered, live])

    assert peeking.point == honest.point
    assert peeking.quantiles == honest.quantiles
    named = {c.campaign_id: c for c in campaigns}
    assert all(named[a].ends_on <= as_of for a in honest.explanation.analog_campaigns)


def test_features_of_a_row_ignore_everything_after_its_forecast_moment(model, campaigns):
    panel = CurvePanel.build(campaigns, model.depth)
    row, k = 100, 7
    t = panel.curves[row].ends_on - k * DAY
    later = [c if c.ends_on <= t else replace(c, final_kept=0) for c in campaigns]
    other = CurvePanel.build(later, model.depth)

    a, _ = model.predict_rows(panel, np.array([row]), np.array([k]))
    b, _ = model.predict_rows(other, np.array([row]), np.array([k]))

    assert a == pytest.approx(b)


def test_the_explanation_names_what_drove_the_estimate(model, campaigns):
    live = campaigns[140]

    e = model.forecast(live, live.ends_on - 7 * DAY, campaigns).explanation

    assert e.days_before == 7
    assert e.on_books == e.committed - e.cancelled
    assert 1 <= len(e.analog_campaigns) <= 10
    assert e.analog_pickup is not None and e.analog_conversion is not None and e.analog_conversion > 0
    assert e.baseline_pickup > 0
    text = e.summary()
    assert f"{e.on_books} commitments held 7 days before the end" in text
    assert "similar past campaigns" in text


def test_a_finished_campaign_is_its_own_answer(model, campaigns):
    done = campaigns[100]

    forecast = model.forecast(done, done.ends_on + DAY, campaigns)

    assert forecast.point == forecast.low == forecast.high == done.final_kept
    assert forecast.days_before == 0


def test_several_live_campaigns_at_once_match_one_by_one(model, campaigns):
    as_of = campaigns[120].ends_on
    live = [c for c in campaigns if as_of < c.ends_on <= as_of + 10 * DAY]

    together = model.forecast_many(live, as_of, campaigns)

    assert [f.campaign_id for f in together] == [c.campaign_id for c in live]
    assert [f.point for f in together] == [model.forecast(c, as_of, campaigns).point for c in live]


def test_a_model_needs_finished_campaigns_and_a_sensible_coverage():
    with pytest.raises(InvalidRequest, match="No finished campaign"):
        CommitmentCurveModel().fit([curve("A", MONDAY, {7: (3, 0)}, None)])
    with pytest.raises(InvalidRequest, match="coverage"):
        CommitmentCurveModel(coverage=1.2)
