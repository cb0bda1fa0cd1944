"""Planner statistics kept up with a peak night.

On balance-payment night the order tables grow from thousands of rows to hundreds of thousands within an hour,
faster than autovacuum's analyze looks (it waits for 10% growth and naps a minute between rounds). With the old
numbers PostgreSQL believes a table is tiny and scans it whole, and sorts it, for every batch's lookups: 90 ms
instead of 3 ms for the review queue's next 2,000 orders at 60,000 orders. A batch run therefore asks, before
each batch, whether a table it reads has grown by more than half since it was last analyzed, and analyzes the
columns it filters on if so: a few times per run (the table grows by half between two), not every batch.
Growth, not changes: an ANALYZE of some columns leaves PostgreSQL's count of changed rows as it was."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from sqlalchemy.engine import Connection

from presale_erp.adapters.db.unit_of_work import Database

GROWN_SHARE = 0.5  # rows added since the last analyze, as a share of the rows the planner knows of
GROWN_ROWS = 5000  # below this a stale estimate costs little
ANALYZING = 0x70E5A1E  # advisory lock: one worker analyzes, the others go on with the numbers there are


def refresh_if_grown(db: Database, tables: Mapping[str, Sequence[str]]) -> list[str]:
    """PostgreSQL: ANALYZE those of `tables` (name -> the columns the caller filters on) that have grown by
    more than GROWN_SHARE since their last analyze; returns their names. In a short transaction of its own:
    ANALYZE holds a lock that a second ANALYZE of the same table waits for. SQLite plans without them."""
    if db.engine.dialect.name != "postgresql" or not tables:
        return []
    with db.uow() as uow:
        analyzed = _analyze_grown(uow.conn, tables)
        uow.commit()
    return analyzed


def _analyze_grown(conn: Connection, tables: Mapping[str, Sequence[str]]) -> list[str]:
    grown = [
        name
        for name, live, known in conn.exec_driver_sql(
            "SELECT s.relname, s.n_live_tup, greatest(c.reltuples, 0) FROM pg_stat_user_tables s"
            " JOIN pg_class c ON c.oid = s.relid WHERE s.schemaname = current_schema() AND s.relname = ANY(%s)",
            (sorted(tables),),
        )
        if live - known > max(GROWN_ROWS, known * GROWN_SHARE)
    ]
    if not grown or not conn.exec_driver_sql("SELECT pg_try_advisory_xact_lock(%s)", (ANALYZING,)).scalar():
        return []
    for name in grown:
        columns = ", ".join(tables[name])
        conn.exec_driver_sql(f"ANALYZE {name} ({columns})" if columns else f"ANALYZE {name}")
    return grown


@contextmanager
def planned_for_values(conn: Connection) -> Iterator[None]:
    """PostgreSQL: within the block, plan each statement for the values it is sent with. The driver prepares a
    statement it has run five times, and the server then may settle on a generic plan, one made without the
    values: for "these 2,000 orders" (an array, an id range) it cannot see how few rows that is, and scans
    the table (85 ms a batch where the plan for the values takes 3 ms). For a batch's reads: planning anew
    costs about a millisecond. Not for its writes: the foreign-key checks of every inserted row would be
    planned anew too."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")
    yield
    conn.exec_driver_sql("SET LOCAL plan_cache_mode = DEFAULT")
