"""The jobs. Each is idempotent (running it twice has the effect of running it once) and is retried with
exponential backoff (2 s, 4 s, 8 s, 16 s, 32 s) when it fails, e.g. while the database is briefly away.

Tasks are registered on a Huey instance by `register`, so a test or a tool can build its own instance for
another queue; the module-level `tasks` is the one the worker and the product use."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from huey import Huey, crontab

from presale_erp.domain.access import SYSTEM
from presale_erp.jobs.queue import huey, job_database
from presale_erp.services import jobs as job_service
from presale_erp.services import stock

log = logging.getLogger(__name__)

RETRIES = 5
FIRST_RETRY_SECONDS = 2
BACKOFF = 2.0


@dataclass(frozen=True)
class Tasks:
    expire_reservations: Any
    check_ledger: Any


def register(queue: Huey) -> Tasks:
    retry = {"retries": RETRIES, "retry_delay": FIRST_RETRY_SECONDS, "retry_backoff": BACKOFF}

    @queue.task(name="expire_reservations", **retry)
    def expire_reservations() -> int:
        """Release reservations whose lease ran out, so the stock they held can be sold again."""
        count = stock.expire_reservations(job_database(), SYSTEM, now=datetime.now(UTC))
        if count:
            log.info("released %d expired reservations", count)
        return count

    @queue.task(name="check_ledger", **retry)
    def check_ledger(key: str) -> dict:
        """Compare every position's counters with the movements and reservations behind them, once per key."""
        return job_service.check_ledger_once(job_database(), key, now=datetime.now(UTC))

    @queue.periodic_task(crontab(minute="*"), name="expire_reservations_every_minute", **retry)
    def expire_reservations_every_minute() -> int:
        return expire_reservations.call_local()

    @queue.periodic_task(crontab(minute="7"), name="check_ledger_hourly", **retry)
    def check_ledger_hourly() -> dict:
        return check_ledger.call_local("ledger-check:" + datetime.now(UTC).strftime("%Y-%m-%dT%H"))

    return Tasks(expire_reservations=expire_reservations, check_ledger=check_ledger)


tasks = register(huey)
