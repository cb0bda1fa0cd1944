"""On SQLite, whose one write lock every worker shares, allocation decides a batch before it takes the lock (so that
intake and review can write meanwhile), and writes that decision only if nothing it read has changed since."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from presale_erp.domain.access import SYSTEM
from presale_erp.services import fulfilment, stock
from tests import builders
from tests.integration.test_fulfilment import LATER, TEA, position, set_up
from tests.integration.test_fulfilment_batches import paid_orders, states
from tests.integration.test_sqlite_writers import queue_is_held


@pytest.fixture
def sqlite_db(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("on PostgreSQL a batch is decided on locked rows, or ahead of the batch being written")
    return db


def caller_reserves_seven(db) -> None:
    """An API caller takes 7 of HZ's 10 units."""
    line = stock.ReservationLine("api:1", TEA, "HZ", 7)
    stock.reserve(db, SYSTEM, [line], shop=None, order_ref="api:1", expires_at=None, now=LATER)


def new_sku(db) -> None:
    """Something committed that no decision of the batch reads."""
    builders.sku(db, "MUG-1")


def decided_with(monkeypatch, db, meanwhile: Callable | None) -> list[int]:
    """Let someone else commit `meanwhile(db)` just after the first batch is decided, before it is written.
    Returns the size of each batch decided: a batch decided again shows twice."""
    decided: list[int] = []
    decide = fulfilment._decide

    def deciding(batch, *args, **kwargs):
        made = decide(batch, *args, **kwargs)
        if not decided and meanwhile is not None:
            meanwhile(db)
        decided.append(len(batch.rows))
        return made

    monkeypatch.setattr(fulfilment, "_decide", deciding)
    return decided


@pytest.mark.parametrize(
    ("meanwhile", "allocated", "reserved", "decisions"),
    [
        (None, 6, 6, [6]),
        (new_sku, 6, 6, [6]),  # read again under the lock, found as it was: the decision stands
        (caller_reserves_seven, 3, 10, [6, 6]),  # stock moved: decided again on what is left
    ],
    ids=["nobody writes meanwhile", "an unrelated write meanwhile", "stock taken meanwhile"],
)
def test_a_batch_decided_before_the_lock_is_written_only_as_things_stand_under_it(
    sqlite_db, monkeypatch, meanwhile, allocated, reserved, decisions
):
    db = sqlite_db
    set_up(db, hz=10, gz=0, lock_in=None)
    paid_orders(db, 8400)
    decided = decided_with(monkeypatch, db, meanwhile)

    report = fulfilment.allocate(db, SYSTEM, now=LATER, batch=10)

    assert (report.allocated, report.waiting) == (allocated, 6 - allocated)
    assert position(db)["reserved"] == reserved <= position(db)["on_hand"]
    assert decided == decisions
    assert stock.ledger_discrepancies(db) == []


def test_orders_approved_meanwhile_beyond_the_batch_are_left_to_the_next(sqlite_db, monkeypatch):
    db = sqlite_db
    set_up(db, hz=10, gz=0, lock_in=None)
    paid_orders(db, 8500, count=3)
    decided = decided_with(monkeypatch, db, lambda db: paid_orders(db, 8600, count=2))

    report = fulfilment.allocate(db, SYSTEM, now=LATER, batch=10)

    assert report.allocated == 5
    # the first three read again under the lock (intake and review wrote meanwhile) and found as they were, then
    # the two in a batch of their own
    assert decided == [3, 2]
    assert set(states(db).values()) == {"allocated"}


def test_a_reading_unit_of_work_becomes_a_writer_only_if_nobody_has_committed_since_it_read(sqlite_db):
    db = sqlite_db
    builders.sku(db, "MUG-1")
    with db.uow(write=False) as uow:
        uow.conn.exec_driver_sql("SELECT count(*) FROM skus").scalar()
        assert uow.start_writing()
        uow.conn.exec_driver_sql("UPDATE skus SET name = 'mug' WHERE code = 'MUG-1'")
        uow.commit()

    with db.uow(write=False) as uow:
        uow.conn.exec_driver_sql("SELECT count(*) FROM skus").scalar()
        builders.sku(db, "MUG-2")  # another connection commits
        assert not uow.start_writing()
        # it still reads what it read, and keeps no other writer waiting meanwhile
        assert uow.conn.exec_driver_sql("SELECT count(*) FROM skus").scalar() == 1
        assert not queue_is_held(Path(f"{db.engine.url.database}.writers"))
