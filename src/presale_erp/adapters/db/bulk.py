"""Bulk writes straight through the driver's executemany, for the peak-night paths (intake, review).

SQLAlchemy's executemany builds and type-converts a parameter dict per row in Python, which costs more than
the database does at these volumes; here each column's conversion is chosen once per statement and rows go
to the driver as tuples (sqlite3 and psycopg 3 both batch executemany natively). The conversions are the same
as the column types' (MoneyFen as fen, UtcDateTime as UTC), so rows read back through SQLAlchemy as usual."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
import psycopg
from sqlalchemy import ARRAY, JSON, Table, any_, bindparam
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from presale_erp.adapters.db.types import MoneyFen, UtcDateTime

Convert = Callable[[Any], Any]


def _fen(value: Decimal | None) -> int | None:
    return None if value is None else int(value * 100)


@lru_cache(maxsize=8192)  # a batch repeats its times (now, the same modified second) many times over
def _sqlite_time(value: datetime | None) -> str | None:
    # SQLAlchemy's SQLite DATETIME storage format, so the column type reads these back unchanged.
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _converter(column, dialect: str) -> Convert | None:
    kind = column.type
    if isinstance(kind, MoneyFen):
        return _fen
    if isinstance(kind, UtcDateTime):
        return _sqlite_time if dialect == "sqlite" else None
    if isinstance(kind, JSON):
        if dialect == "sqlite":
            return lambda v: None if v is None else json.dumps(v, ensure_ascii=False)
        from psycopg.types.json import Json

        return lambda v: None if v is None else Json(v)
    return None


def _marker(dialect: str) -> str:
    return "?" if dialect == "sqlite" else "%s"


def _tuples(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[tuple]:
    to_tuple = _row_converter(table, tuple(columns), conn.dialect.name)
    return [to_tuple(row) for row in rows]


@lru_cache(maxsize=256)
def _row_converter(table: Table, columns: tuple[str, ...], dialect: str) -> Callable[[dict[str, Any]], tuple]:
    """One generated function per (table, columns): a dict row to the driver's tuple, each column converted
    inline. A loop over the columns per row costs several times more at a million values a batch night."""
    names: dict[str, Any] = {}
    parts = []
    for i, name in enumerate(columns):
        convert = _converter(table.c[name], dialect)
        value = f"row[{name!r}]"
        if convert is not None:
            names[f"c{i}"] = convert
            value = f"c{i}({value})"
        parts.append(value)
    return eval(f"lambda row: ({', '.join(parts)},)", names)  # the text is our own column names, never input


def insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False) -> None:
    if not rows:
        return
    columns = list(rows[0])
    if conn.dialect.name == "postgresql" and not ignore_conflicts:
        _copy(conn, table, columns, rows)
        return
    mark = _marker(conn.dialect.name)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    conn.exec_driver_sql(sql, _tuples(conn, table, columns, rows))


def _copy(conn: Connection, table: Table, columns: list[str], rows: Sequence[dict[str, Any]]) -> None:
    """COPY ... FROM STDIN on PostgreSQL, in the connection's own transaction: several times quicker than even a
    pipelined executemany, which still sends and plans one INSERT per row."""
    _copy_rows(conn, f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", _tuples(conn, table, columns, rows))


def _copy_rows(conn: Connection, statement: str, rows: list[tuple]) -> None:
    """COPY on the driver's own cursor, its errors raised as SQLAlchemy's (an IntegrityError, an
    OperationalError...) like every other statement's, so callers handle one kind."""
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.Error as error:
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error
    finally:
        cursor.close()


def update_by_key(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, key: str, only_if: str = ""
) -> None:
    """UPDATE table SET <every other column in the rows> WHERE key = ? [AND only_if], one row per dict.
    `only_if` is a fixed SQL condition on the table's own columns, written by this codebase (e.g.
    "review_status = 'pending'")."""
    if not rows:
        return
    columns = [c for c in rows[0] if c != key]
    if conn.dialect.name == "postgresql":
        rows = _update_shared(conn, table, columns, key, rows, only_if)
        if not rows:
            return
    if conn.dialect.name == "postgresql" and len(rows) > SET_BASED_FROM:
        _update_from_copy(conn, table, columns, key, rows, only_if)
        return
    mark = _marker(conn.dialect.name)
    sql = f"UPDATE {table.name} SET {', '.join(f'{c} = {mark}' for c in columns)} WHERE {key} = {mark}"
    if only_if:
        sql += f" AND {only_if}"
    conn.exec_driver_sql(sql, _tuples(conn, table, [*columns, key], rows))


SET_BASED_FROM = 50  # rows: below this, a pipelined executemany is as quick as staging them


def _hashable(value: Any) -> Any:
    """A JSON list or object as its text, so rows setting the same one (say, no review hits: []) group together;
    one that orjson cannot write exactly (a Decimal inside) stays a group of its own."""
    if not isinstance(value, list | dict):
        return value
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return object()


def _update_shared(
    conn: Connection, table: Table, columns: list[str], key: str, rows: Sequence[dict[str, Any]], only_if: str
) -> list[dict[str, Any]]:
    """Rows that set the same values (a batch's approvals, its allocations) go as one UPDATE ... WHERE key =
    ANY(keys) per set of values: nothing staged, one statement. Returns the rest, for the usual ways."""
    if len(rows) < SET_BASED_FROM:
        return list(rows)
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(_hashable(row[c]) for c in columns), []).append(row)
    rest: list[dict[str, Any]] = []
    to_tuple = _row_converter(table, tuple(columns), "postgresql")
    key_type = table.c[key].type.compile(dialect=conn.dialect)
    sql = f"UPDATE {table.name} SET {', '.join(f'{c} = %s' for c in columns)} WHERE {key} = ANY(%s::{key_type}[])"
    if only_if:
        sql += f" AND {only_if}"
    for members in groups.values():
        if len(members) < SET_BASED_FROM:
            rest += members
            continue
        # The index scan takes the keys in order, so overlapping batches lock rows in one order: they queue.
        conn.exec_driver_sql(sql, (*to_tuple(members[0]), sorted(member[key] for member in members)))
    return rest


def insert_new_returning(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, unique: Sequence[str], returning: Sequence[str]
) -> list[tuple]:
    """PostgreSQL: insert the rows not already there (by the `unique` columns) and return `returning` of those
    this statement inserted: rows staged with COPY, then one INSERT ... SELECT ... ON CONFLICT DO NOTHING
    RETURNING, instead of one INSERT per row and a second query to learn the new ids."""
    columns = list(rows[0])
    stage = _stage(conn, table, columns, rows)
    wanted = ", ".join(columns)
    inserted = conn.exec_driver_sql(
        # In key order: two intakes racing to insert the same orders then queue one behind the other on the
        # first key they share, instead of each holding a key the other waits for (a deadlock).
        f"INSERT INTO {table.name} ({wanted}) SELECT {wanted} FROM {stage} ORDER BY {', '.join(unique)}"
        f" ON CONFLICT ({', '.join(unique)}) DO NOTHING RETURNING {', '.join(returning)}"
    ).all()
    conn.exec_driver_sql(f"DROP TABLE {stage}")
    return [tuple(row) for row in inserted]


def _stage(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> str:
    """A temporary table shaped like `columns` of `table` (types only, no constraints), filled with COPY."""
    stage = f"stage_{table.name}"
    wanted = ", ".join(columns)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {stage}")
    conn.exec_driver_sql(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS SELECT {wanted} FROM {table.name} WITH NO DATA")
    _copy_rows(conn, f"COPY {stage} ({wanted}) FROM STDIN", _tuples(conn, table, columns, rows))
    return stage


def _update_from_copy(
    conn: Connection, table: Table, columns: list[str], key: str, rows: Sequence[dict[str, Any]], only_if: str
) -> None:
    """Stage the rows with COPY in a temporary table shaped like the target's columns, then one set-based UPDATE
    ... FROM: one statement for the database to plan instead of one per row."""
    stage = _stage(conn, table, [key, *columns], rows)
    assignments = ", ".join(f"{c} = {stage}.{c}" for c in columns)
    key_type = table.c[key].type.compile(dialect=conn.dialect)
    # The keys again as one array: without it the planner, knowing nothing of the fresh stage table, joins by
    # scanning the whole target table every batch (a cost that grows with the table, not with the batch).
    sql = (
        f"UPDATE {table.name} SET {assignments} FROM {stage} WHERE {table.name}.{key} = {stage}.{key}"
        f" AND {table.name}.{key} = ANY(%s::{key_type}[])"
    )
    if only_if:
        sql += f" AND {table.name}.{only_if}"
    conn.exec_driver_sql(sql, ([row[key] for row in rows],))
    conn.exec_driver_sql(f"DROP TABLE {stage}")


def json_insert(table: Table, rows: Sequence[dict[str, Any]]) -> tuple[str, str]:
    """PostgreSQL: `INSERT INTO table (...) SELECT ... FROM json_populate_recordset(NULL::table, %s)` and its one
    parameter, the rows as a JSON array. Tens of rows go in as one statement that can share a round trip with
    others (as a data-modifying CTE), where COPY or an executemany each need their own; and one JSON text (made
    by orjson, several times faster than the standard encoder) costs the client a fraction of binding every
    value of every row (a flash sale's committer is CPU bound)."""
    columns = ", ".join(rows[0])
    to_json = _json_converter(table, tuple(rows[0]))
    sql = f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM json_populate_recordset(NULL::{table.name}, %s)"
    body = rows if to_json is None else [to_json(row) for row in rows]
    return sql, orjson.dumps(body).decode()


@lru_cache(maxsize=64)
def _json_converter(table: Table, columns: tuple[str, ...]) -> Callable[[dict[str, Any]], dict[str, Any]] | None:
    """A row to what JSON can carry, as the column types store it: money as fen. None when nothing needs it
    (orjson writes times as ISO text itself), which spares copying every row of a table without money."""
    converted = {name: _fen for name in columns if isinstance(table.c[name].type, MoneyFen)}
    if not converted:
        return None
    return lambda row: {**row, **{name: convert(row[name]) for name, convert in converted.items()}}


def among(conn: Connection, column, values: Sequence[Any]):
    """`column IN values` for a batch's worth of values. On PostgreSQL one array parameter (`= ANY`): the server
    plans a 2,000-item IN list of separate parameters anew each time, which costs more than the lookup."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(f"among_{column.name}", list(values), type_=ARRAY(column.type), unique=True))
    return column.in_(list(values))
