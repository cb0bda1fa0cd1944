"""Group commit for reservations: many concurrent callers, one transaction per batch.

In a flash sale every buyer reserves the same SKU, so one transaction per request would queue them all on one
position lock and one commit each. The desk collects the requests waiting at a moment, reserves them together
in one unit of work (`stock.reserve_batch`: one lock, one write of each kind, one commit) and answers each
caller with its own outcome or refusal. A lone caller is served at once. A crowd shares commits: while one
batch commits the next one gathers, and once a batch is answered the desk gives the callers it just served a
moment (at most `gather_s`) to come back with their next request, so that a crowd of N callers keeps meeting in
batches of about N instead of alternating a full batch with a handful of early returners.

On PostgreSQL a batch is decided on the counters the desk remembers writing last and written with a
compare-and-set. With `lanes` (each a connection and a thread), the desk hands the write to a lane and, while
it travels to the database, gathers and decides the next batch on the counters the first will leave; each
write takes a turn (see stock_repo.Turn) so that its compare-and-set waits for the write before it. Python and
the database then work at the same time instead of taking turns, which is meant for a database with cores of
its own (not measured here); on a machine whose two cores they share, the lanes' thread switches cost more than
they save (measured), so there are none by default. Should a write not land, every batch decided after it
fails its compare-and-set too; the desk decides them again, in order, on locked rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from queue import Empty, SimpleQueue
from types import TracebackType

from presale_erp.adapters.db.stock_repo import RememberedPositions, Turn
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import DomainError
from presale_erp.services import stock
from presale_erp.services.stock import ReservationLine, ReservationOutcome, ReserveCall

# A crowd smaller than this stays in one batch: splitting it would cost each part a round trip and a commit
# for little overlap to gain.
_SPLIT_FROM = 32


class _Waiting:
    """A caller waiting for its answer: a thread blocked on a bare lock (a crowd of callers is woken once per
    batch, and a Future's condition variable costs several times more per wake-up than releasing a lock), or a
    coroutine awaiting an asyncio future on its event loop (see `ReservationDesk.reserve_async`)."""

    __slots__ = ("_answered", "_error", "_outcome", "call", "future", "loop")

    def __init__(
        self,
        call: ReserveCall,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.call = call
        self._outcome: ReservationOutcome | None = None
        self._error: BaseException | None = None
        self.loop = loop
        self.future: asyncio.Future[ReservationOutcome] | None = None
        self._answered: threading.Lock | None = None
        if loop is None:
            self._answered = threading.Lock()
            self._answered.acquire()
        else:
            self.future = loop.create_future()

    def settle(self, outcome: ReservationOutcome | None = None, error: BaseException | None = None) -> None:
        """Record the answer; the caller learns it when woken (`_wake`). Exactly once per caller."""
        self._outcome, self._error = outcome, error

    def release(self) -> None:
        """Unblock the thread waiting for the settled answer."""
        assert self._answered is not None
        self._answered.release()

    def wait(self) -> ReservationOutcome:
        assert self._answered is not None
        with self._answered:
            return self._result()

    def _result(self) -> ReservationOutcome:
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return self._outcome

    def resolve(self) -> None:
        """On the caller's event loop: hand the answer to the coroutine awaiting it (unless it gave up)."""
        assert self.future is not None
        if self.future.done():
            return
        if self._error is not None:
            self.future.set_exception(self._error)
        else:
            self.future.set_result(self._result())

    @property
    def answered(self) -> bool:
        return self._outcome is not None or self._error is not None


def _wake(answered: Sequence[_Waiting]) -> None:
    """Wake callers whose answers are settled: each blocked thread by its lock, and the coroutines of one event
    loop all in one callback (one wake-up of that loop's thread per batch, not one per caller)."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Waiting]] = {}
    for waiting in answered:
        if waiting.loop is None:
            waiting.release()
        else:
            by_loop.setdefault(waiting.loop, []).append(waiting)
    for loop, waitings in by_loop.items():
        with contextlib.suppress(RuntimeError):  # the loop was closed: nobody is left to tell
            loop.call_soon_threadsafe(_resolve_all, waitings)


def _resolve_all(waitings: list[_Waiting]) -> None:
    for waiting in waitings:
        with contextlib.suppress(asyncio.InvalidStateError):  # one caller's future must not keep the rest waiting
            waiting.resolve()


class _Flight:
    """A batch decided on remembered counters and handed to a lane. The lane answers its callers if the write
    lands; if not, the desk decides the batch again on locked rows."""

    __slots__ = ("_done", "after", "batch", "decided", "turn", "written")

    def __init__(
        self, batch: list[_Waiting], decided: stock.RememberedBatch, turn: Turn, after: _Flight | None
    ) -> None:
        self.batch = batch
        self.decided = decided
        self.turn = turn
        self.after = after  # the flight decided just before, on whose counters this one builds
        self.written: bool | None = None  # None while in flight
        self._done = threading.Lock()
        self._done.acquire()

    def land(self, written: bool) -> None:
        try:
            if written:
                _answer(self.batch, self.decided.results)
        finally:  # the desk waits for this, whatever happens
            self.written = written
            self._done.release()

    def wait(self) -> bool:
        with self._done:
            return bool(self.written)


class _Lane:
    """A connection and a thread of its own that write decided batches, one at a time, and tell the desk (through
    its queue, like a new request) when one has landed."""

    def __init__(self, db: Database, desk_queue: SimpleQueue, name: str) -> None:
        self._db = db.committer()
        self._desk_queue = desk_queue
        self._flights: SimpleQueue[_Flight | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def send(self, flight: _Flight) -> None:
        self._flights.put(flight)

    def close(self) -> None:
        self._flights.put(None)
        self._thread.join()
        self._db.dispose()

    def _write(self, flight: _Flight) -> bool:
        try:
            return stock.write_remembered(self._db, flight.decided, flight.turn)
        except Exception:  # decided again on locked rows, which report whatever persists to its callers
            return False

    def _run(self) -> None:
        while (flight := self._flights.get()) is not None:
            written = self._write(flight)
            if not written and flight.after is not None and flight.after.wait():
                # Sent on another connection, the flight before may have reached the rows after this one, which
                # then found them as they were before it: nothing was written, so write again now it has landed.
                written = self._write(flight)
            flight.after = None
            flight.land(written)
            self._desk_queue.put(flight)


class ReservationDesk:
    """`desk.reserve(...)` behaves as `stock.reserve(db, ...)`, but shares its transaction with whoever else
    is reserving at that moment. Use one desk per process (it owns one committer thread); close it when done."""

    def __init__(
        self, db: Database, *, max_batch: int = 512, max_lines: int = 5000, gather_s: float = 0.003, lanes: int = 0
    ) -> None:
        self._db = db.committer()
        self._remembered = RememberedPositions()  # what this committer last wrote: see stock.reserve_batch
        self._max_batch = max_batch
        self._gather_s = gather_s
        # Bounds the ids and keys one batch sends in a single IN list (SQLite allows 32,766 parameters).
        self._max_lines = max_lines
        self._queue: SimpleQueue[_Waiting | _Flight | None] = SimpleQueue()
        # Deciding ahead on remembered counters is PostgreSQL's (see stock.decide_on_remembered).
        postgresql = db.engine.dialect.name == "postgresql"
        self._lanes = [_Lane(db, self._queue, f"reservation-lane-{n}") for n in range(lanes if postgresql else 0)]
        self._flying: deque[_Flight] = deque()  # in the order sent, which is the order they commit in
        self._sent = 0
        self._key = secrets.randbits(31)  # numbers this desk's writes apart from other processes' (see Turn)
        self._expected = 0  # callers answered by the last batch to land: how many to gather before the next
        self._closed = False
        self._closing = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="reservation-desk", daemon=True)
        self._thread.start()

    def reserve(
        self,
        actor: Actor,
        lines: Sequence[ReservationLine],
        *,
        shop: str | None,
        order_ref: str | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> ReservationOutcome:
        """Lock stock for every line or for none; same rules, result and errors as `stock.reserve`."""
        return self._hand_in(ReserveCall(actor, list(lines), shop, order_ref, expires_at, now)).wait()

    async def reserve_async(
        self,
        actor: Actor,
        lines: Sequence[ReservationLine],
        *,
        shop: str | None,
        order_ref: str | None,
        expires_at: datetime | None,
        now: datetime,
    ) -> ReservationOutcome:
        """`reserve` for a coroutine: it waits on its event loop, holding no thread. A crowd of requests arriving
        through one loop (an async API worker) is answered with one wake-up of that loop per batch."""
        call = ReserveCall(actor, list(lines), shop, order_ref, expires_at, now)
        waiting = self._hand_in(call, asyncio.get_running_loop())
        assert waiting.future is not None
        return await waiting.future

    def _hand_in(self, call: ReserveCall, loop: asyncio.AbstractEventLoop | None = None) -> _Waiting:
        """Queue a request for the next batch; a malformed one is refused at once, without waiting for a batch.
        `loop`: the event loop of a coroutine waiting for the answer (None: a thread waits)."""
        call.check()
        waiting = _Waiting(call, loop)
        with self._closing:
            if self._closed:
                raise RuntimeError("The reservation desk is closed.")
            self._queue.put(waiting)
        return waiting

    def close(self) -> None:
        """Serve every request already queued, then stop the committer thread."""
        with self._closing:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()
        for lane in self._lanes:
            lane.close()
        self._db.dispose()

    def __enter__(self) -> ReservationDesk:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _run(self) -> None:
        backlog: deque[_Waiting] = deque()
        open_ = True
        try:
            while open_ or backlog or self._flying:
                if not backlog or not self._lane_free():  # nothing to send, or nothing to send it on
                    open_ = self._take(self._queue.get(), backlog) and open_
                open_ = self._take_waiting(backlog, expected=self._expected if open_ else 0) and open_
                if backlog and self._lane_free():
                    self._settle(self._next_batch(backlog, self._share(len(backlog))))
        finally:
            self._fail_leftovers(backlog)

    def _take(self, item: _Waiting | _Flight | None, backlog: deque[_Waiting]) -> bool:
        """A request joins the backlog; a landed flight is accounted for. False for the close marker."""
        if item is None:
            return False
        if isinstance(item, _Flight):
            self._landed()
        else:
            backlog.append(item)
        return True

    def _take_waiting(self, backlog: deque[_Waiting], *, expected: int) -> bool:
        """Add what is queued, waiting up to `gather_s` while fewer than `expected` (the size of the batch just
        answered) are in hand. False once the close marker is reached."""
        give_up_at = time.monotonic() + self._gather_s
        while len(backlog) < self._max_batch:
            wait = give_up_at - time.monotonic() if len(backlog) < expected else 0.0
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except Empty:
                return True
            if not self._take(item, backlog):
                return False
        return True

    def _share(self, waiting: int) -> int:
        """How many callers the next batch may take: with lanes, the crowd (waiting and in flight) split between
        them, so that one part is decided and answered while another is written. Without the split a crowd would
        stay in one batch, and Python and the database would take turns."""
        crowd = waiting + sum(len(flight.batch) for flight in self._flying)
        if not self._lanes or crowd < _SPLIT_FROM:
            return self._max_batch
        return min(self._max_batch, -(-crowd // len(self._lanes)))

    def _lane_free(self) -> bool:
        return not self._lanes or len(self._flying) < len(self._lanes)

    def _landed(self) -> None:
        """Retire the flights that have landed, oldest first; one that did not land is decided again."""
        while self._flying and self._flying[0].written is not None:
            flight = self._flying.popleft()
            self._expected = len(flight.batch)
            if not flight.written:
                self._recover(flight)

    def _land_all(self) -> None:
        """Wait for every flight: what comes next is decided on rows as committed."""
        while self._flying:
            flight = self._flying.popleft()
            if not flight.wait():
                self._recover(flight)

    def _recover(self, failed: _Flight) -> None:
        """A flight did not land, so the flights after it (decided on the counters it would have left) fail their
        compare-and-set too, or land if the failed one's commit did land after all. Each one that did not land is
        decided again, in order, on locked rows, where a commit that landed unannounced shows as a replay."""
        retry = [failed]
        while self._flying:
            flight = self._flying.popleft()
            if not flight.wait():
                retry.append(flight)
        for flight in retry:
            self._remembered.forget(flight.decided.stock)
        for flight in retry:
            self._settle_locked(flight.batch)

    def _settle(self, batch: list[_Waiting]) -> None:
        if self._lanes:
            try:
                decided = stock.decide_on_remembered(self._db, [w.call for w in batch], self._remembered)
            except Exception:  # a lookup failed: the locked path reports what persists
                decided = None
            if decided is not None:
                turn = Turn(self._key, self._sent)
                flight = _Flight(batch, decided, turn, self._flying[-1] if self._flying else None)
                self._flying.append(flight)
                self._lanes[self._sent % len(self._lanes)].send(flight)
                self._sent += 1
                return
            self._land_all()
        self._settle_locked(batch)

    def _next_batch(self, backlog: deque[_Waiting], limit: int) -> list[_Waiting]:
        """Take from the front of the backlog what fits one batch. A request reusing an id an earlier one in the
        batch creates waits for the next batch, where it sees that reservation committed (a replay or a
        conflict, as with stock.reserve). The first request always fits, so the backlog always shrinks."""
        batch: list[_Waiting] = []
        later: list[_Waiting] = []
        ids: set[str] = set()
        lines = 0
        while backlog:
            waiting = backlog.popleft()
            call_ids = waiting.call.ids
            fits = len(batch) < limit and lines + len(call_ids) <= self._max_lines
            if batch and (not fits or not ids.isdisjoint(call_ids)):
                later.append(waiting)
                continue
            batch.append(waiting)
            ids.update(call_ids)
            lines += len(call_ids)
        backlog.extend(later)
        return batch

    def _settle_locked(self, batch: list[_Waiting]) -> None:
        try:
            results = stock.reserve_batch(self._db, [w.call for w in batch], remembered=self._remembered)
        except Exception as failed:  # the shared transaction failed: see _one_by_one
            results = self._one_by_one(batch, failed)
        _answer(batch, results)
        self._expected = len(batch)

    def _one_by_one(self, batch: list[_Waiting], failed: Exception) -> list[ReservationOutcome | Exception]:
        """The shared transaction failed as a whole (a database error, a unique key taken by another process):
        nothing of it was saved. Retry each request in its own transaction, so one bad request, or a passing
        fault, fails only the callers it concerns. Safe even if the failed commit did land: the ids are then
        found and the retry is a replay."""
        if len(batch) == 1:
            return [failed]
        results: list[ReservationOutcome | Exception] = []
        for waiting in batch:
            try:
                results.append(_only(stock.reserve_batch(self._db, [waiting.call])))
            except Exception as error:  # reported to this caller alone
                results.append(error)
        return results

    def _fail_leftovers(self, backlog: deque[_Waiting]) -> None:
        """If the committer stops for any reason, no caller may wait forever."""
        with self._closing:
            self._closed = True
        stopped = RuntimeError("The reservation desk stopped before serving this request.")
        leftovers = list(backlog)
        for flight in self._flying:
            flight.wait()
            leftovers += flight.batch
        while True:
            try:
                waiting = self._queue.get_nowait()
            except Empty:
                break
            if isinstance(waiting, _Waiting):
                leftovers.append(waiting)
        unanswered = [waiting for waiting in leftovers if not waiting.answered]
        for waiting in unanswered:
            waiting.settle(error=stopped)
        _wake(unanswered)


def _answer(batch: list[_Waiting], results: Sequence[ReservationOutcome | Exception]) -> None:
    for waiting, result in zip(batch, results, strict=True):
        if isinstance(result, Exception):
            waiting.settle(error=result)
        else:
            waiting.settle(result)
    _wake(batch)


def _only(results: list[ReservationOutcome | DomainError]) -> ReservationOutcome | DomainError:
    (result,) = results
    return result
