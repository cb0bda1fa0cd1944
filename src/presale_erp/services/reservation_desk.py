"""Group commit for reservations: many concurrent callers, one transaction per batch.

In a flash sale every buyer reserves the same SKU, so one transaction per request would queue them all on one
position lock and one commit each. The desk collects the requests waiting at a moment, reserves them together
in one unit of work (`stock.reserve_batch`: one lock, one write of each kind, one commit) and answers each
caller with its own outcome or refusal. A lone caller is served at once. A crowd shares commits: while one
batch commits the next one gathers, and once a batch is answered the desk gives the callers it just served a
moment (at most `gather_s`) to come back with their next request, so that a crowd of N callers keeps meeting in
batches of about N instead of alternating a full batch with a handful of early returners.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime
from queue import Empty, SimpleQueue
from types import TracebackType

from presale_erp.adapters.db.stock_repo import RememberedPositions
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import DomainError
from presale_erp.services import stock
from presale_erp.services.stock import ReservationLine, ReservationOutcome, ReserveCall


class _Waiting:
    """A caller waiting for its answer. A bare lock as the latch: a crowd of callers is woken once per batch, and
    a Future's condition variable costs several times more per wake-up than releasing a lock."""

    __slots__ = ("_answered", "_error", "_outcome", "call")

    def __init__(self, call: ReserveCall) -> None:
        self.call = call
        self._outcome: ReservationOutcome | None = None
        self._error: BaseException | None = None
        self._answered = threading.Lock()
        self._answered.acquire()

    def answer(self, outcome: ReservationOutcome | None = None, error: BaseException | None = None) -> None:
        """Exactly once per caller."""
        self._outcome, self._error = outcome, error
        self._answered.release()

    def wait(self) -> ReservationOutcome:
        with self._answered:
            if self._error is not None:
                raise self._error
            assert self._outcome is not None
            return self._outcome

    @property
    def answered(self) -> bool:
        return self._outcome is not None or self._error is not None


class ReservationDesk:
    """`desk.reserve(...)` behaves as `stock.reserve(db, ...)`, but shares its transaction with whoever else
    is reserving at that moment. Use one desk per process (it owns one committer thread); close it when done."""

    def __init__(self, db: Database, *, max_batch: int = 512, max_lines: int = 5000, gather_s: float = 0.003) -> None:
        self._db = db.committer()
        self._remembered = RememberedPositions()  # what this committer last wrote: see stock.reserve_batch
        self._max_batch = max_batch
        self._gather_s = gather_s
        # Bounds the ids and keys one batch sends in a single IN list (SQLite allows 32,766 parameters).
        self._max_lines = max_lines
        self._queue: SimpleQueue[_Waiting | None] = SimpleQueue()
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
        call = ReserveCall(actor, list(lines), shop, order_ref, expires_at, now)
        call.check()  # a malformed request is refused at once, without waiting for a batch
        waiting = _Waiting(call)
        with self._closing:
            if self._closed:
                raise RuntimeError("The reservation desk is closed.")
            self._queue.put(waiting)
        return waiting.wait()

    def close(self) -> None:
        """Serve every request already queued, then stop the committer thread."""
        with self._closing:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()
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
        served = 0
        try:
            while open_ or backlog:
                if not backlog:
                    first = self._queue.get()
                    if first is None:
                        break
                    backlog.append(first)
                open_ = self._take_waiting(backlog, expected=served if open_ else 0) and open_
                batch = self._next_batch(backlog)
                self._settle(batch)
                served = len(batch)
        finally:
            self._fail_leftovers(backlog)

    def _take_waiting(self, backlog: deque[_Waiting], *, expected: int) -> bool:
        """Add what is queued, waiting up to `gather_s` while fewer than `expected` (the size of the batch just
        answered) are in hand. False once the close marker is reached."""
        give_up_at = time.monotonic() + self._gather_s
        while len(backlog) < self._max_batch:
            wait = give_up_at - time.monotonic() if len(backlog) < expected else 0.0
            try:
                waiting = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except Empty:
                return True
            if waiting is None:
                return False
            backlog.append(waiting)
        return True

    def _next_batch(self, backlog: deque[_Waiting]) -> list[_Waiting]:
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
            fits = len(batch) < self._max_batch and lines + len(call_ids) <= self._max_lines
            if batch and (not fits or not ids.isdisjoint(call_ids)):
                later.append(waiting)
                continue
            batch.append(waiting)
            ids.update(call_ids)
            lines += len(call_ids)
        backlog.extend(later)
        return batch

    def _settle(self, batch: list[_Waiting]) -> None:
        try:
            results = stock.reserve_batch(self._db, [w.call for w in batch], remembered=self._remembered)
        except Exception as failed:  # the shared transaction failed: see _one_by_one
            results = self._one_by_one(batch, failed)
        for waiting, result in zip(batch, results, strict=True):
            if isinstance(result, Exception):
                waiting.answer(error=result)
            else:
                waiting.answer(result)

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
        while True:
            try:
                waiting = self._queue.get_nowait()
            except Empty:
                break
            if waiting is not None:
                leftovers.append(waiting)
        for waiting in leftovers:
            if not waiting.answered:
                waiting.answer(error=stopped)


def _only(results: list[ReservationOutcome | DomainError]) -> ReservationOutcome | DomainError:
    (result,) = results
    return result
