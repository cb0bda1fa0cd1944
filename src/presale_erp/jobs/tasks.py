"""The jobs. Each is idempotent (running it twice has the effect of running it once) and is retried with
exponential backoff (2 s, 4 s, 8 s, 16 s, 32 s) when it fails, e.g. while the database is briefly away.

Tasks are registered on a Huey instance by `register`, so a test or a tool can build its own instance for
another queue; the module-level `tasks` is the one the worker and the product use."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from huey import Huey, crontab
from huey.exceptions import TaskLockedException

from presale_erp.adapters.carriers.kuaidi100 import Kuaidi100Client
from presale_erp.domain.access import SYSTEM
from presale_erp.jobs.queue import huey, job_carrier, job_cipher, job_database
from presale_erp.services import (
    balances,
    fetch,
    forfeited_deposits,
    fulfilment,
    parcels,
    payments,
    planning,
    preorders,
    purchase_orders,
    receivables,
    review,
    stock,
    tracking,
    webhooks,
)
from presale_erp.services import jobs as job_service
from presale_erp.settings import get_settings

log = logging.getLogger(__name__)

RETRIES = 5
FIRST_RETRY_SECONDS = 2
BACKOFF = 2.0


@dataclass(frozen=True)
class Tasks:
    expire_reservations: Any
    check_ledger: Any
    fetch_orders: Any


def _register_purchasing(queue: Huey, retry: dict[str, Any]) -> None:
    @queue.periodic_task(crontab(minute="25"), name="check_purchase_order_risks_hourly", **retry)
    def check_purchase_order_risks_hourly() -> dict:
        """交期风险: flag PO lines whose promised date is unlikely or past; keep their alerts open or resolve them."""
        with queue.lock_task("purchase_order_risks"):
            report = purchase_orders.check_risks(job_database(), SYSTEM, now=datetime.now(UTC))
        return {k: v for k, v in report.__dict__.items() if k != "flagged"}


def _register_tracking(queue: Huey, retry: dict[str, Any]) -> None:
    @queue.periodic_task(crontab(minute="*/10"), name="poll_tracking_every_10_minutes", **retry)
    def poll_tracking_every_10_minutes() -> dict:
        """物流轨迹: pull traces for parcels on their way; open or resolve stuck and exception alerts."""
        source = job_trace_source()
        if source is None:
            return {"skipped": "no tracking account (PRESALE_ERP_TRACKING_URL or PRESALE_ERP_CARRIER_URL)"}
        settings, now = get_settings(), datetime.now(UTC)
        try:
            with queue.lock_task("poll_tracking"):
                subscribed = 0
                if isinstance(source, Kuaidi100Client) and settings.kuaidi100_salt and settings.kuaidi100_callback_url:
                    subscribed = tracking.subscribe_pushes(
                        job_database(),
                        source,
                        callback_url=settings.kuaidi100_callback_url,
                        salt=settings.kuaidi100_salt,
                        now=now,
                        cipher=job_cipher(),
                    ).subscribed
                report = tracking.poll_due(job_database(), source, now=now, cipher=job_cipher())
        except TaskLockedException:
            return {"skipped": "the previous poll is still running"}
        recorded = report.recorded
        return {
            "subscribed": subscribed,
            "polled": report.polled,
            "failed": report.failed,
            "stored": recorded.stored,
            "alerts_opened": recorded.alerts_opened,
            "alerts_resolved": recorded.alerts_resolved,
        }


def job_trace_source() -> tracking.TraceSource | None:
    """Kuaidi100 when it is configured, else the Kdniao account that issues the waybills."""
    settings = get_settings()
    if settings.tracking_url:
        return Kuaidi100Client(settings.tracking_url, settings.kuaidi100_customer, settings.kuaidi100_key)
    return job_carrier()


PAYMENTS_LOOKBACK = timedelta(days=3)  # orders fetched late (overlapping fetch windows) are still picked up


def _register_finance(queue: Huey, retry: dict[str, Any]) -> None:
    @queue.periodic_task(crontab(minute="*"), name="record_payments_every_minute", **retry)
    def record_payments_every_minute() -> dict:
        """收支流水: deposits, balances and full payments of the orders intake took in (idempotent by key)."""
        now = datetime.now(UTC)
        with queue.lock_task("record_payments"):
            written = payments.record_from_orders(job_database(), SYSTEM, since=now - PAYMENTS_LOOKBACK, now=now)
        return {"written": written}

    @queue.periodic_task(crontab(minute="*/5"), name="book_forfeited_deposits", **retry)
    def book_forfeited_deposits() -> dict:
        """定金不退: deposits whose balance window passed unpaid become income (after expire_unpaid_balances)."""
        with queue.lock_task("book_forfeited_deposits"):
            return forfeited_deposits.record_forfeited_deposits(job_database(), SYSTEM, now=datetime.now(UTC)).__dict__

    @queue.periodic_task(crontab(minute="7"), name="invoice_shipped_orders_hourly", **retry)
    def invoice_shipped_orders_hourly() -> dict:
        """应收: on-account (wholesale, distributor) orders shipped in full get their invoice, due by their terms."""
        with queue.lock_task("invoice_shipped_orders"):
            return {"invoiced": receivables.invoice_shipped_orders(job_database(), SYSTEM, now=datetime.now(UTC))}


def _register_areas(queue: Huey, retry: dict[str, Any]) -> None:
    """The periodic jobs of areas that keep their registration beside them (register() is at its size limit)."""
    _register_purchasing(queue, retry)
    _register_tracking(queue, retry)
    _register_finance(queue, retry)


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

    @queue.task(name="fetch_orders", **retry)
    def fetch_orders(shop: str) -> dict:
        """自动抓单 for one shop. One run per shop at a time; a second one queued meanwhile just skips."""
        try:
            with queue.lock_task(f"fetch_orders:{shop}"):
                report = fetch.fetch_shop(job_database(), job_cipher(), SYSTEM, shop, now=datetime.now(UTC))
        except TaskLockedException:
            return {"shop": shop, "skipped": "a fetch for this shop is already running"}
        log.info("fetched %s: %s", shop, report)
        return {
            "shop": shop,
            "created": report.created,
            "updated": report.updated,
            "dead_lettered": report.dead_lettered,
        }

    @queue.periodic_task(crontab(minute="*"), name="fetch_all_shops_every_minute")
    def fetch_all_shops_every_minute() -> int:
        shops = fetch.shops_to_fetch(job_database())
        for shop in shops:
            fetch_orders(shop)
        return len(shops)

    @queue.periodic_task(crontab(minute="*/5"), name="expire_unpaid_balances", **retry)
    def expire_unpaid_balances() -> dict:
        """尾款逾期: deposits whose balance window passed unpaid give their stock back."""
        with queue.lock_task("expire_unpaid_balances"):
            return balances.expire_unpaid_balances(job_database(), SYSTEM, now=datetime.now(UTC)).__dict__

    @queue.periodic_task(crontab(minute="*/5"), name="activate_pre_orders", **retry)
    def activate_pre_orders() -> dict:
        """预订单 whose planned ship date has come and whose goods are on the shelves go on to review."""
        with queue.lock_task("activate_pre_orders"):
            return preorders.activate_due(job_database(), SYSTEM, now=datetime.now(UTC)).__dict__

    @queue.periodic_task(crontab(minute="*"), name="review_orders_every_minute", **retry)
    def review_orders_every_minute() -> dict:
        """智能审单 for every paid order waiting for review; orders in their cooling-off time wait a run."""
        with queue.lock_task("review_orders"):
            report = review.review_pending(job_database(), job_cipher(), SYSTEM, now=datetime.now(UTC))
        return report.__dict__

    @queue.periodic_task(crontab(minute="*"), name="allocate_orders_every_minute", **retry)
    def allocate_orders_every_minute() -> dict:
        """配货: approved orders become parcels; then tracking numbers for the parcels due to leave."""
        with queue.lock_task("allocate_orders"):
            now = datetime.now(UTC)
            report = fulfilment.allocate(job_database(), SYSTEM, now=now).__dict__
            carrier = job_carrier()
            if carrier is not None:
                report["waybills"] = parcels.request_waybills(
                    job_database(), job_cipher(), carrier, SYSTEM, now=now
                ).__dict__
        return report

    @queue.periodic_task(crontab(minute="*"), name="deliver_webhooks_every_minute", **retry)
    def deliver_webhooks_every_minute() -> dict:
        """Outbound webhooks due now; a receiver that fails waits its backoff in the outbox, not here."""
        with queue.lock_task("deliver_webhooks"):
            return webhooks.deliver_backlog(job_database(), job_cipher()).__dict__

    @queue.periodic_task(crontab(hour="18", minute="30"), name="plan_nightly", **retry)
    def plan_nightly() -> dict:
        """02:30 Beijing: history, demand and presale forecasts, suggestions and alerts, after the day's orders."""
        with queue.lock_task("planning"):
            return planning.run_cycle(job_database(), SYSTEM, now=datetime.now(UTC), demand=True)

    @queue.periodic_task(crontab(minute="15"), name="plan_presales_hourly", **retry)
    def plan_presales_hourly() -> dict:
        """Deposits move by the hour on a campaign night: re-forecast presales and re-check stock against them."""
        try:
            with queue.lock_task("planning"):
                return planning.run_cycle(job_database(), SYSTEM, now=datetime.now(UTC), demand=False)
        except TaskLockedException:
            return {"skipped": "the nightly planning run is still going"}

    _register_areas(queue, retry)

    @queue.periodic_task(crontab(minute="*"), name="expire_reservations_every_minute", **retry)
    def expire_reservations_every_minute() -> int:
        return expire_reservations.call_local()

    @queue.periodic_task(crontab(minute="7"), name="check_ledger_hourly", **retry)
    def check_ledger_hourly() -> dict:
        return check_ledger.call_local("ledger-check:" + datetime.now(UTC).strftime("%Y-%m-%dT%H"))

    return Tasks(expire_reservations=expire_reservations, check_ledger=check_ledger, fetch_orders=fetch_orders)


tasks = register(huey)
