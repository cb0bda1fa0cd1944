"""Outbound webhooks over real HTTP to a local receiver, on SQLite and PostgreSQL: the outbox commits with the
event, each subscriber gets its events once and can verify the signature, failures wait their backoff, and two
workers never send one delivery twice."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import event, select, update

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import webhook_repo
from presale_erp.adapters.db.tables import webhook_deliveries, webhook_subscriptions
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.webhook_sender import WebhookSender
from presale_erp.domain.access import SYSTEM
from presale_erp.services import webhooks
from tests.conftest import NOW

CIPHER = PiiCipher(b"w" * 32)
SECRET = "shared-secret-of-the-3pl"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A tiny HTTP server standing in for the other system: it records each request and answers with the next
    status in `answers` (200 once they run out)."""

    url: str = ""
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> int:
        with self.lock:
            return self.answers.pop(0) if self.answers else 200

    def deliveries(self, path: str | None = None) -> list[int]:
        return [int(r.headers["X-Presale-Delivery"]) for r in self.received if path is None or r.path == path]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with state.lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
            status = state.answer()
            answer = b"ok" if status < 300 else b"warehouse system busy"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def subscribe(db: Database, url: str, events: list[str], secret: str = SECRET) -> int:
    return webhooks.subscribe(db, CIPHER, SYSTEM, url, events, secret, NOW)["id"]


def publish(db: Database, event: str, payload: dict[str, Any], at: datetime = NOW) -> int:
    with db.uow() as uow:
        queued = webhooks.enqueue(uow.conn, event, payload, at)
        uow.commit()
    return queued


def deliver(db: Database, at: datetime = NOW, **options: Any) -> webhooks.DeliveryReport:
    with WebhookSender(timeout=5) as sender:
        return webhooks.deliver_due(db, CIPHER, at, sender=sender, **options)


def the_delivery(db: Database, delivery_id: int | None = None) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        query = select(webhook_deliveries).order_by(webhook_deliveries.c.id)
        if delivery_id is not None:
            query = query.where(webhook_deliveries.c.id == delivery_id)
        rows = uow.conn.execute(query).mappings().all()
    assert len(rows) == 1, rows
    return dict(rows[0])


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nobody-listens"


def test_an_event_is_delivered_once_with_its_body_and_a_signature_the_receiver_verifies(db, receiver):
    subscribe(db, receiver.url + "/hooks", ["alert.opened"])
    publish(db, "alert.opened", {"sku": "TEA-250", "shortfall": Decimal("12.50"), "day": NOW.date()})

    first = deliver(db)
    again = deliver(db, NOW + timedelta(days=1))

    assert (first.claimed, first.delivered, again.claimed) == (1, 1, 0)
    [got] = receiver.received
    delivery_id = the_delivery(db)["id"]
    assert got.path == "/hooks"
    assert got.json == {
        "id": delivery_id,
        "event": "alert.opened",
        "occurred_at": NOW.isoformat(),
        "data": {"sku": "TEA-250", "shortfall": "12.50", "day": "2026-11-01"},
    }
    assert got.headers["X-Presale-Event"] == "alert.opened"
    assert got.headers["X-Presale-Delivery"] == str(delivery_id)
    assert got.headers["Content-Type"] == "application/json"
    expected = "sha256=" + hmac.new(SECRET.encode(), got.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(got.headers["X-Presale-Signature"], expected)
    row = the_delivery(db)
    assert (row["status"], row["attempts"], row["delivered_at"], row["last_error"]) == ("delivered", 1, NOW, "")


def test_the_secret_is_stored_encrypted(db, receiver):
    subscribe(db, receiver.url, ["*"])

    with db.uow(write=False) as uow:
        stored = uow.conn.execute(select(webhook_subscriptions.c.secret)).scalar_one()

    assert SECRET not in stored and CIPHER.decrypt(stored) == SECRET


def test_only_active_subscribers_of_the_event_get_it(db, receiver):
    subscribe(db, receiver.url + "/alerts", ["alert.opened", "alert.resolved"])
    subscribe(db, receiver.url + "/purchasing", ["purchase_order.drafted"])
    subscribe(db, receiver.url + "/everything", ["*"])
    gone = subscribe(db, receiver.url + "/gone", ["*"])
    webhooks.deactivate(db, SYSTEM, gone, NOW)

    queued = publish(db, "alert.resolved", {"alert_id": 7})
    deliver(db)

    assert queued == 2
    assert sorted(r.path for r in receiver.received) == ["/alerts", "/everything"]
    assert {r.json["event"] for r in receiver.received} == {"alert.resolved"}


def test_an_event_nobody_subscribes_to_queues_nothing(db):
    assert publish(db, "purchase_order.drafted", {"po": "PO-1"}) == 0


def test_an_unknown_event_name_is_a_programming_error(db):
    with db.uow() as uow, pytest.raises(ValueError, match="KNOWN_EVENTS"):
        webhooks.enqueue(uow.conn, "order.teleported", {}, NOW)


def test_a_receiver_answering_500_is_tried_again_after_its_backoff_and_then_delivered(db, receiver):
    subscribe(db, receiver.url, ["alert.opened"])
    publish(db, "alert.opened", {"alert_id": 1})
    receiver.answers = [500, 503]

    first = deliver(db)
    row = the_delivery(db)
    assert (first.retrying, row["status"], row["attempts"]) == (1, "pending", 1)
    assert row["next_attempt_at"] == NOW + timedelta(minutes=1)
    assert row["last_error"] == "HTTP 500: warehouse system busy"

    assert deliver(db, NOW + timedelta(seconds=59)).claimed == 0  # still waiting out its backoff
    assert deliver(db, NOW + timedelta(minutes=1)).retrying == 1
    assert the_delivery(db)["next_attempt_at"] == NOW + timedelta(minutes=6)  # then 5 minutes
    third = deliver(db, NOW + timedelta(minutes=6))

    row = the_delivery(db)
    assert (third.delivered, row["status"], row["attempts"], row["last_error"]) == (1, "delivered", 3, "")
    assert receiver.deliveries() == [row["id"]] * 3  # one id throughout: the receiver can dedupe on it


def test_after_the_last_attempt_the_delivery_is_failed_with_the_error_kept(db, receiver):
    subscribe(db, receiver.url, ["alert.opened"])
    publish(db, "alert.opened", {"alert_id": 1})
    receiver.answers = [502] * webhooks.MAX_ATTEMPTS
    at = NOW

    reports = []
    for wait in [*webhooks.RETRY_AFTER, None]:
        reports.append(deliver(db, at))
        at += wait or timedelta(0)

    assert [r.retrying for r in reports] == [1] * len(webhooks.RETRY_AFTER) + [0]
    assert reports[-1].failed == 1
    row = the_delivery(db)
    assert (row["status"], row["attempts"]) == ("failed", webhooks.MAX_ATTEMPTS)
    assert row["last_error"].startswith("HTTP 502")
    assert deliver(db, at + timedelta(days=7)).claimed == 0  # given up: never sent again by itself


def test_a_failed_delivery_can_be_redelivered_and_arrives_with_the_same_id(db, receiver):
    subscribe(db, receiver.url, ["alert.opened"])
    publish(db, "alert.opened", {"alert_id": 1})
    receiver.answers = [500, 500]
    deliver(db, max_attempts=2)
    deliver(db, NOW + timedelta(minutes=1), max_attempts=2)
    failed = the_delivery(db)
    assert failed["status"] == "failed"

    later = NOW + timedelta(days=1)
    view = webhooks.redeliver(db, SYSTEM, failed["id"], later)
    report = deliver(db, later)

    assert (view["status"], view["attempts"], view["next_attempt_at"]) == ("pending", 0, later)
    assert report.delivered == 1
    assert the_delivery(db)["status"] == "delivered"
    assert receiver.deliveries() == [failed["id"]] * 3


def test_an_unreachable_receiver_does_not_stop_the_others_in_the_batch(db, receiver):
    subscribe(db, closed_port_url(), ["alert.opened"])
    subscribe(db, receiver.url + "/ok", ["alert.opened"])
    publish(db, "alert.opened", {"alert_id": 1})

    report = deliver(db)

    assert (report.claimed, report.delivered, report.retrying) == (2, 1, 1)
    assert receiver.deliveries("/ok") != []
    with db.uow(write=False) as uow:
        errors = uow.conn.execute(select(webhook_deliveries.c.last_error).order_by(webhook_deliveries.c.id)).scalars()
        assert "ConnectError" in next(errors)


def test_an_event_in_a_rolled_back_unit_of_work_is_never_sent(db, receiver):
    subscribe(db, receiver.url, ["*"])

    with pytest.raises(RuntimeError), db.uow() as uow:
        assert webhooks.enqueue(uow.conn, "purchase_order.drafted", {"po": "PO-9"}, NOW) == 1
        raise RuntimeError("the purchase order could not be saved")

    assert deliver(db, NOW + timedelta(hours=1)).claimed == 0
    assert receiver.received == []


def test_deliveries_of_a_deactivated_subscription_are_closed_not_sent(db, receiver):
    gone = subscribe(db, receiver.url, ["*"])
    publish(db, "alert.opened", {"alert_id": 1})

    webhooks.deactivate(db, SYSTEM, gone, NOW)

    assert deliver(db).claimed == 0
    row = the_delivery(db)
    assert (row["status"], row["last_error"]) == ("failed", "the subscription was deactivated")


def test_a_worker_that_dies_after_claiming_leaves_the_delivery_to_be_sent_again_after_the_lease(db, receiver):
    subscribe(db, receiver.url, ["alert.opened"])
    publish(db, "alert.opened", {"alert_id": 1})
    with db.uow() as uow:  # what a worker does before it is killed mid-send
        webhook_repo.claim_due(uow.conn, now=NOW, lease_until=NOW + webhooks.CLAIM_LEASE, limit=10)
        uow.commit()

    assert deliver(db, NOW + timedelta(minutes=1)).claimed == 0
    report = deliver(db, NOW + webhooks.CLAIM_LEASE)

    assert report.delivered == 1 and the_delivery(db)["attempts"] == 2


def test_deliver_backlog_works_through_every_batch(db, receiver):
    subscribe(db, receiver.url, ["*"])
    for n in range(7):
        publish(db, "alert.opened", {"alert_id": n})

    report = webhooks.deliver_backlog(db, CIPHER, clock=lambda: NOW, limit=3)

    assert (report.claimed, report.delivered) == (7, 7)
    assert sorted(r.json["data"]["alert_id"] for r in receiver.received) == list(range(7))


@contextmanager
def slow_claims(db: Database, pause: float = 0.05) -> Iterator[None]:
    """Pause after each claim's SELECT, before its UPDATE: the window in which a second worker, without row locks,
    would read the same due rows and send them again."""

    def pause_after_claim(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "next_attempt_at <=" in statement:
            time.sleep(pause)

    event.listen(db.engine, "after_cursor_execute", pause_after_claim)
    try:
        yield
    finally:
        event.remove(db.engine, "after_cursor_execute", pause_after_claim)


def test_two_workers_at_once_send_each_delivery_exactly_once(db, receiver):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: there is no concurrent claim to race (SKIP LOCKED is PG's)")
    subscribe(db, receiver.url, ["*"])
    with db.uow() as uow:
        for n in range(40):
            webhooks.enqueue(uow.conn, "alert.opened", {"alert_id": n}, NOW)
        uow.commit()
    start = threading.Barrier(2)
    reports: list[webhooks.DeliveryReport] = []

    def worker() -> None:
        start.wait()
        reports.append(webhooks.deliver_backlog(db, CIPHER, clock=lambda: NOW, limit=5))

    with slow_claims(db):
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    sent = receiver.deliveries()
    assert len(sent) == len(set(sent)) == 40
    assert sum(r.delivered for r in reports) == 40
    assert all(r.claimed > 0 for r in reports), "both workers should have had a share"


def test_a_claim_in_progress_is_skipped_not_waited_for_on_postgresql(db, receiver):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: a second claim waits for the first instead of skipping its rows")
    subscribe(db, receiver.url, ["*"])
    for n in range(4):
        publish(db, "alert.opened", {"alert_id": n})
    reports: list[webhooks.DeliveryReport] = []

    with db.uow() as holding:  # another worker's claim, not yet committed
        taken = webhook_repo.claim_due(holding.conn, now=NOW, lease_until=NOW + webhooks.CLAIM_LEASE, limit=2)
        other = threading.Thread(target=lambda: reports.append(deliver(db)))
        other.start()
        other.join(timeout=5)
        finished_while_held = not other.is_alive()
        holding.commit()
    other.join(timeout=30)

    assert finished_while_held, "the second worker waited for the first one's rows instead of skipping them"
    assert reports[0].claimed == 2
    assert set(receiver.deliveries()).isdisjoint(row["id"] for row in taken)


def test_a_stale_worker_does_not_overwrite_the_outcome_of_a_newer_claim(db, receiver):
    subscribe(db, receiver.url, ["*"])
    publish(db, "alert.opened", {"alert_id": 1})
    delivery_id = the_delivery(db)["id"]
    with db.uow() as uow:  # a newer claim made the row's attempt 2 meanwhile
        uow.conn.execute(update(webhook_deliveries).values(attempts=2))
        webhook_repo.record_failures(
            uow.conn,
            [{"id": delivery_id, "attempts": 1, "status": "failed", "next_attempt_at": NOW, "last_error": "old"}],
        )
        uow.commit()

    row = the_delivery(db)
    assert (row["status"], row["last_error"]) == ("pending", "")


def test_a_secret_that_no_longer_decrypts_fails_its_own_delivery_only(db, receiver):
    subscribe(db, receiver.url + "/ok", ["alert.opened"])
    subscribe(db, receiver.url + "/rekeyed", ["alert.opened"])
    with db.uow() as uow:  # as if this one had been stored under another master key
        uow.conn.execute(
            update(webhook_subscriptions)
            .where(webhook_subscriptions.c.url.endswith("/rekeyed"))
            .values(secret=PiiCipher(b"x" * 32).encrypt(SECRET))
        )
        uow.commit()
    publish(db, "alert.opened", {"alert_id": 1})

    report = deliver(db)

    assert (report.delivered, report.retrying) == (1, 1)
    assert [r.path for r in receiver.received] == ["/ok"]
