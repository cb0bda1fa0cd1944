"""Use cases run by background jobs."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from presale_erp.adapters.db import job_repo, stock_repo
from presale_erp.adapters.db.unit_of_work import Database

log = logging.getLogger(__name__)


def check_ledger_once(db: Database, key: str, *, now: datetime) -> dict[str, Any]:
    """Run the ledger check for `key` once; a retry or a duplicate delivery returns the first result."""
    # The scan only reads (on SQLite a write transaction would hold the one write lock for all of it);
    # a short write then records the result, and the first record of a key wins.
    with db.uow(write=False) as uow:
        done = job_repo.finished(uow.conn, key)
        if done:
            return done["result"]
        problems = stock_repo.ledger_discrepancies(uow.conn)
    result = {"checked_at": now.isoformat(), "discrepancies": problems, "ok": not problems}
    if problems:
        log.error("ledger check %s found %d discrepancies: %s", key, len(problems), problems[:10])
    with db.uow() as uow:
        job_repo.record(uow.conn, key=key, name="check_ledger", at=now, result=result)
        first = job_repo.finished(uow.conn, key)
        uow.commit()
    return first["result"] if first else result
