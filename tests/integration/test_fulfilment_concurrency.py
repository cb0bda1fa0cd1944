"""64 workers allocating at once, competing for a few scarce SKUs (PostgreSQL: real concurrent transactions)."""

from __future__ import annotations

import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from threading import Barrier

import pytest
from sqlalchemy import select

from presale_erp.adapters.db.tables import orders, parcel_lines, parcels, skus, stock_positions
from presale_erp.domain.access import SYSTEM
from presale_erp.services import fulfilment, intake, review, stock
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests.conftest import NOW
from tests.integration.test_fulfilment import CIPHER, LATER, set_up

WORKERS = 64
ORDERS = 256
SCARCE = ("TEA-250G", "CUP-GIFT")


@pytest.mark.parametrize(
    ("workers", "batch"),
    [
        (WORKERS, 16),
        # fewer workers, each running many batches, each batch decided while its last one is being written
        (8, 4),
    ],
    ids=["64 workers", "8 workers deciding ahead"],
)
def test_concurrent_workers_never_oversell_and_every_order_ends_allocated_or_waiting_with_a_reason(db, workers, batch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL; SQLite has one writer by design")
    set_up(db, hz=25, gz=15, lock_in=None)  # 40 teas and 5 cups for demand several times that
    bodies = orders_for_scarce_stock(ORDERS, first_id=90_000, buyers=200, seed=7)
    intake.intake(db, CIPHER, SYSTEM, "TM-1", bodies, source="fetch", now=NOW)
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    barrier = Barrier(workers)

    def worker(_: int) -> int:
        barrier.wait()
        return fulfilment.allocate(db, SYSTEM, now=LATER, batch=batch).allocated

    with ThreadPoolExecutor(max_workers=workers) as pool:
        allocated = sum(pool.map(worker, range(workers)))

    states, positions, units = allocation_outcome(db)
    print(f"\n{workers} workers: {dict(states)}, units in parcels {dict(units)}")
    assert all(reserved <= on_hand for on_hand, reserved in positions), "oversold"
    assert stock.ledger_discrepancies(db) == []
    assert sum(states.values()) == ORDERS and set(states) <= {("allocated", False), ("waiting", True)}, states
    assert states[("allocated", False)] == allocated > 0
    assert units["TEA-250G"] <= 40 and units["CUP-GIFT"] <= 5
    assert sum(reserved for _, reserved in positions) == sum(units.values())


def allocation_outcome(db) -> tuple[Counter, list[tuple[int, int]], Counter]:
    """Approved orders counted by (fulfilment status, whether a reason is given); every stock position's (on
    hand, reserved); units in allocated parcels by SKU code."""
    with db.uow(write=False) as uow:
        conn = uow.conn
        positions = [tuple(p) for p in conn.execute(select(stock_positions.c.on_hand, stock_positions.c.reserved))]
        states = Counter(
            (status, bool(reason))
            for status, reason in conn.execute(
                select(orders.c.fulfilment_status, orders.c.fulfilment_reason).where(
                    orders.c.review_status == "approved"
                )
            )
        )
        units: Counter = Counter()
        for code, qty in conn.execute(
            select(skus.c.code, parcel_lines.c.quantity)
            .join(skus, skus.c.id == parcel_lines.c.sku_id)
            .join(parcels, parcels.c.code == parcel_lines.c.parcel_code)
            .where(parcels.c.status == "allocated")
        ):
            units[code] += qty
    return states, positions, units


def orders_for_scarce_stock(count: int, *, first_id: int, buyers: int, seed: int) -> list[dict]:
    """Taobao orders for one or both scarce SKUs, from three provinces; buyer n orders again `buyers` orders
    later (same phone and address), so some parcels may merge."""
    rng = random.Random(seed)
    return [
        payloads.taobao(
            sample(
                str(first_id + n),
                lines=[
                    SimLine(sku, rng.randint(1, 2), Decimal("99.00")) for sku in rng.sample(SCARCE, rng.randint(1, 2))
                ],
                province=rng.choice(["浙江省", "广东省", "江苏省"]),
                buyer_id=f"buyer-{n % buyers}",
                phone=f"139{n % buyers:08d}",
                street=f"文三路 {n % buyers} 号",
                created=NOW - timedelta(hours=2),
                modified=NOW + timedelta(seconds=n),
            )
        )
        for n in range(count)
    ]
