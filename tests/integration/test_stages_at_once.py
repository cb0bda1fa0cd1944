"""Intake, review and allocation running at once, as the queue's workers run them on a peak night: each stage
takes what the stage before it has committed, page by page, and the night ends as if they had taken turns."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from presale_erp.adapters.db.tables import orders
from presale_erp.domain.access import SYSTEM
from presale_erp.services import fulfilment, intake, review, stock
from tests.conftest import NOW
from tests.integration.test_fulfilment import CIPHER, LATER, set_up
from tests.integration.test_fulfilment_concurrency import allocation_outcome, orders_for_scarce_stock

ORDERS = 240
PAGE = 12


def _until_upstream_ends(upstream: threading.Event, run: Callable[[], int]) -> int:
    """A stage's worker: runs after runs until one that started after the stage before it had ended. Returns
    how many runs found work while the stage before was still at it."""
    overlapped = 0
    while True:
        last_round = upstream.is_set()
        done = run()
        if last_round:
            return overlapped
        if done:
            overlapped += 1
        else:
            upstream.wait(0.01)


def test_stages_running_at_once_review_every_order_and_allocate_every_approved_one_without_overselling(db):
    set_up(db, hz=25, gz=15, lock_in=None)  # 40 teas and 5 cups for demand several times that
    bodies = orders_for_scarce_stock(ORDERS, first_id=70_000, buyers=150, seed=11)  # repeat buyers, pages apart
    taken, reviewed, decided_one = threading.Event(), threading.Event(), threading.Event()

    def pages() -> Iterator[list[dict]]:
        for number, start in enumerate(range(0, ORDERS, PAGE)):
            if number == 3:  # the first two pages are committed by now: intake goes on once review has taken some
                decided_one.wait(30)
            yield bodies[start : start + PAGE]

    def take_in() -> None:
        try:
            intake.intake_pages(db, CIPHER, SYSTEM, "TM-1", pages(), source="fetch", now=NOW)
        finally:  # a failed stage ends too: the next one finishes what it has and stops
            taken.set()

    def review_once() -> int:
        report = review.review_pending(db, CIPHER, SYSTEM, now=LATER, batch=PAGE)
        decided = report.reviewed - report.waiting
        if decided:
            decided_one.set()
        return decided

    def review_all() -> int:
        try:
            return _until_upstream_ends(taken, review_once)
        finally:
            reviewed.set()

    def allocate_all() -> int:
        return _until_upstream_ends(reviewed, lambda: fulfilment.allocate(db, SYSTEM, now=LATER, batch=PAGE).allocated)

    with ThreadPoolExecutor(max_workers=3) as pool:
        stages = [pool.submit(f) for f in (take_in, review_all, allocate_all)]
        overlapped = [stage.result() for stage in stages]

    with db.uow(write=False) as uow:
        verdicts = Counter(uow.conn.execute(select(orders.c.review_status)).scalars())
    states, positions, units = allocation_outcome(db)
    print(
        f"\nruns that found work while the stage before was at it: review {overlapped[1]}, allocation {overlapped[2]}"
    )
    assert overlapped[1] > 0, "review never ran beside intake: this test would not test stages at once"
    assert sum(verdicts.values()) == ORDERS and verdicts["pending"] == 0, verdicts
    assert verdicts["approved"] > 0
    assert sum(states.values()) == verdicts["approved"], states
    assert set(states) <= {("allocated", False), ("waiting", True)}, states
    assert all(reserved <= on_hand for on_hand, reserved in positions), "oversold"
    assert units["TEA-250G"] == 40 and units["CUP-GIFT"] == 5  # demand exceeds stock: all of it is promised
    assert sum(reserved for _, reserved in positions) == sum(units.values())
    assert stock.ledger_discrepancies(db) == []
