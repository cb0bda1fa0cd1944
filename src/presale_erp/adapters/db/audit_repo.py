"""The audit trail: every write records who did what, to which record, when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import audit_log


def record(
    conn: Connection,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    at: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        audit_log.insert(),
        [
            {
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "at": at,
                "details": details,
            }
        ],
    )


def record_many(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Many audit rows in one statement (COPY on PostgreSQL): a flash sale writes one per reservation."""
    if not rows:
        return
    bulk.insert(conn, audit_log, uniform(rows))


def uniform(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the same columns each (None where a row has none), as a bulk write needs. Rows made by one
    builder already are: they come back as they are."""
    first = rows[0].keys() if rows else set()
    if all(row.keys() == first for row in rows):
        return list(rows)
    columns = sorted(set().union(*rows))
    return [{c: row.get(c) for c in columns} for row in rows]


def page(
    conn: Connection, *, entity: str | None, actor: str | None, before_id: int | None, limit: int
) -> list[dict[str, Any]]:
    query = select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if entity:
        query = query.where(audit_log.c.entity == entity)
    if actor:
        query = query.where(audit_log.c.actor == actor)
    if before_id is not None:
        query = query.where(audit_log.c.id < before_id)
    return [dict(row) for row in conn.execute(query).mappings()]
