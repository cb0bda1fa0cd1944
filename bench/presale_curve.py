"""Presale forecast backtest on real booking curves: the product's model against the weekday pickup baseline.

    OMP_NUM_THREADS=1 .venv/bin/python bench/presale_curve.py --dataset ../shared/data/hotel_booking_curves
        [--split 2017-01-01] [--source daily|grid]

Trains on curves that ended before --split and scores the rest at 60, 28, 14 and 7 days before the end: WAPE of
the baseline and of the model, how much lower the model's is, and the share of outcomes inside its 80% range.
`daily` rebuilds daily curves with rooms left from the raw bookings; `grid` reads curves.csv.gz (22 snapshot days,
no capacity). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from presale_erp.adapters.booking_curves import load_curve_file, load_daily_curves
from presale_erp.domain.forecasting.curve_evaluation import HorizonScore, evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=Path("../shared/data/hotel_booking_curves"))
    parser.add_argument("--split", type=date.fromisoformat, default=date(2017, 1, 1))
    parser.add_argument("--source", choices=("daily", "grid"), default="daily")
    args = parser.parse_args()

    started = time.perf_counter()
    if args.source == "daily":
        curves = load_daily_curves(args.dataset, capacity_known_before=args.split)
    else:
        curves = load_curve_file(args.dataset)
    loaded = time.perf_counter()
    scores = evaluate(curves, args.split)
    done = time.perf_counter()
    print(f"{len(curves)} curves ({args.source}), split {args.split}; load {loaded - started:.1f} s")
    _print_table(scores, done - loaded)


def _print_table(scores: list[HorizonScore], seconds: float) -> None:
    header = f"{'k':>3}  {'baseline WAPE':>13}  {'model WAPE':>10}  {'lower by':>8}  {'80% cover':>9}  {'width':>6}"
    print(header + f"  {'train':>5}  {'test':>5}")
    for s in scores:
        print(
            f"{s.days_before:>3}  {s.baseline_wape:>13.4f}  {s.model_wape:>10.4f}  {s.improvement:>8.1%}"
            f"  {s.coverage:>9.1%}  {s.mean_range_width:>6.1f}  {s.train_curves:>5}  {s.test_curves:>5}"
        )
    print(f"fit + predict: {seconds:.1f} s")


if __name__ == "__main__":
    main()
