"""SQLite's writers, queued on a lock file.

SQLite has one write lock. A writer that finds it taken is left to SQLite's busy handler, which sleeps and retries
on a widening schedule (1, 2, 5 ... up to 100 ms a try): with several worker processes writing at once (intake,
review and allocation on a peak night) the lock often sits free while every writer waiting for it sleeps. So a
writer first takes an advisory lock on `<database>.writers`, retrying every 0.1 to 1 ms, and releases it when its
transaction ends. It is not a fair queue (a writer retrying at the right moment goes first, as with SQLite's
own retries), only a prompt one. The queue only orders writers; SQLite's own lock still guards the data, so
should the queue be held for longer than `QUEUE_TIMEOUT_S`, the writer goes ahead and waits on SQLite's lock as
it would without the queue (up to its busy timeout more). A database whose folder we may not write the lock
file in, and a platform without advisory file locks (Windows), get no queue.

The lock belongs to the connection's open file: connections must not be carried across a fork (as SQLAlchemy
requires in any case: a forked worker makes its own engine)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import weakref

from sqlalchemy import make_url

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

QUEUE_TIMEOUT_S = 60.0
_FIRST_PAUSE_S, _LAST_PAUSE_S = 0.0001, 0.001


def queue_file(url: str) -> str | None:
    """`<database>.writers` beside a database file; None for an in-memory database or without file locks."""
    parsed = make_url(url)
    if fcntl is None or not parsed.database or parsed.database == ":memory:" or "uri" in parsed.query:
        return None
    return f"{parsed.database}.writers"


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection that joins the writers' queue before its BEGIN IMMEDIATE (see `join`) and leaves it
    as its transaction ends, however it ends: commit, rollback or close."""

    queue: int | None = None  # the lock file's descriptor, one per connection (flock locks are per open file)
    joined = False

    def open_queue(self, path: str) -> None:
        try:
            self.queue = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:  # a read-only folder, another user's file: SQLite's busy handler alone orders writers
            return
        # a connection dropped unclosed leaks no descriptor either
        self._close_queue = weakref.finalize(self, _close_quietly, self.queue)

    def join(self) -> None:
        if self.queue is None or self.joined:
            return
        give_up_at = time.monotonic() + QUEUE_TIMEOUT_S
        pause = _FIRST_PAUSE_S
        while True:
            self.joined = True  # before the lock, not after: an interrupt in between cannot leave it held unknown
            try:
                fcntl.flock(self.queue, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                self.joined = False
            if time.monotonic() > give_up_at:
                return
            time.sleep(pause)
            pause = min(pause * 2, _LAST_PAUSE_S)

    def leave(self) -> None:
        if self.joined:
            self.joined = False
            fcntl.flock(self.queue, fcntl.LOCK_UN)  # unlocking a lock not held is harmless

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.leave()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.leave()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.leave()
            if self.queue is not None:
                self._close_queue()
                self.queue = None


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
