"""SQLite's writers queue on `<database>.writers` for the length of their transactions (see sqlite_writers)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from sqlalchemy import text

from presale_erp.adapters.db import sqlite_writers
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.sqlite_writers import queue_file
from presale_erp.adapters.db.unit_of_work import Database

fcntl = pytest.importorskip("fcntl", reason="advisory file locks are POSIX's; on Windows there is no writers' queue")


@pytest.fixture
def database(tmp_path: Path) -> Iterator[tuple[Database, Path]]:
    path = tmp_path / "shop.db"
    db = Database(make_engine(f"sqlite:///{path}"))
    with db.uow() as uow:
        uow.conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        uow.commit()
    yield db, Path(f"{path}.writers")
    db.dispose()


def queue_is_held(queue: Path) -> bool:
    """Whether some writer is in the queue (tried from a descriptor of our own, as another process would)."""
    fd = os.open(queue, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing releases a lock we took
    return False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:////var/data/presale_erp.db", "/var/data/presale_erp.db.writers"),
        ("sqlite://", None),
        ("sqlite:///:memory:", None),
    ],
    ids=["a database file", "in memory", "in memory, named"],
)
def test_a_database_file_has_a_writers_queue_beside_it_and_an_in_memory_one_none(url, expected):
    assert queue_file(url) == expected


@pytest.mark.parametrize("ending", ["commit", "rollback", "error"])
def test_a_writer_is_in_the_queue_for_exactly_the_length_of_its_transaction(database, ending):
    db, queue = database
    with pytest.raises(ZeroDivisionError) if ending == "error" else nullcontext(), db.uow() as uow:
        uow.conn.execute(text("INSERT INTO notes (body) VALUES ('packed')"))
        assert queue_is_held(queue)
        if ending == "commit":
            uow.commit()
            assert not queue_is_held(queue), "left at COMMIT, not only as the connection goes back to the pool"
        elif ending == "error":
            raise ZeroDivisionError
    assert not queue_is_held(queue)


def test_a_reader_does_not_queue_behind_writers(database):
    db, queue = database
    with db.uow() as writer:
        writer.conn.execute(text("INSERT INTO notes (body) VALUES ('packed')"))
        with db.uow(write=False) as reader:
            assert reader.conn.execute(text("SELECT count(*) FROM notes")).scalar() == 0
            assert not reader.conn.connection.driver_connection.joined
        assert queue_is_held(queue)
        writer.commit()


def test_a_second_writer_waits_in_the_queue_and_writes_once_the_first_commits(database):
    db, queue = database
    second_began = threading.Event()

    def second_writer() -> None:
        with db.uow() as uow:
            second_began.set()
            uow.conn.execute(text("INSERT INTO notes (body) VALUES ('second')"))
            uow.commit()

    with db.uow() as first:
        first.conn.execute(text("INSERT INTO notes (body) VALUES ('first')"))
        waiting = threading.Thread(target=second_writer)
        waiting.start()
        assert not second_began.wait(0.2), "the second writer began while the first held the write lock"
        first.commit()
    waiting.join(timeout=30)
    assert second_began.is_set() and not queue_is_held(queue)
    with db.uow(write=False) as uow:
        assert uow.conn.execute(text("SELECT body FROM notes ORDER BY id")).scalars().all() == ["first", "second"]


def test_a_queue_held_past_the_timeout_by_someone_who_is_not_writing_does_not_stop_writes(database, monkeypatch):
    db, queue = database
    monkeypatch.setattr(sqlite_writers, "QUEUE_TIMEOUT_S", 0.05)
    stranger = os.open(queue, os.O_RDWR)
    fcntl.flock(stranger, fcntl.LOCK_EX)
    try:
        with db.uow() as uow:
            uow.conn.execute(text("INSERT INTO notes (body) VALUES ('still written')"))
            uow.commit()
    finally:
        os.close(stranger)
    with db.uow(write=False) as uow:
        assert uow.conn.execute(text("SELECT count(*) FROM notes")).scalar() == 1


def test_a_database_whose_writers_queue_cannot_be_opened_is_written_without_one(tmp_path):
    path = tmp_path / "shop.db"
    Path(f"{path}.writers").mkdir()  # something that is not a lock file stands where it would go
    db = Database(make_engine(f"sqlite:///{path}"))
    try:
        with db.uow() as uow:
            uow.conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
            uow.conn.execute(text("INSERT INTO notes (body) VALUES ('written')"))
            assert uow.conn.connection.driver_connection.queue is None
            uow.commit()
        with db.uow(write=False) as uow:
            assert uow.conn.execute(text("SELECT count(*) FROM notes")).scalar() == 1
    finally:
        db.dispose()
