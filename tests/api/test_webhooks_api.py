"""Webhooks through the API (SQLite and PostgreSQL): subscribing, listing, deactivating, looking at deliveries and
sending a failed one again; the secret never comes back, bad input is a problem-details 422, and only holders of
webhooks:manage get in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from presale_erp.adapters.webhook_sender import PostOutcome
from presale_erp.domain.access import Role
from presale_erp.services import webhooks
from tests.conftest import NOW

ADMIN, VIEWER, WAREHOUSE = Role.ADMIN, Role.VIEWER, Role.WAREHOUSE
SECRET = "a-secret-the-3pl-keeps"
HOOK = {"url": "https://3pl.example.com/hooks", "events": ["alert.opened"], "secret": SECRET}


class Refusing:
    """A receiver that always answers 503, without a network."""

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostOutcome:
        return PostOutcome(503, "HTTP 503: down for maintenance")


def test_a_subscription_is_made_listed_and_deactivated_and_its_secret_never_shown(client: TestClient, as_role):
    made = client.post("/api/v1/webhooks", json=HOOK, headers=as_role(ADMIN))
    assert made.status_code == 201, made.text
    hook = made.json()
    assert (hook["url"], hook["events"], hook["active"]) == (HOOK["url"], ["alert.opened"], True)

    listed = client.get("/api/v1/webhooks", headers=as_role(ADMIN))
    gone = client.delete(f"/api/v1/webhooks/{hook['id']}", headers=as_role(ADMIN))
    after = client.get("/api/v1/webhooks", headers=as_role(ADMIN)).json()

    assert [h["id"] for h in listed.json()] == [hook["id"]]
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert [h["active"] for h in after] == [False]
    for text in (made.text, listed.text, gone.text):
        assert SECRET not in text and "secret" not in text


def test_every_known_event_is_listed_for_subscribers(client: TestClient, as_role):
    listed = client.get("/api/v1/webhooks/events", headers=as_role(ADMIN))

    assert listed.status_code == 200 and set(listed.json()) == set(webhooks.KNOWN_EVENTS)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"url": "ftp://3pl.example.com/hooks"}, "http"),
        ({"url": "not a url"}, "http"),
        ({"url": "https://user:pw@3pl.example.com/"}, "password"),
        ({"events": ["order.teleported"]}, "Unknown event"),
        ({"events": ["*", "alert.opened"]}, "alone"),
        ({"events": []}, "events"),
        ({"secret": "short"}, "secret"),
    ],
)
def test_bad_subscriptions_are_a_422_problem_saying_what_is_wrong(client: TestClient, as_role, change, words):
    refused = client.post("/api/v1/webhooks", json=HOOK | change, headers=as_role(ADMIN))

    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert words in refused.json()["detail"]


def test_staff_without_the_webhooks_permission_are_refused_with_403(client: TestClient, as_role):
    for role in (VIEWER, WAREHOUSE):
        assert client.post("/api/v1/webhooks", json=HOOK, headers=as_role(role)).status_code == 403
        assert client.get("/api/v1/webhooks", headers=as_role(role)).status_code == 403
        assert client.get("/api/v1/webhooks/deliveries", headers=as_role(role)).status_code == 403
        assert client.post("/api/v1/webhooks/deliveries/1/redeliver", headers=as_role(role)).status_code == 403


def test_signed_out_callers_are_refused_with_401(client: TestClient):
    assert client.get("/api/v1/webhooks").status_code == 401


def test_deactivating_a_subscription_that_does_not_exist_is_a_404(client: TestClient, as_role):
    missing = client.delete("/api/v1/webhooks/999", headers=as_role(ADMIN))

    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")


def test_a_failed_delivery_is_listed_with_its_error_and_can_be_redelivered(client: TestClient, as_role, db):
    client.post("/api/v1/webhooks", json=HOOK, headers=as_role(ADMIN))
    with db.uow() as uow:
        webhooks.enqueue(uow.conn, "alert.opened", {"alert_id": 3}, NOW)
        uow.commit()
    cipher = client.app.state.cipher
    webhooks.deliver_due(db, cipher, NOW, sender=Refusing(), max_attempts=2)
    webhooks.deliver_due(db, cipher, NOW + timedelta(minutes=1), sender=Refusing(), max_attempts=2)

    failed = client.get("/api/v1/webhooks/deliveries", params={"status": "failed"}, headers=as_role(ADMIN))
    pending = client.get("/api/v1/webhooks/deliveries", params={"status": "pending"}, headers=as_role(ADMIN))
    [delivery] = failed.json()
    again = client.post(f"/api/v1/webhooks/deliveries/{delivery['id']}/redeliver", headers=as_role(ADMIN))

    assert pending.json() == []
    assert (delivery["event"], delivery["attempts"], delivery["payload"]) == ("alert.opened", 2, {"alert_id": 3})
    assert delivery["last_error"] == "HTTP 503: down for maintenance" and delivery["url"] == HOOK["url"]
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["attempts"]) == ("pending", 0)


def test_an_unknown_delivery_status_filter_is_a_422(client: TestClient, as_role):
    refused = client.get("/api/v1/webhooks/deliveries", params={"status": "lost"}, headers=as_role(ADMIN))

    assert refused.status_code == 422


def test_redelivering_a_delivery_that_does_not_exist_is_a_404(client: TestClient, as_role):
    assert client.post("/api/v1/webhooks/deliveries/424242/redeliver", headers=as_role(ADMIN)).status_code == 404
