"""Many buyers, few units: reservations never oversell, on SQLite (threads) and PostgreSQL (connections)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import Conflict, IllegalTransition, InsufficientStock
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import presale, stock, stock_views
from tests import builders
from tests.conftest import NOW
from tests.integration.test_presale_campaigns import new_campaign

CLIENTS = 50
UNITS = 20


def _race(db, attempt) -> list[str]:
    barrier = Barrier(CLIENTS)

    def one(n: int) -> str:
        barrier.wait()
        try:
            attempt(n)
            return "reserved"
        except InsufficientStock as refused:
            assert "Insufficient stock" in refused.detail
            return "insufficient stock"

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        return list(pool.map(one, range(CLIENTS)))


def test_fifty_buyers_racing_for_twenty_units_get_exactly_twenty(db):
    builders.stocked(db, UNITS)

    outcomes = _race(
        db,
        lambda n: stock.reserve(
            db,
            SYSTEM,
            [stock.ReservationLine(f"T{n}:1", "TEA-250G", "HZ", 1)],
            shop=None,
            order_ref=f"T{n}",
            expires_at=None,
            now=NOW,
        ),
    )

    assert outcomes.count("reserved") == UNITS
    assert outcomes.count("insufficient stock") == CLIENTS - UNITS
    view = stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")
    assert (view["reserved"], view["available_to_sell"]) == (UNITS, 0)
    assert stock.ledger_discrepancies(db) == []


def test_orders_locking_two_skus_in_opposite_orders_never_deadlock(db):
    """Each order names the SKUs in a different order; the lock helper always locks in one order."""
    builders.stocked(db, UNITS)
    builders.sku(db, "CUP")
    builders.receive(db, "CUP", "HZ", UNITS)

    def order(n: int) -> None:
        lines = [
            stock.ReservationLine(f"T{n}:1", "TEA-250G", "HZ", 1),
            stock.ReservationLine(f"T{n}:2", "CUP", "HZ", 1),
        ]
        stock.reserve(
            db,
            SYSTEM,
            lines if n % 2 else lines[::-1],
            shop=None,
            order_ref=f"T{n}",
            expires_at=None,
            now=NOW,
        )

    outcomes = _race(db, order)

    assert outcomes.count("reserved") == UNITS
    for sku in ("TEA-250G", "CUP"):
        assert stock_views.position_detail(db, sku=sku, warehouse="HZ")["reserved"] == UNITS
    assert stock.ledger_discrepancies(db) == []


def test_concurrent_shipments_and_reservations_keep_the_ledger_balanced(db):
    builders.stocked(db, UNITS)

    def act(n: int) -> None:
        if n % 2:
            stock.reserve(
                db,
                SYSTEM,
                [stock.ReservationLine(f"T{n}:1", "TEA-250G", "HZ", 1)],
                shop=None,
                order_ref=f"T{n}",
                expires_at=None,
                now=NOW,
            )
        else:
            stock.post_movement(
                db,
                SYSTEM,
                f"ship-{n}",
                MovementRequest(MovementKind.SHIPMENT, "TEA-250G", "HZ", 1, bin="A-01"),
                reference=None,
                now=NOW,
            )

    outcomes = _race(db, act)

    view = stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")
    shipped = UNITS - view["on_hand"]
    assert outcomes.count("reserved") == shipped + view["reserved"] == UNITS  # every unit went exactly once
    assert view["on_hand"] == view["reserved"]  # what is left on the shelf is all promised, none twice
    assert stock.ledger_discrepancies(db) == []


def test_the_same_new_id_posted_by_many_at_once_is_taken_by_exactly_one(db):
    """Ten clients race to use one movement id for ten different SKUs: one wins, nine hear 'conflict'."""
    builders.stocked(db, 0)
    for n in range(10):
        builders.sku(db, f"S{n}")
    barrier = Barrier(10)

    def post(n: int) -> str:
        barrier.wait()
        try:
            stock.post_movement(
                db,
                SYSTEM,
                "same-id",
                MovementRequest(MovementKind.RECEIPT, f"S{n}", "HZ", 1, bin="A-01"),
                reference=None,
                now=NOW,
            )
            return "posted"
        except Conflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = list(pool.map(post, range(10)))

    assert sorted(outcomes) == ["conflict"] * 9 + ["posted"]
    assert stock.ledger_discrepancies(db) == []


def test_opening_a_campaign_twice_at_once_applies_its_quota_once(db):
    builders.stocked(db, 0)
    presale.create_campaign(db, SYSTEM, new_campaign(40), now=NOW)
    barrier = Barrier(2)

    def open_it(_: int) -> str:
        barrier.wait()
        try:
            presale.open_campaign(db, SYSTEM, "D11", now=NOW)
            return "opened"
        except IllegalTransition:
            return "already open"

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(open_it, range(2)))

    assert outcomes == ["already open", "opened"]
    assert stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")["presale_quota"] == 40
