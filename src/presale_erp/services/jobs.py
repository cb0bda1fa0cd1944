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
    with db.uow() as uow:
        done = job_repo.finished(uow.conn, key)
        if done:
            return done["result"]
        problems = stock_repo.ledger_discrepancies(uow.conn)
        result = {"checked_at": now.isoformat(), "discrepancies": problems, "ok": not problems}
        if problems:
            log.error("ledger check %s found %d discrepancies: %s", key, len(problems), problems[:10])
        job_repo.record(uow.conn, key=key, name="check_ledger", at=now, result=result)
        uow.commit()
        return result
