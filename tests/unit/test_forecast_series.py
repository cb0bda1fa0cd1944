"""The long demand layout: refused with a clear reason when unusable, completed to full periods, classified."""

from __future__ import annotations

import pandas as pd
import pytest

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.forecasting.series import InvalidDemandData, classify, infer_freq, prepare, validate


def frame(**columns: list) -> pd.DataFrame:
    return pd.DataFrame(columns)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(id=["a"], date=["2026-01-01"]), "lacks column(s) quantity"),
        (frame(sku=["a"], day=["2026-01-01"], sales=[1]), "lacks column(s) id, date, quantity"),
        (frame(id=[], date=[], quantity=[]), "no rows"),
        (frame(id=["a"], date=["not a date"], quantity=[1]), "not dates"),
        (frame(id=["a"], date=["2026-01-01"], quantity=["many"]), "not a number"),
        (frame(id=["a"], date=["2026-01-01"], quantity=[-3]), "negative"),
        (frame(id=["a", "a"], date=["2026-01-01", "2026-01-01"], quantity=[1, 2]), "repeat an (id, date) pair"),
    ],
)
def test_unusable_demand_data_is_refused_with_the_reason(data, message):
    with pytest.raises(InvalidDemandData, match=message.replace("(", r"\(").replace(")", r"\)")):
        validate(data)


def test_invalid_demand_data_is_both_a_domain_refusal_and_a_value_error():
    assert issubclass(InvalidDemandData, InvalidRequest)
    assert issubclass(InvalidDemandData, ValueError)


@pytest.mark.parametrize(
    ("dates", "freq"),
    [
        (["2026-01-01", "2026-01-02", "2026-01-04"], "D"),  # a gap does not change the frequency
        (["2026-01-04", "2026-01-11", "2026-01-18"], "W-SUN"),
        (["2026-01-05", "2026-01-12", "2026-01-26"], "W-MON"),
    ],
)
def test_frequency_is_inferred_from_the_usual_gap(dates, freq):
    data = validate(frame(id=["a"] * 3, date=dates, quantity=[1, 2, 3]))

    assert infer_freq(data) == freq


@pytest.mark.parametrize(
    ("dates", "message"),
    [(["2026-01-01", "2026-01-31", "2026-03-02"], "30 days apart"), (["2026-01-01"], "single period")],
)
def test_other_frequencies_are_refused(dates, message):
    data = validate(frame(id=["a"] * len(dates), date=dates, quantity=[1] * len(dates)))

    with pytest.raises(InvalidDemandData, match=message):
        infer_freq(data)


def test_missing_days_become_zero_demand_up_to_the_last_day_of_the_data():
    demand = prepare(
        frame(
            id=["a", "a", "a", "b"],
            date=["2026-01-01", "2026-01-02", "2026-01-05", "2026-01-02"],
            quantity=[5, 6, 7, 1],
        )
    )

    a = demand.data[demand.data["id"] == "a"]
    b = demand.data[demand.data["id"] == "b"]
    assert a["quantity"].tolist() == [5, 6, 0, 0, 7]
    assert b["date"].dt.day.tolist() == [2, 3, 4, 5]  # b starts later and runs to the frame's end
    assert b["quantity"].tolist() == [1, 0, 0, 0]


def test_weekly_data_is_reindexed_by_weeks():
    demand = prepare(frame(id=["a", "a"], date=["2026-01-04", "2026-01-25"], quantity=[3, 4]))

    assert demand.freq == "W-SUN"
    assert demand.season_length == 52
    assert demand.data["quantity"].tolist() == [3, 0, 0, 4]


def test_added_days_take_the_calendar_from_other_series_and_carry_prices_forward():
    demand = prepare(
        frame(
            id=["a", "a", "a", "b", "b"],
            date=["2026-01-01", "2026-01-02", "2026-01-03", "2026-01-01", "2026-01-03"],
            quantity=[1, 1, 1, 2, 2],
            event=["", "Sale", "", "", ""],
            price=[9.0, 9.0, 9.0, 4.0, 5.0],
        )
    )

    added = demand.data[(demand.data["id"] == "b") & (demand.data["date"] == "2026-01-02")].iloc[0]
    assert added["quantity"] == 0
    assert added["event"] == "Sale"
    assert added["price"] == 4.0
    assert demand.exog == ("event", "price")


def test_empty_event_cells_mean_no_event_not_the_previous_one():
    demand = prepare(
        frame(
            id=["a"] * 3,
            date=["2026-01-01", "2026-01-02", "2026-01-03"],
            quantity=[1, 2, 3],
            event=["Sale", None, None],
        )
    )

    assert demand.data["event"].tolist() == ["Sale", "", ""]


@pytest.mark.parametrize(
    ("quantities", "kind", "intermittent"),
    [
        ([10, 11, 9, 10, 12, 10, 9, 11], "smooth", False),  # sells every day, steady sizes
        ([1, 30, 2, 25, 1, 40, 3, 1], "erratic", False),  # sells every day, wild sizes
        ([0, 0, 5, 0, 0, 5, 0, 6], "intermittent", True),  # sells one day in three, steady sizes
        ([0, 0, 1, 0, 0, 40, 0, 2], "lumpy", True),  # sells rarely, wild sizes
        ([0, 0, 0, 0, 0, 0, 0, 0], "intermittent", True),  # never sold: a slow mover
    ],
)
def test_series_are_classified_by_demand_interval_and_size_variation(quantities, kind, intermittent):
    dates = pd.date_range("2026-01-01", periods=len(quantities), freq="D")
    classes = classify(frame(id=["a"] * len(quantities), date=list(dates), quantity=quantities))

    assert classes.loc[0, "kind"] == kind
    assert bool(classes.loc[0, "intermittent"]) is intermittent
