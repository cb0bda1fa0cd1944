"""Reads recorded as they run and run again raw tell whether what they read has changed (SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select

from presale_erp.adapters.db import read_replay
from presale_erp.adapters.db.tables import skus
from tests import builders


def test_recorded_reads_run_again_return_the_same_rows_until_something_they_read_changes(db):
    builders.sku(db, "MUG-1")
    with db.uow(write=False) as uow, read_replay.recording(uow.conn) as reads:
        uow.conn.execute(select(skus.c.code, skus.c.name).where(skus.c.code.in_(["MUG-1", "MUG-2"])))
        as_read = read_replay.rows_now(uow.conn, reads)

    builders.sku(db, "CUP-1")  # nothing the read named
    with db.uow(write=False) as uow:
        unchanged = read_replay.rows_now(uow.conn, reads)
    builders.sku(db, "MUG-2")
    with db.uow(write=False) as uow:
        changed = read_replay.rows_now(uow.conn, reads)

    assert len(reads) == 1 and len(as_read[0]) == 1
    assert unchanged == as_read != changed


def test_only_reads_are_recorded(db):
    with db.uow() as uow, read_replay.recording(uow.conn) as reads:
        uow.conn.exec_driver_sql("UPDATE skus SET name = name WHERE code = 'none'")
        uow.conn.execute(select(skus.c.code))

    assert [statement.split()[0] for statement, _ in reads] == ["SELECT"]
