"""Records of finished jobs, keyed by the job's idempotency key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import job_runs
from presale_erp.adapters.db.upsert import insert_ignoring_existing


def finished(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(job_runs).where(job_runs.c.key == key)).mappings().first()
    return dict(row) if row else None


def record(conn: Connection, *, key: str, name: str, at: datetime, result: dict[str, Any]) -> None:
    insert_ignoring_existing(
        conn, job_runs, [{"key": key, "name": name, "finished_at": at, "result": result, "attempts": 1}]
    )
