"""Bulk updates by key: however a batch is written (shared values together, the rest row by row), every row ends
with its own values, and a row the condition excludes is left alone."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import audit_log
from tests.conftest import NOW


def stored_rows(db, count: int) -> list[int]:
    with db.uow() as uow:
        ids = [
            uow.conn.execute(
                audit_log.insert().returning(audit_log.c.id),
                {"at": NOW, "actor": "intake", "action": "new", "entity": "order", "entity_id": str(n)},
            ).scalar_one()
            for n in range(count)
        ]
        uow.commit()
    return ids


def test_rows_sharing_values_and_rows_with_their_own_each_end_with_what_was_asked(db):
    ids = stored_rows(db, 180)
    shared = {"action": "approved", "details": None, "at": NOW + timedelta(hours=1)}  # a batch of clean approvals
    asked = {i: shared for i in ids[:120]}
    asked |= {i: {"action": f"held-{i}", "details": None, "at": NOW} for i in ids[120:150]}  # each its own
    asked |= {i: {"action": "held", "details": [{"rule": "blacklist", "id": i}], "at": NOW} for i in ids[150:]}
    with db.uow() as uow:
        bulk.update_by_key(uow.conn, audit_log, [{"id": i, **values} for i, values in asked.items()], key="id")
        uow.commit()
    with db.uow(write=False) as uow:
        stored = {r.id: r for r in uow.conn.execute(select(audit_log).where(audit_log.c.id.in_(ids)))}
    assert {i: {"action": r.action, "details": r.details, "at": r.at} for i, r in stored.items()} == asked
    assert {r.actor for r in stored.values()} == {"intake"}  # columns not asked for are untouched


def test_a_condition_leaves_the_rows_it_excludes_as_they_were(db):
    ids = stored_rows(db, 100)
    with db.uow() as uow:
        bulk.update_by_key(uow.conn, audit_log, [{"id": i, "action": "seen"} for i in ids[:60]], key="id")
        bulk.update_by_key(
            uow.conn, audit_log, [{"id": i, "action": "approved"} for i in ids], key="id", only_if="action = 'new'"
        )
        uow.commit()
    with db.uow(write=False) as uow:
        query = select(audit_log.c.id, audit_log.c.action).where(audit_log.c.id.in_(ids))
        actions = dict(uow.conn.execute(query).all())
    assert actions == {i: "seen" if n < 60 else "approved" for n, i in enumerate(ids)}
