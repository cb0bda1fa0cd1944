"""The presale forecast for a merchant with few past campaigns: conversion from analogous campaigns.

A merchant runs a handful of presales a year (618, 双11, a new-tea launch), far too few curves for a learned
model. Each past campaign of the same group (shop) says how what it held k days before its deposit window closed
turned into balance-paid units at the end (its conversion: final kept / on books at k). The live campaign's
books times those conversions give the point (median) and the range (their spread, widened when analogs are
few, since a handful of campaigns understates how far the next one can land).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from statistics import median

from presale_erp.domain.forecasting.commitment_curve import CommitmentCurve, observable_history
from presale_erp.domain.forecasting.curve_model import CommitmentForecast, ForecastExplanation

MIN_ANALOGS_FOR_OWN_SPREAD = 5
NO_HISTORY_SPREAD = 0.35  # ±35% when nothing comparable is known: wide on purpose, so nobody trusts it blindly


def analog_forecast(
    curve: CommitmentCurve, as_of: date, history: Sequence[CommitmentCurve], *, coverage: float = 0.8
) -> CommitmentForecast:
    k = max((curve.ends_on - as_of).days, 0)
    now = curve.seen_on(as_of).at(k)
    analogs = _analogs(curve, as_of, history, k)
    ratios = sorted((a.final_kept or 0) / a.at(k).on_books for a in analogs)
    tail = (1 - coverage) / 2
    if ratios:
        mid = median(ratios)
        low_ratio, high_ratio = _quantile(ratios, tail), _quantile(ratios, 1 - tail)
        if len(ratios) < MIN_ANALOGS_FOR_OWN_SPREAD:
            # Few campaigns understate the spread: keep at least the no-history width around their median.
            low_ratio = min(low_ratio, mid * (1 - NO_HISTORY_SPREAD * _shrink(len(ratios))))
            high_ratio = max(high_ratio, mid * (1 + NO_HISTORY_SPREAD * _shrink(len(ratios))))
    else:
        mid, low_ratio, high_ratio = 1.0, 1 - NO_HISTORY_SPREAD, 1 + NO_HISTORY_SPREAD
    books = now.on_books
    point, low, high = books * mid, books * low_ratio, books * high_ratio
    books_then = sum(a.at(k).on_books for a in analogs)
    finals = sum(a.final_kept or 0 for a in analogs)
    explanation = ForecastExplanation(
        days_before=k,
        on_books=books,
        committed=now.committed,
        cancelled=now.cancelled,
        capacity_left=now.capacity_left,
        analog_campaigns=tuple(a.campaign_id for a in analogs),
        analog_pickup=(finals - books_then) / len(analogs) if analogs else None,
        analog_conversion=finals / books_then if analogs and books_then > 0 else None,
        baseline_pickup=0.0,
        expected_pickup=point - books,
    )
    quantiles = {tail: low, 0.5: point, 1 - tail: high}
    return CommitmentForecast(curve.campaign_id, as_of, k, point, low, high, coverage, quantiles, explanation)


def _analogs(curve: CommitmentCurve, as_of: date, history: Sequence[CommitmentCurve], k: int) -> list[CommitmentCurve]:
    """Completed campaigns known on `as_of` that held something k days before their end: the same group's if
    there are any, else every group's."""
    done = [
        c
        for c in observable_history(history, as_of)
        if c.campaign_id != curve.campaign_id and c.final_kept is not None and c.at(k).on_books > 0
    ]
    same_group = [c for c in done if c.group == curve.group]
    return sorted(same_group or done, key=lambda c: c.ends_on)


def _quantile(ordered: list[float], level: float) -> float:
    position = level * (len(ordered) - 1)
    below, above = math.floor(position), math.ceil(position)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _shrink(n: int) -> float:
    """How much of the no-history width to keep with n analogs: all of it with one, less as they add up."""
    return 1 / math.sqrt(n)
