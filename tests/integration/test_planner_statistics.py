"""A peak night outgrows the planner's numbers: batch runs analyze what grew, and plan reads for their values."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from presale_erp.adapters.db import statistics

AUDIT_LOG = {"audit_log": ("at",)}


def postgresql_only(db) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip("planner statistics and plan caching are PostgreSQL's; SQLite plans without them")


def grow_audit_log(db, rows: int) -> None:
    with db.uow() as uow:
        uow.conn.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, details)"
                " SELECT now(), 'test', 'grow', 'x', g::text, NULL FROM generate_series(1, :rows) g"
            ),
            {"rows": rows},
        )
        uow.conn.execute(text("SELECT pg_stat_force_next_flush()"))  # the counters reach the server now
        uow.commit()


def refresh(db) -> list[str]:
    return statistics.refresh_if_grown(db, AUDIT_LOG)


def known_rows(db) -> float:
    with db.uow(write=False) as uow:
        return uow.conn.execute(text("SELECT reltuples FROM pg_class WHERE relname = 'audit_log'")).scalar_one()


def test_a_table_grown_by_half_since_its_last_analyze_is_analyzed(db):
    postgresql_only(db)
    grow_audit_log(db, 2 * statistics.GROWN_ROWS)

    assert refresh(db) == ["audit_log"] and known_rows(db) >= 2 * statistics.GROWN_ROWS


def test_a_table_analyzed_since_it_last_grew_is_left_alone(db):
    postgresql_only(db)
    grow_audit_log(db, 2 * statistics.GROWN_ROWS)
    refresh(db)
    grow_audit_log(db, statistics.GROWN_ROWS // 10)

    assert refresh(db) == []


def test_sqlite_needs_no_statistics(db):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's case")
    assert statistics.refresh_if_grown(db, AUDIT_LOG) == []


def test_a_batch_plans_its_reads_for_their_values_and_its_writes_as_usual(db):
    postgresql_only(db)
    with db.uow() as uow:
        with statistics.planned_for_values(uow.conn):
            during = uow.conn.execute(text("SHOW plan_cache_mode")).scalar_one()
        after = uow.conn.execute(text("SHOW plan_cache_mode")).scalar_one()

    assert (during, after) == ("force_custom_plan", "auto")
