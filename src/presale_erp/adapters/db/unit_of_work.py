"""One unit of work per use case: everything it writes commits together or not at all."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from types import TracebackType
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from presale_erp.adapters.db.engine import WRITE_OPTION, make_engine
from presale_erp.adapters.db.lookups import KnownCodes
from presale_erp.domain.errors import Conflict, InvalidRequest

T = TypeVar("T")


class UnitOfWork:
    """`with db.uow() as uow: ...; uow.commit()`; leaving without commit rolls back."""

    def __init__(self, engine: Engine, *, write: bool) -> None:
        self._engine = engine
        self._write = write
        self.conn: Connection

    def __enter__(self) -> UnitOfWork:
        conn = self._engine.connect()
        if self._write:
            conn = conn.execution_options(**{WRITE_OPTION: True})
        self.conn = conn
        self._tx = conn.begin()
        return self

    def commit(self) -> None:
        try:
            self._tx.commit()
        except IntegrityError as error:
            if _duplicate(error):
                raise _conflict(error) from error
            raise

    def start_writing(self) -> bool:
        """SQLite: make a unit of work opened to read (`write=False`) a writer that keeps what it has read: join the
        writers' queue and take the write lock now. False if another connection has committed since this one
        began reading: SQLite then refuses the lock (what was read may be out of date); the unit of work still
        reads the snapshot it began with, and can only be left (it rolls back)."""
        driver = self.conn.connection.driver_connection
        driver.join()
        try:
            self.conn.exec_driver_sql(_TAKE_WRITE_LOCK)
        except OperationalError as error:
            # SQLITE_BUSY_SNAPSHOT, or plain SQLITE_BUSY (a writer outside the queue): SQLite does not wait
            # for a lock a reading transaction asks for, as waiting could not make what it read current. The
            # transaction goes on reading its snapshot (a caller may compare it with what is there now), and
            # other writers need not wait for it meanwhile.
            if getattr(error.orig, "sqlite_errorcode", 0) & 0xFF == _SQLITE_BUSY and driver.in_transaction:
                driver.leave()
                return False
            raise
        return True

    def commit_with(self, statements: Sequence[tuple[str, tuple[Any, ...]]], *, prepare: bool = False) -> None:
        """PostgreSQL: run the unit of work's last statements and COMMIT in one round trip (a pipeline). For a
        group-commit desk holding a hot row, a round trip saved is a batch sooner.
        If a statement fails, nothing is committed and the error is raised as `commit` would raise it.
        `prepare`: keep the statements prepared on this connection (planning costs as much as running, for
        statements whose plans never depend on their parameters)."""
        raw = self.conn.connection.driver_connection
        cursor = raw.cursor()
        failed: list[psycopg.Error] = []
        try:
            with raw.pipeline():
                try:
                    for sql, params in statements:
                        cursor.execute(sql, params, prepare=prepare)
                    raw.commit()
                except psycopg.Error as error:  # caught inside, so that the pipeline ends cleanly
                    failed.append(error)
        except psycopg.Error as error:  # raised as the pipeline ends: its first error, or only "aborted"
            failed.append(error)
        finally:
            cursor.close()
        if failed:
            first = failed[0]
            if any(isinstance(error, psycopg.errors.UniqueViolation) for error in failed):
                raise _conflict(first) from first
            if isinstance(first, psycopg.DataError):
                raise _unstorable() from first
            raise first
        self._tx.commit()  # the server has committed: this only closes SQLAlchemy's transaction

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()
        # Checks before writing give the precise message; these catch what slips between two requests
        # racing for the same id or code (PostgreSQL reports it at the INSERT, SQLite at the commit).
        if isinstance(exc, IntegrityError) and _duplicate(exc):
            raise _conflict(exc) from exc
        if isinstance(exc, DataError):
            raise _unstorable() from exc

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name


# Any write statement takes SQLite's write lock as it starts, whether or not it then changes a row.
_TAKE_WRITE_LOCK = "UPDATE audit_log SET id = id WHERE 0"
_SQLITE_BUSY = 5


def _duplicate(error: IntegrityError) -> bool:
    """A unique key taken by someone else is a conflict; any other broken constraint is a bug, not the user's."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate == "23505" or "UNIQUE constraint failed" in str(error.orig)


def _unstorable() -> InvalidRequest:
    return InvalidRequest(
        "A value in the request cannot be stored (for example a NUL character or a number out of range)."
    )


def _conflict(error: Exception) -> Conflict:
    return Conflict(
        "Another request created or changed the same record at the same moment; nothing was saved. "
        "Check the record and try again, or use a new id."
    )


class Database:
    """The engine(s) a process uses; reads may go to a replica later (DATABASE_READ_URL)."""

    def __init__(self, engine: Engine, *, known_codes: KnownCodes | None = None, owns_engine: bool = True) -> None:
        self.engine = engine
        self.known_codes = known_codes or KnownCodes()
        self._owns_engine = owns_engine

    def uow(self, *, write: bool = True) -> UnitOfWork:
        return UnitOfWork(self.engine, write=write)

    def committer(self) -> Database:
        """A Database of its own for one thread that commits one transaction after another (a group-commit
        desk): one connection kept open, not tested on every checkout. SQLite's engine is shared as it is
        (one writer at a time in any case)."""
        if self.engine.dialect.name == "sqlite":
            return Database(self.engine, known_codes=self.known_codes, owns_engine=False)
        url = self.engine.url.render_as_string(hide_password=False)
        return Database(make_engine(url, pool_size=1, pre_ping=False), known_codes=self.known_codes)

    def batch_writer(self, name: str) -> BatchWriter:
        """Where a batch run writes one batch while it prepares the next (see `side_thread`)."""
        return BatchWriter(self.side_thread(name))

    def side_thread(self, name: str) -> Executor:
        """Where a batch run sends work that mostly waits for the database (one batch's write, the next batch's
        reads) while it works on the batch in hand. On a database server, a thread of its own, which the server's
        waits leave the caller's time to. On SQLite, inline, in the caller's thread: SQLite works in this
        process, and a second thread measured a little slower, not faster."""
        if self.engine.dialect.name == "sqlite":
            return InlineExecutor()
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def dispose(self) -> None:
        if self._owns_engine:
            self.engine.dispose()


class BatchWriter:
    """At most one batch's write in flight, behind the caller preparing the next. Each write first waits for
    the one before it, so a failed write stops the caller with its error, a batch later at most."""

    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self._in_flight: Future[Any] | None = None

    def __enter__(self) -> BatchWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._executor.shutdown(wait=True)  # a write in flight ends (commits or not) before the caller goes on

    def write(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Start writing with fn(*args, **kwargs); returns what the write before it returned (None if none)."""
        before = self.wait()
        self._in_flight = self._executor.submit(fn, *args, **kwargs)
        return before

    def wait(self) -> Any:
        """What the write in flight returned, once it has ended (None if there is none); its error if it failed."""
        in_flight, self._in_flight = self._in_flight, None
        return None if in_flight is None else in_flight.result()


class InlineExecutor(Executor):
    """Runs each task at once, in the caller's thread, its outcome kept in a Future as a thread's would be."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as error:  # raised to the caller by result(), as from a thread
            future.set_exception(error)
        return future
