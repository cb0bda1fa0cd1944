"""INSERT ... ON CONFLICT for whichever database the connection is on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def _insert_for(conn: Connection, table: Table):
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def insert_ignoring_existing(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_insert_for(conn, table).on_conflict_do_nothing(), list(rows))


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: list[str], update: list[str]) -> None:
    if not rows:
        return
    statement = _insert_for(conn, table)
    statement = statement.on_conflict_do_update(
        index_elements=key, set_={column: statement.excluded[column] for column in update}
    )
    conn.execute(statement, list(rows))
