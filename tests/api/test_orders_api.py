"""Orders through the API: pushed intake, the lists staff work from, masked PII, dead letters (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
from decimal import Decimal

from fastapi.testclient import TestClient

from presale_erp.domain.access import SYSTEM, Role
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.services import catalog
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import sample
from tests.conftest import NOW

CS, VIEWER, ADMIN = Role.CUSTOMER_SERVICE, Role.VIEWER, Role.ADMIN


def _shop(db) -> None:
    catalog.create_shop(
        db,
        SYSTEM,
        code="DY-1",
        name="抖店",
        platform=Platform.DOUYIN,
        platform_shop_id="4410923",
        stock_lock_policy=StockLockPolicy.ON_ORDER,
        now=NOW,
    )


def test_pushed_orders_are_stored_and_the_unreadable_kept(client: TestClient, as_role, db):
    _shop(db)
    body = [
        payloads.douyin(sample("6920000000000000001", stage="deposit", presale="deposit", deposit=Decimal("50.00"))),
        payloads.douyin(sample("6920000000000000002")) | {"pay_amount": "199.00"},
    ]

    report = client.post("/api/v1/shops/DY-1/orders", content=json.dumps(body), headers=as_role(CS))

    assert report.status_code == 200, report.text
    assert {k: report.json()[k] for k in ("received", "created", "dead_lettered")} == {
        "received": 2,
        "created": 1,
        "dead_lettered": 1,
    }
    waiting = client.get("/api/v1/orders", params={"awaiting_balance": True}, headers=as_role(CS)).json()["items"]
    assert [(o["platform_order_id"], o["deposit_amount"], o["balance_amount"]) for o in waiting] == [
        ("6920000000000000001", "50.00", "845.00")
    ]
    letters = client.get("/api/v1/dead-letters", headers=as_role(CS)).json()["items"]
    assert letters[0]["reason"] == "pay_amount should be whole fen, not '199.00'"


def test_a_body_that_is_not_json_becomes_a_dead_letter_not_an_error(client: TestClient, as_role, db):
    _shop(db)

    report = client.post("/api/v1/shops/DY-1/orders", content=b"\x00\xffnot json", headers=as_role(CS))

    assert report.status_code == 200
    assert report.json()["dead_lettered"] == 1


def test_buyers_are_masked_for_staff_without_pii_access(client: TestClient, as_role, db):
    _shop(db)
    client.post(
        "/api/v1/shops/DY-1/orders",
        json=payloads.douyin(sample("6920000000000000001", phone="13912345678", name="王小明")),
        headers=as_role(CS),
    )

    seen_by_cs = client.get("/api/v1/orders/DY-1/6920000000000000001", headers=as_role(CS)).json()
    seen_by_viewer = client.get("/api/v1/orders/DY-1/6920000000000000001", headers=as_role(VIEWER)).json()

    assert (seen_by_cs["buyer"]["name"], seen_by_cs["buyer"]["phone"]) == ("王小明", "13912345678")
    assert (seen_by_viewer["buyer"]["name"], seen_by_viewer["buyer"]["phone"]) == ("王**", "139****5678")
    assert [e["to_status"] for e in seen_by_cs["events"]] == ["paid"]
    assert len(seen_by_cs["lines"]) == 2


def test_a_dead_letter_fixed_by_staff_becomes_an_order(client: TestClient, as_role, db):
    _shop(db)
    good = payloads.douyin(sample("6920000000000000003"))
    client.post("/api/v1/shops/DY-1/orders", json=good | {"update_time": "soon"}, headers=as_role(CS))
    letter = client.get("/api/v1/dead-letters", headers=as_role(CS)).json()["items"][0]

    retried = client.post(f"/api/v1/dead-letters/{letter['id']}/retry", json={"payload": good}, headers=as_role(CS))

    assert retried.json() == {
        "id": letter["id"],
        "status": "resolved",
        "reason": letter["reason"],
        "order": "6920000000000000003",
    }
    assert client.get("/api/v1/orders/DY-1/6920000000000000003", headers=as_role(CS)).status_code == 200
    assert client.get("/api/v1/dead-letters", headers=as_role(CS)).json()["items"] == []


def test_fetch_settings_never_show_the_secrets(client: TestClient, as_role, db):
    _shop(db)

    saved = client.put(
        "/api/v1/shops/DY-1/fetch",
        json={
            "base_url": "http://127.0.0.1:9/douyin",
            "app_key": "k",
            "app_secret": "very-secret",
            "access_token": "tok-123",
        },
        headers=as_role(ADMIN),
    )

    assert saved.status_code == 200, saved.text
    assert "very-secret" not in saved.text and "tok-123" not in saved.text
    assert saved.json()["watermark"] is None
