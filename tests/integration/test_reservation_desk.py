"""Group commit for reservations (each test runs on SQLite and on PostgreSQL): many callers share one
transaction, and each still gets exactly what stock.reserve would have given it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from threading import Barrier

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from presale_erp.adapters.db import stock_repo
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import Conflict, InsufficientStock, InvalidRequest, NotFound
from presale_erp.services import reservation_desk, stock, stock_views
from presale_erp.services.reservation_desk import ReservationDesk
from tests import builders
from tests.conftest import NOW

CLIENTS = 64
UNITS = 40


@pytest.fixture
def desk(db) -> Iterator[ReservationDesk]:
    with ReservationDesk(db) as d:
        yield d


def line(id_: str, quantity: int = 1, sku: str = "TEA-250G") -> stock.ReservationLine:
    return stock.ReservationLine(id_, sku, "HZ", quantity)


def reserve(desk: ReservationDesk, *lines: stock.ReservationLine, order: str = "T1") -> stock.ReservationOutcome:
    return desk.reserve(SYSTEM, list(lines), shop=None, order_ref=order, expires_at=None, now=NOW)


def reserved(db, sku: str = "TEA-250G") -> int:
    return stock_views.position_detail(db, sku=sku, warehouse="HZ")["reserved"]


class Gate:
    """Holds the committer in one batch, so that the requests sent meanwhile are all waiting when it comes back
    and form the next batch together. Records each batch's order refs."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batches: list[list[str | None]] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self._armed = False
        real = stock.reserve_batch

        def gated(db, calls, **options):
            if self._armed:
                self._armed = False
                self.holding.set()
                self.release.wait(30)
            self.batches.append([call.order_ref for call in calls])
            return real(db, calls, **options)

        monkeypatch.setattr(stock, "reserve_batch", gated)

    def in_one_batch(self, desk: ReservationDesk, requests: list[Callable[[], object]]) -> list[object]:
        """Run `requests` concurrently behind a held batch; each result is an outcome or the error raised."""
        self._armed = True
        with ThreadPoolExecutor(max_workers=len(requests) + 1) as pool:
            held = pool.submit(_outcome, lambda: reserve(desk, line("held", sku="NO-SUCH-SKU"), order="held"))
            assert self.holding.wait(30)
            futures = [pool.submit(_outcome, request) for request in requests]
            _wait_until(lambda: desk._queue.qsize() == len(requests))  # white box: all are queued
            self.release.set()
            assert isinstance(held.result(), NotFound)
            return [f.result() for f in futures]


def _outcome(request: Callable[[], object]) -> object:
    try:
        return request()
    except Exception as error:
        return error


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "requests never reached the desk"
        time.sleep(0.005)


def test_sixty_four_buyers_racing_for_forty_units_get_exactly_forty(db, desk):
    builders.stocked(db, UNITS)
    barrier = Barrier(CLIENTS)

    def one(n: int) -> str:
        barrier.wait()
        try:
            reserve(desk, line(f"T{n}:1"), order=f"T{n}")
            return "reserved"
        except InsufficientStock:
            return "insufficient stock"

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        outcomes = list(pool.map(one, range(CLIENTS)))

    assert outcomes.count("reserved") == UNITS
    assert outcomes.count("insufficient stock") == CLIENTS - UNITS
    view = stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")
    assert (view["reserved"], view["available_to_sell"]) == (UNITS, 0)
    assert stock.ledger_discrepancies(db) == []


async def reserve_async(desk: ReservationDesk, *lines: stock.ReservationLine, order: str) -> str:
    try:
        await desk.reserve_async(SYSTEM, list(lines), shop=None, order_ref=order, expires_at=None, now=NOW)
    except InsufficientStock:
        return "insufficient stock"
    return "reserved"


def test_sixty_four_coroutines_of_one_event_loop_racing_for_forty_units_get_exactly_forty(db, desk, monkeypatch):
    """The async API's path: callers wait on their event loop, and a batch wakes that loop once."""
    builders.stocked(db, UNITS)
    wake_ups: list[int] = []
    real = reservation_desk._resolve_all
    monkeypatch.setattr(
        reservation_desk, "_resolve_all", lambda waitings: (wake_ups.append(len(waitings)), real(waitings))
    )

    async def crowd() -> list[str]:
        return await asyncio.gather(*(reserve_async(desk, line(f"A{n}:1"), order=f"A{n}") for n in range(CLIENTS)))

    outcomes = asyncio.run(crowd())

    assert (outcomes.count("reserved"), outcomes.count("insufficient stock")) == (UNITS, CLIENTS - UNITS)
    assert reserved(db) == UNITS
    assert sum(wake_ups) == CLIENTS and len(wake_ups) < CLIENTS  # callers of one batch woken together
    assert stock.ledger_discrepancies(db) == []


def test_a_coroutine_that_stops_waiting_leaves_the_desk_serving_the_rest(db, desk):
    builders.stocked(db, UNITS)

    async def one_gives_up() -> list[str]:
        quitter = asyncio.ensure_future(reserve_async(desk, line("Q:1"), order="Q"))
        await asyncio.sleep(0)
        quitter.cancel()  # its reservation may still be made: a retry with the same id is then a replay
        others = asyncio.gather(*(reserve_async(desk, line(f"B{n}:1"), order=f"B{n}") for n in range(5)))
        return await asyncio.wait_for(others, timeout=30)  # fails, rather than hangs, should they be forgotten

    assert asyncio.run(one_gives_up()) == ["reserved"] * 5
    assert reserve(desk, line("Q:1"), order="Q").reservations[0]["id"] == "Q:1"


def test_a_request_short_on_its_second_line_reserves_nothing_while_the_rest_of_its_batch_does(db, desk, monkeypatch):
    builders.stocked(db, 20)
    builders.sku(db, "TEA-500G")
    builders.receive(db, "TEA-500G", "HZ", 5)
    gate = Gate(monkeypatch)

    short, first_sku, second_sku = gate.in_one_batch(
        desk,
        [
            lambda: reserve(desk, line("A:1", 2), line("A:2", 6, sku="TEA-500G"), order="A"),
            lambda: reserve(desk, line("B:1", 3), order="B"),
            lambda: reserve(desk, line("C:1", 5, sku="TEA-500G"), order="C"),
        ],
    )

    assert isinstance(short, InsufficientStock)
    assert [(s.sku, s.wanted) for s in short.lines] == [("TEA-500G", 6)]
    assert not first_sku.replayed and not second_sku.replayed
    assert sorted(gate.batches[-1]) == ["A", "B", "C"]  # one shared transaction
    assert (reserved(db), reserved(db, "TEA-500G")) == (3, 5)
    assert (
        stock_views.list_reservations(db, sku=None, warehouse=None, status=None, order_ref="A", after_id=None, limit=10)
        == []
    )
    assert stock.ledger_discrepancies(db) == []


def test_a_retried_request_is_a_replay_not_a_second_reservation(db, desk):
    builders.stocked(db, 20)

    first = reserve(desk, line("R:1", 4), order="R")
    again = reserve(desk, line("R:1", 4), order="R")

    assert (first.replayed, again.replayed) == (False, True)
    assert again.reservations == first.reservations
    assert reserved(db) == 4


def test_two_copies_of_one_request_in_flight_together_reserve_once(db, desk, monkeypatch):
    builders.stocked(db, 20)
    gate = Gate(monkeypatch)

    outcomes = gate.in_one_batch(desk, [lambda: reserve(desk, line("R:1", 4), order="R")] * 2)

    assert sorted(o.replayed for o in outcomes) == [False, True]
    assert reserved(db) == 4
    assert stock.ledger_discrepancies(db) == []


def test_reusing_an_id_for_other_content_is_refused_to_that_caller_only(db, desk, monkeypatch):
    builders.stocked(db, 20)
    reserve(desk, line("X:1", 1), order="X")
    gate = Gate(monkeypatch)

    reused, other = gate.in_one_batch(
        desk,
        [
            lambda: reserve(desk, line("X:1", 2), order="X"),
            lambda: reserve(desk, line("Y:1", 2), order="Y"),
        ],
    )

    assert isinstance(reused, Conflict)
    assert not other.replayed
    assert sorted(gate.batches[-1]) == ["X", "Y"]
    assert reserved(db) == 3


def test_a_failed_shared_transaction_is_retried_request_by_request(db, desk, monkeypatch):
    builders.stocked(db, 20)
    gate = Gate(monkeypatch)
    real = stock.reserve_batch

    def flaky(db_, calls, **options):
        if len(calls) > 1:
            raise OperationalError("COMMIT", {}, Exception("connection lost"))
        return real(db_, calls, **options)

    monkeypatch.setattr(stock, "reserve_batch", flaky)
    outcomes = gate.in_one_batch(desk, [lambda n=n: reserve(desk, line(f"F:{n}", 1), order=f"F{n}") for n in range(3)])

    assert [o.replayed for o in outcomes] == [False, False, False]
    assert reserved(db) == 3


def test_a_malformed_request_is_refused_without_waiting_and_a_closed_desk_takes_no_more(db):
    builders.stocked(db, 20)
    desk = ReservationDesk(db)
    with pytest.raises(InvalidRequest, match="its own id"):
        reserve(desk, line("D:1"), line("D:1"))
    desk.close()
    with pytest.raises(RuntimeError, match="closed"):
        reserve(desk, line("D:2"))


def test_a_reservation_made_in_a_shared_batch_is_stored_whole_with_its_audit_row(db, desk):
    builders.stocked(db, 20)
    builders.shop(db, "TM-1")
    hold_until = NOW.replace(microsecond=0) + timedelta(minutes=30)

    desk.reserve(SYSTEM, [line("W:1", 3)], shop="TM-1", order_ref="W", expires_at=hold_until, now=NOW)

    (row,) = stock_views.list_reservations(
        db, sku=None, warehouse=None, status=None, order_ref="W", after_id=None, limit=10
    )
    assert (row["id"], row["sku"], row["quantity"], row["status"]) == ("W:1", "TEA-250G", 3, "pending")
    assert (row["expires_at"], row["created_at"], row["created_by"]) == (hold_until, NOW, SYSTEM.label)
    (audit,) = stock_views.audit_trail(db, entity="reservation", actor=None, before_id=None, limit=10)
    assert (audit["entity_id"], audit["action"], audit["at"]) == ("W:1", "reservation.reserve", NOW)
    assert audit["details"] == {"sku": "TEA-250G", "warehouse": "HZ", "quantity": 3, "from_quota": 0, "order_ref": "W"}
    assert reserved(db) == 3
    assert stock.ledger_discrepancies(db) == []


def test_a_sku_created_after_a_refusal_for_its_code_can_be_reserved_at_once(db, desk):
    builders.stocked(db, 20)

    with pytest.raises(NotFound):
        reserve(desk, line("N:1", sku="NEW-SKU"), order="N")
    builders.sku(db, "NEW-SKU")
    builders.receive(db, "NEW-SKU", "HZ", 5)

    assert not reserve(desk, line("N:2", sku="NEW-SKU"), order="N").replayed
    assert reserved(db, "NEW-SKU") == 1


@pytest.mark.parametrize(
    ("taken_elsewhere", "desk_may_reserve"),
    [(1, True), (2, False)],
    ids=["stock left after another writer", "another writer took the last units"],
)
def test_the_desk_decides_on_what_the_position_holds_now_when_another_writer_changed_it(
    db, desk, taken_elsewhere, desk_may_reserve
):
    """On PostgreSQL the desk decides a batch on the counters it last wrote and writes only if the row still holds
    them; a change made meanwhile by any other writer sends it back to the locked row, so it never oversells."""
    builders.stocked(db, 3)
    reserve(desk, line("D:1"), order="D1")
    stock.reserve(db, SYSTEM, [line("E:1", taken_elsewhere)], shop=None, order_ref="E1", expires_at=None, now=NOW)

    if desk_may_reserve:
        assert reserve(desk, line("D:2"), order="D2").replayed is False
    else:
        with pytest.raises(InsufficientStock):
            reserve(desk, line("D:2"), order="D2")

    assert reserved(db) == 1 + taken_elsewhere + (1 if desk_may_reserve else 0)
    assert stock.ledger_discrepancies(db) == []


def test_a_retry_of_a_reservation_the_desk_made_is_a_replay_and_another_use_of_its_id_a_conflict(db, desk):
    builders.stocked(db, 10)
    first = reserve(desk, line("R:1", 2), order="R1")

    again = reserve(desk, line("R:1", 2), order="R1")
    with pytest.raises(Conflict):
        reserve(desk, line("R:1", 3), order="R1")

    assert (again.replayed, again.reservations) == (True, first.reservations)
    assert reserved(db) == 2


class WritesAhead:
    """Stands in the lanes' way on PostgreSQL: holds the first write ahead until the second one (decided on the
    counters the first will leave) has been tried, then lets the first fail or land. Counts writes and the
    batches decided again on locked rows."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *, reserved_at_start: int, first_lands: bool) -> None:
        self.reserved_at_start = reserved_at_start
        self.writes = 0
        self.locked_batches = 0
        self._second_tried = threading.Event()
        self._count = threading.Lock()
        real_write, real_batch = stock.write_remembered, stock.reserve_batch

        def write(db, batch, turn=None):
            with self._count:
                self.writes += 1
            if _reserved_before(batch) == self.reserved_at_start:  # the first batch decided, whichever lane is first
                assert self._second_tried.wait(30), "no second batch was written ahead"
                return real_write(db, batch, turn) if first_lands else False  # False: lost before the database
            try:
                return real_write(db, batch, turn)
            finally:
                self._second_tried.set()

        def locked(db, calls, **options):
            self.locked_batches += 1
            return real_batch(db, calls, **options)

        monkeypatch.setattr(stock, "write_remembered", write)
        monkeypatch.setattr(stock, "reserve_batch", locked)


def _reserved_before(batch: stock.RememberedBatch) -> int:
    (before,) = batch.stock.before.values()
    return dict(zip(stock_repo.COUNTERS, before, strict=True))["reserved"]


def crowd_reserving_one_each(desk: ReservationDesk, buyers: int) -> list[object]:
    barrier = Barrier(buyers)

    def one(n: int) -> object:
        barrier.wait()
        return _outcome(lambda: reserve(desk, line(f"C{n}:1"), order=f"C{n}"))

    with ThreadPoolExecutor(max_workers=buyers) as pool:
        return list(pool.map(one, range(buyers)))


@pytest.fixture
def desk_with_lanes(db) -> Iterator[ReservationDesk]:
    with ReservationDesk(db, lanes=2) as d:
        yield d


def test_when_a_batch_written_ahead_is_lost_it_and_the_batch_decided_after_it_are_decided_again_on_locked_rows(
    db, desk_with_lanes, monkeypatch
):
    desk = desk_with_lanes
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL writes batches ahead (SQLite has one writer at a time)")
    builders.stocked(db, 100)
    reserve(desk, line("W:1"), order="W")  # the desk now remembers the position
    ahead = WritesAhead(monkeypatch, reserved_at_start=1, first_lands=False)

    outcomes = crowd_reserving_one_each(desk, 40)

    assert [o for o in outcomes if not isinstance(o, stock.ReservationOutcome) or o.replayed] == []
    assert ahead.writes >= 2 and ahead.locked_batches >= 2
    assert reserved(db) == 41
    assert stock.ledger_discrepancies(db) == []
    writes_before = ahead.writes
    reserve(desk, line("W:2"), order="W")  # what the locked rows showed is remembered: ahead again
    assert ahead.writes == writes_before + 1 and reserved(db) == 42


def test_a_batch_that_reached_the_row_before_the_batch_decided_just_before_it_is_written_again_once_that_lands(
    db, desk_with_lanes, monkeypatch
):
    """Two lanes are two connections: the second batch may reach the row first and find it without the first
    batch's units, so its compare-and-set changes nothing; once the first lands, it is written again."""
    desk = desk_with_lanes
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL writes batches ahead (SQLite has one writer at a time)")
    builders.stocked(db, 100)
    reserve(desk, line("W:1"), order="W")
    ahead = WritesAhead(monkeypatch, reserved_at_start=1, first_lands=True)

    outcomes = crowd_reserving_one_each(desk, 40)

    assert [o for o in outcomes if not isinstance(o, stock.ReservationOutcome) or o.replayed] == []
    assert ahead.locked_batches == 0  # every batch landed ahead; the second on its second try
    assert ahead.writes >= 3
    assert reserved(db) == 41
    assert stock.ledger_discrepancies(db) == []


def test_a_write_ahead_waits_for_the_write_before_it_in_the_desks_turn_and_then_lands(db):
    """The write before has taken its turn but not yet reached the row: the next one waits for it to end, so
    that its compare-and-set sees the units the first reserved, instead of failing for not seeing them."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL writes batches ahead (SQLite has one writer at a time)")
    builders.stocked(db, 100)
    remembered = stock_repo.RememberedPositions()

    def call(id_: str) -> stock.ReserveCall:
        return stock.ReserveCall(SYSTEM, [line(id_)], None, id_, None, NOW)

    stock.reserve_batch(db, [call("A:1")], remembered=remembered)
    first = stock.decide_on_remembered(db, [call("T:1")], remembered)
    second = stock.decide_on_remembered(db, [call("B:1")], remembered)  # on the counters `first` will leave
    assert first is not None and second is not None
    desk_key, landed = 4242, {}
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as before:
        take_turn, _ = stock_repo.Turn(desk_key, 5).statements()
        before.execute(*take_turn)
        writing = threading.Thread(
            target=lambda: landed.update(ok=stock.write_remembered(db, second, stock_repo.Turn(desk_key, 6)))
        )
        writing.start()
        writing.join(0.5)
        assert writing.is_alive(), "the second write did not wait for the first"
        for sql, params in first.write.statements:
            before.execute(sql, params)
        before.commit()
    writing.join(30)

    assert landed == {"ok": True}
    assert reserved(db) == 3
    assert stock.ledger_discrepancies(db) == []
