"""Engines for SQLite (embedded default) and PostgreSQL (production), set up so the same code runs on both."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.sqlite_writers import QueuedWriterConnection, queue_file

WRITE_OPTION = "presale_write"


def make_engine(url: str, *, pool_size: int = 10, pre_ping: bool = True) -> Engine:
    """`pre_ping` tests each connection as it leaves the pool (a round trip). A single busy committer may skip
    it: a connection found dead fails that one transaction, the pool drops it and the next gets a fresh one."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=pre_ping)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": 60, "check_same_thread": False, "factory": QueuedWriterConnection}
    )
    writers = queue_file(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (so we can BEGIN IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()
        if writers:
            dbapi_connection.open_queue(writers)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes SQLite's single write lock up front, so two writers queue instead of both reading
        # a balance and one failing (or worse) when it upgrades to write.
        if conn.get_execution_options().get(WRITE_OPTION):
            dbapi = conn.connection.driver_connection
            dbapi.join()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi.leave()
                raise
        else:
            conn.exec_driver_sql("BEGIN")

    return engine
