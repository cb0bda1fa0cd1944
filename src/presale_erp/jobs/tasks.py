"""The jobs. Each is idempotent (running it twice has the effect of running it once) and retried with
exponential backoff when the database is briefly unavailable."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from huey import crontab

from presale_erp.domain.access import SYSTEM
from presale_erp.jobs.queue import huey, job_database
from presale_erp.services import jobs as job_service
from presale_erp.services import stock

log = logging.getLogger(__name__)

RETRIES = 5
FIRST_RETRY_SECONDS = 2
BACKOFF = 2.0  # 2 s, 4 s, 8 s, 16 s, 32 s


@huey.task(retries=RETRIES, retry_delay=FIRST_RETRY_SECONDS, retry_backoff=BACKOFF)
def expire_reservations() -> int:
    """Release reservations whose lease ran out, so the stock they held can be sold again."""
    count = stock.expire_reservations(job_database(), SYSTEM, now=datetime.now(UTC))
    if count:
        log.info("released %d expired reservations", count)
    return count


@huey.periodic_task(crontab(minute="*"), retries=RETRIES, retry_delay=FIRST_RETRY_SECONDS, retry_backoff=BACKOFF)
def expire_reservations_every_minute() -> int:
    return expire_reservations.call_local()


@huey.task(retries=RETRIES, retry_delay=FIRST_RETRY_SECONDS, retry_backoff=BACKOFF)
def check_ledger(key: str) -> dict:
    """Compare every position's counters with the movements and reservations behind them; recorded once per key."""
    return job_service.check_ledger_once(job_database(), key, now=datetime.now(UTC))


@huey.periodic_task(crontab(minute="7"), retries=RETRIES, retry_delay=FIRST_RETRY_SECONDS, retry_backoff=BACKOFF)
def check_ledger_hourly() -> dict:
    key = "ledger-check:" + datetime.now(UTC).strftime("%Y-%m-%dT%H")
    return check_ledger.call_local(key)
