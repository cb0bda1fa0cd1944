"""Outbound webhooks: events pushed to other systems (a 3PL's warehouse system, the merchant's own tools).

Other use cases publish an event by calling `enqueue(conn, event, payload, now)` inside their own unit of work: one
outbox row (webhook_deliveries) per active subscriber, committed with the change it reports or rolled back with
it, so a receiver never hears of something that did not happen. A job (`deliver_backlog`, every minute) sends
what is due. To publish a new kind of event, add a line to KNOWN_EVENTS.

What a receiver gets: a POST with the JSON body

    {"id": <delivery id>, "event": "alert.opened", "occurred_at": "2026-11-01T20:00:00+00:00", "data": {...}}

and the headers

    Content-Type: application/json
    X-Presale-Event: alert.opened
    X-Presale-Delivery: <delivery id, the same as "id">
    X-Presale-Signature: sha256=<hex HMAC-SHA256 of the raw body bytes, keyed with the subscription's secret>

To verify, compute HMAC-SHA256(secret, raw body) over the bytes as received (before any JSON parsing) and compare
in constant time (`hmac.compare_digest`). Any 2xx answer means delivered; anything else (or no answer within the
timeout) is tried again after 1 min, 5 min, 30 min, 2 h and 12 h, and after the sixth failed attempt the delivery
is `failed` with the last error kept, until staff redeliver it.

Delivery is at least once, in no guaranteed order. A delivery is claimed (attempt counted, next attempt moved a
lease ahead) in one short transaction, sent with no transaction open, and its outcome written in a second one. A
worker that dies between sending and writing the outcome leaves the delivery to be sent again when the lease
ends; a receiver that answered too slowly may have processed it anyway. So a receiver may see one delivery id
twice, and must treat X-Presale-Delivery as an idempotency key. It never sees two ids for one event and
subscriber, and two workers never claim the same delivery at once (SKIP LOCKED on PostgreSQL, the single writer
lock on SQLite)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy.engine import Connection

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import audit_repo
from presale_erp.adapters.db import webhook_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.webhook_sender import PostOutcome, WebhookSender
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.services.clock import utc_now

# Every event another system may subscribe to, with what it means. Publishing a new one: add it here, then call
# enqueue(uow.conn, "<name>", payload, now) in the use case's unit of work.
KNOWN_EVENTS: dict[str, str] = {
    "alert.opened": "A planning alert (stockout or overstock risk) was raised.",
    "alert.resolved": "A planning alert was resolved.",
    "purchase_order.drafted": "A draft purchase order was made from a replenishment suggestion.",
}
ALL_EVENTS = "*"
STATUSES = (repo.PENDING, repo.DELIVERED, repo.FAILED)

RETRY_AFTER = (  # the wait after the 1st, 2nd, ... failed attempt; one more failure after the last gives up
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
MAX_ATTEMPTS = len(RETRY_AFTER) + 1
# How long a claimed delivery is left to the worker that claimed it. Longer than a batch can take (each POST times
# out after 10 s, sent 8 at a time); a worker that dies meanwhile has its deliveries sent again after this.
CLAIM_LEASE = timedelta(minutes=10)
SECRET_MIN, SECRET_MAX = 16, 200
URL_MAX, EVENTS_MAX = 500, 500  # the columns' widths


def register_event(name: str, meaning: str) -> None:
    """For a module that would rather declare its events next to its own code than in KNOWN_EVENTS above."""
    KNOWN_EVENTS.setdefault(name, meaning)


# --- Subscriptions --------------------------------------------------------------------------------------------


def subscribe(
    db: Database, cipher: PiiCipher, actor: Actor, url: str, events: Sequence[str], secret: str, now: datetime
) -> dict[str, Any]:
    """A system asks to be told of `events` (names from KNOWN_EVENTS, or "*" for all, including events added
    later) at `url`. The secret signs each delivery; it is stored encrypted and never shown again."""
    url = _checked_url(url)
    names = _checked_events(events)
    if not SECRET_MIN <= len(secret) <= SECRET_MAX:
        raise InvalidRequest(f"The secret must be {SECRET_MIN} to {SECRET_MAX} characters long.")
    row = {
        "url": url,
        "secret": cipher.encrypt(secret),
        "events": ",".join(names),
        "active": True,
        "created_at": now,
        "created_by": actor.label,
    }
    with db.uow() as uow:
        subscription_id = repo.add_subscription(uow.conn, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="webhook.subscribe",
            entity="webhook_subscription",
            entity_id=str(subscription_id),
            at=now,
            details={"url": url, "events": names},
        )
        uow.commit()
    return _subscription_view(row | {"id": subscription_id})


def list_subscriptions(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return [_subscription_view(row) for row in repo.subscriptions_list(uow.conn)]


def deactivate(db: Database, actor: Actor, subscription_id: int, now: datetime) -> dict[str, Any]:
    """The system is told nothing more; deliveries still waiting for it are closed as failed (kept for the record).
    Deactivating twice is harmless."""
    with db.uow() as uow:
        row = repo.subscription(uow.conn, subscription_id)
        if row is None:
            raise NotFound(f"No webhook subscription {subscription_id}.")
        repo.deactivate(uow.conn, subscription_id)
        dropped = repo.give_up_pending(uow.conn, subscription_id, reason="the subscription was deactivated")
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="webhook.deactivate",
            entity="webhook_subscription",
            entity_id=str(subscription_id),
            at=now,
            details={"pending_dropped": dropped},
        )
        uow.commit()
    return _subscription_view(row | {"active": False})


def _checked_url(url: str) -> str:
    url = url.strip()
    if len(url) > URL_MAX:
        raise InvalidRequest(f"The URL is longer than {URL_MAX} characters.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # a port that is not a number raises here, not at the first delivery
    except ValueError:
        raise InvalidRequest(f"{url!r} is not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{url!r} is not an http:// or https:// URL with a host.")
    if parts.username or parts.password:
        raise InvalidRequest("Put no user or password in the URL: the signature proves who is calling.")
    return url


def _checked_events(events: Sequence[str]) -> list[str]:
    names = sorted({name.strip() for name in events})
    if not names:
        raise InvalidRequest(f"Name at least one event, or {ALL_EVENTS!r} for all of them.")
    if ALL_EVENTS in names:
        if len(names) > 1:
            raise InvalidRequest(f"{ALL_EVENTS!r} already means every event; send it alone.")
        return names
    unknown = [name for name in names if name not in KNOWN_EVENTS]
    if unknown:
        raise InvalidRequest(
            f"Unknown event(s): {', '.join(unknown)}. Known: {', '.join(sorted(KNOWN_EVENTS))}, or {ALL_EVENTS!r}."
        )
    if len(",".join(names)) > EVENTS_MAX:
        raise InvalidRequest("Too many events for one subscription; use '*' or several subscriptions.")
    return names


def _subscription_view(row: dict[str, Any]) -> dict[str, Any]:
    """Everything but the secret."""
    return {
        "id": row["id"],
        "url": row["url"],
        "events": row["events"].split(","),
        "active": row["active"],
        "created_at": row["created_at"],
        "created_by": row["created_by"],
    }


def known_events() -> dict[str, str]:
    return dict(sorted(KNOWN_EVENTS.items()))


# --- Publishing -----------------------------------------------------------------------------------------------


def enqueue(conn: Connection, event: str, payload: dict[str, Any], now: datetime) -> int:
    """Publish `event` to its subscribers, in the caller's transaction: call it with the unit of work's connection
    before its commit, so the deliveries exist if and only if the change they report does. Returns how many
    deliveries were queued (0 when nobody subscribes). Decimals, dates and enums in `payload` are written as
    JSON strings. An event name missing from KNOWN_EVENTS is a programming error (ValueError)."""
    if event not in KNOWN_EVENTS:
        raise ValueError(f"Unknown webhook event {event!r}: add it to KNOWN_EVENTS in services/webhooks.py first.")
    data = json.loads(json.dumps(payload, default=_json_value, ensure_ascii=False))
    rows = [
        {
            "subscription_id": subscription["id"],
            "event": event,
            "payload": data,
            "status": repo.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "last_error": "",
            "created_at": now,
            "delivered_at": None,
        }
        for subscription in repo.subscriptions_list(conn, active_only=True)
        if _wants(subscription["events"], event)
    ]
    repo.add_deliveries(conn, rows)
    return len(rows)


def _wants(subscribed: str, event: str) -> bool:
    names = subscribed.split(",")
    return ALL_EVENTS in names or event in names


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # as text, so 12.30 stays 12.30 (a float would not)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot go into a webhook payload")


# --- Delivering -----------------------------------------------------------------------------------------------


class Poster(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostOutcome: ...


@dataclass
class DeliveryReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # failed for the last time: given up

    def add(self, other: DeliveryReport) -> None:
        self.claimed += other.claimed
        self.delivered += other.delivered
        self.retrying += other.retrying
        self.failed += other.failed


def deliver_due(
    db: Database,
    cipher: PiiCipher,
    now: datetime,
    *,
    sender: Poster | None = None,
    limit: int = 100,
    concurrency: int = 8,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryReport:
    """One batch: claim up to `limit` due deliveries, POST them (several at a time, no transaction open), then
    record the outcomes. A receiver that fails or cannot be reached only delays its own deliveries."""
    with db.uow() as uow:
        claimed = repo.claim_due(uow.conn, now=now, lease_until=now + CLAIM_LEASE, limit=limit)
        uow.commit()
    if not claimed:
        return DeliveryReport()
    if sender is None:
        with WebhookSender(connections=concurrency) as own:
            outcomes = _send_all(own, cipher, claimed, concurrency)
    else:
        outcomes = _send_all(sender, cipher, claimed, concurrency)
    return _record(db, claimed, outcomes, now, max_attempts)


def deliver_backlog(
    db: Database,
    cipher: PiiCipher,
    *,
    clock: Callable[[], datetime] = utc_now,
    sender: Poster | None = None,
    limit: int = 100,
    budget: timedelta = timedelta(seconds=50),
) -> DeliveryReport:
    """Batches until nothing is due or `budget` is spent (the job runs every minute and picks up the rest). Each
    batch reads the clock afresh, so its lease and backoff start from when it was really claimed."""
    if sender is None:
        with WebhookSender() as own:  # one connection pool for every batch of the run
            return deliver_backlog(db, cipher, clock=clock, sender=own, limit=limit, budget=budget)
    report = DeliveryReport()
    started = clock()
    while True:
        batch = deliver_due(db, cipher, clock(), sender=sender, limit=limit)
        report.add(batch)
        if batch.claimed < limit or clock() - started >= budget:
            return report


@dataclass(frozen=True)
class _Request:
    url: str
    body: bytes
    headers: dict[str, str]


def _request(row: dict[str, Any], cipher: PiiCipher) -> _Request:
    body = json.dumps(
        {"id": row["id"], "event": row["event"], "occurred_at": row["created_at"].isoformat(), "data": row["payload"]},
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "X-Presale-Event": row["event"],
        "X-Presale-Delivery": str(row["id"]),
        "X-Presale-Signature": signature(cipher.decrypt(row["secret"]), body),
    }
    return _Request(row["url"], body, headers)


def signature(secret: str, body: bytes) -> str:
    """The X-Presale-Signature header's value for `body`: what a receiver recomputes to trust a delivery."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def _send_all(sender: Poster, cipher: PiiCipher, claimed: list[dict[str, Any]], concurrency: int) -> list[PostOutcome]:
    def send(row: dict[str, Any]) -> PostOutcome:
        try:
            request = _request(row, cipher)
            return sender.post(request.url, request.body, request.headers)
        except Exception as exc:  # one delivery's surprise (a secret that no longer decrypts) must not lose the batch
            return PostOutcome(None, f"{type(exc).__name__}: {exc}")

    workers = max(1, min(concurrency, len(claimed)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool:
        return list(pool.map(send, claimed))


def _record(
    db: Database, claimed: list[dict[str, Any]], outcomes: list[PostOutcome], now: datetime, max_attempts: int
) -> DeliveryReport:
    report = DeliveryReport(claimed=len(claimed))
    delivered: list[int] = []
    failures: list[dict[str, Any]] = []
    for row, outcome in zip(claimed, outcomes, strict=True):
        if outcome.delivered:
            delivered.append(row["id"])
            report.delivered += 1
            continue
        gave_up = row["attempts"] >= max_attempts
        if gave_up:
            report.failed += 1
        else:
            report.retrying += 1
        failures.append(
            {
                "id": row["id"],
                "attempts": row["attempts"],
                "status": repo.FAILED if gave_up else repo.PENDING,
                "next_attempt_at": now if gave_up else now + _retry_after(row["attempts"]),
                "last_error": (outcome.error or "no answer")[:500],
            }
        )
    with db.uow() as uow:
        repo.mark_delivered(uow.conn, delivered, at=now)
        repo.record_failures(uow.conn, failures)
        uow.commit()
    return report


def _retry_after(attempts: int) -> timedelta:
    return RETRY_AFTER[min(attempts, len(RETRY_AFTER)) - 1]


# --- Looking and retrying -------------------------------------------------------------------------------------


def list_deliveries(db: Database, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The newest deliveries first, optionally only those pending, delivered or failed."""
    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}.")
    if not 1 <= limit <= 1000:
        raise InvalidRequest("limit must be from 1 to 1000.")
    with db.uow(write=False) as uow:
        return repo.deliveries_list(uow.conn, status=status, limit=limit)


def redeliver(db: Database, actor: Actor, delivery_id: int, now: datetime) -> dict[str, Any]:
    """Send a delivery again at the next run, with a fresh schedule of attempts: usually a failed one, after the
    receiver was fixed; a delivered one too, if the receiver lost it (it arrives with the same id)."""
    with db.uow() as uow:
        row = repo.delivery(uow.conn, delivery_id)
        if row is None:
            raise NotFound(f"No webhook delivery {delivery_id}.")
        subscription = repo.subscription(uow.conn, row["subscription_id"])
        if subscription is None or not subscription["active"]:
            raise Conflict(f"Subscription {row['subscription_id']} is deactivated; subscribe again to receive events.")
        repo.schedule_now(uow.conn, delivery_id, now=now)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="webhook.redeliver",
            entity="webhook_delivery",
            entity_id=str(delivery_id),
            at=now,
            details={"was": row["status"], "attempts": row["attempts"]},
        )
        view = repo.delivery_view(uow.conn, delivery_id)
        uow.commit()
    return view
