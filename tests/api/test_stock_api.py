"""The stock API end to end, as staff and other systems use it (each test on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import Role

ADMIN, CS, WAREHOUSE, PURCHASER, FINANCE = (
    Role.ADMIN,
    Role.CUSTOMER_SERVICE,
    Role.WAREHOUSE,
    Role.PURCHASER,
    Role.FINANCE,
)


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json() if response.content else {}


@pytest.fixture
def catalog(client: TestClient, as_role) -> TestClient:
    """A purchaser set up the goods, an admin the shop, the warehouse its bins; 30 units arrived."""
    ok(
        client.post(
            "/api/v1/products",
            json={"code": "TEA-LJ", "name": "明前龙井", "category": "茶叶"},
            headers=as_role(PURCHASER),
        ),
        201,
    )
    ok(
        client.post(
            "/api/v1/skus",
            json={
                "code": "TEA-LJ-250G",
                "product": "TEA-LJ",
                "name": "龙井 250g",
                "barcode": "6901234567892",
                "weight_grams": 420,
                "presale_capable": True,
                "unit_cost": "168.00",
                "list_price": "398.00",
            },
            headers=as_role(PURCHASER),
        ),
        201,
    )
    ok(
        client.post(
            "/api/v1/shops",
            json={"code": "TM-1", "name": "天猫旗舰店", "platform": "tmall", "platform_shop_id": "61002331"},
            headers=as_role(ADMIN),
        ),
        201,
    )
    ok(
        client.post(
            "/api/v1/warehouses",
            json={"code": "HZ", "name": "杭州主仓", "province": "浙江省"},
            headers=as_role(WAREHOUSE),
        ),
        201,
    )
    ok(
        client.post("/api/v1/warehouses/HZ/zones", json={"code": "A", "name": "存储区"}, headers=as_role(WAREHOUSE)),
        201,
    )
    ok(
        client.post(
            "/api/v1/warehouses/HZ/bins",
            json={"zone": "A", "codes": ["A-01-01", "A-01-02"]},
            headers=as_role(WAREHOUSE),
        ),
        201,
    )
    ok(
        client.post(
            "/api/v1/movements",
            json={
                "id": "rcv-1",
                "kind": "receipt",
                "sku": "TEA-LJ-250G",
                "warehouse": "HZ",
                "quantity": 30,
                "bin": "A-01-01",
                "reference": "PO-1",
            },
            headers=as_role(WAREHOUSE),
        ),
        201,
    )
    return client


def test_stock_levels_come_back_with_every_counter(catalog: TestClient, as_role):
    page = ok(catalog.get("/api/v1/stock", params={"sku": "TEA-LJ-250G"}, headers=as_role(Role.VIEWER)))

    assert page["total"] == 1
    item = page["items"][0]
    assert {
        k: item[k] for k in ("sku", "warehouse", "on_hand", "reserved", "available_to_sell", "available_to_ship")
    } == {
        "sku": "TEA-LJ-250G",
        "warehouse": "HZ",
        "on_hand": 30,
        "reserved": 0,
        "available_to_sell": 30,
        "available_to_ship": 30,
    }


def test_a_customer_service_lock_and_a_warehouse_shipment(catalog: TestClient, as_role):
    reserved = ok(
        catalog.post(
            "/api/v1/reservations",
            json={
                "shop": "TM-1",
                "order_ref": "4001",
                "lines": [
                    {
                        "id": "TM-1:4001:1",
                        "sku": "TEA-LJ-250G",
                        "warehouse": "HZ",
                        "quantity": 2,
                        "stage": "awaiting_shipment",
                    }
                ],
            },
            headers=as_role(CS),
        ),
        201,
    )
    shipped = ok(
        catalog.post(
            "/api/v1/reservations/TM-1:4001:1/ship",
            json={"movement_id": "ship-4001", "bin": "A-01-01", "reference": "SF1001"},
            headers=as_role(WAREHOUSE),
        ),
        201,
    )

    assert reserved["reservations"][0]["status"] == "pending"
    assert shipped["lines"] == [
        {"sku": "TEA-LJ-250G", "warehouse": "HZ", "bin": "A-01-01", "bucket": "on_hand", "quantity": -2}
    ]
    position = ok(catalog.get("/api/v1/stock/TEA-LJ-250G/HZ", headers=as_role(CS)))
    assert (position["on_hand"], position["reserved"], position["bins"][0]["on_hand"]) == (28, 0, 28)
    assert ok(catalog.get("/api/v1/ledger/check", headers=as_role(CS))) == []


def test_retrying_a_post_returns_200_and_changes_nothing(catalog: TestClient, as_role):
    body = {
        "id": "rcv-1",
        "kind": "receipt",
        "sku": "TEA-LJ-250G",
        "warehouse": "HZ",
        "quantity": 30,
        "bin": "A-01-01",
        "reference": "PO-1",
    }

    again = ok(catalog.post("/api/v1/movements", json=body, headers=as_role(WAREHOUSE)), 200)

    assert again["replayed"] is True
    assert ok(catalog.get("/api/v1/stock/TEA-LJ-250G/HZ", headers=as_role(WAREHOUSE)))["on_hand"] == 30


def test_low_stock_filter_shows_positions_at_or_below_their_threshold(catalog: TestClient, as_role):
    assert ok(catalog.get("/api/v1/stock", params={"low_stock": True}, headers=as_role(FINANCE)))["total"] == 0

    ok(
        catalog.put(
            "/api/v1/stock/TEA-LJ-250G/HZ/low-stock-threshold",
            json={"threshold": 30},
            headers=as_role(WAREHOUSE),
        )
    )

    low = ok(catalog.get("/api/v1/stock", params={"low_stock": True}, headers=as_role(FINANCE)))
    assert [(i["sku"], i["is_low"]) for i in low["items"]] == [("TEA-LJ-250G", True)]


def test_the_movement_ledger_pages_newest_first_with_a_cursor(catalog: TestClient, as_role):
    for n in range(5):
        ok(
            catalog.post(
                "/api/v1/movements",
                json={
                    "id": f"adj-{n}",
                    "kind": "adjustment",
                    "sku": "TEA-LJ-250G",
                    "warehouse": "HZ",
                    "quantity": 1,
                    "bin": "A-01-02",
                    "reason": "found",
                },
                headers=as_role(WAREHOUSE),
            ),
            201,
        )
    first = ok(catalog.get("/api/v1/movements", params={"limit": 4}, headers=as_role(FINANCE)))
    second = ok(
        catalog.get("/api/v1/movements", params={"limit": 4, "cursor": first["next_cursor"]}, headers=as_role(FINANCE))
    )

    ids = [m["request_id"] for m in first["items"] + second["items"]]
    assert ids == ["adj-4", "adj-3", "adj-2", "adj-1", "adj-0", "rcv-1"]
    assert second["next_cursor"] is None
    assert {m["actor"] for m in first["items"]} == {"user:warehouse"}


def test_a_3pl_system_works_with_a_scoped_api_key_and_is_named_in_the_ledger(catalog: TestClient, as_role):
    key = ok(
        catalog.post(
            "/api/v1/api-keys",
            json={"name": "3pl-yuncang", "scopes": ["stock:read", "stock:move"]},
            headers=as_role(ADMIN),
        ),
        201,
    )["key"]
    third_party = {"X-API-Key": key}

    ok(
        catalog.post(
            "/api/v1/movements",
            json={
                "id": "3pl-rcv-1",
                "kind": "receipt",
                "sku": "TEA-LJ-250G",
                "warehouse": "HZ",
                "quantity": 5,
                "bin": "A-01-02",
            },
            headers=third_party,
        ),
        201,
    )
    refused = catalog.post(
        "/api/v1/reservations",
        json={"lines": [{"id": "x", "sku": "TEA-LJ-250G", "warehouse": "HZ", "quantity": 1}]},
        headers=third_party,
    )

    assert refused.status_code == 403
    newest = ok(catalog.get("/api/v1/movements", params={"limit": 1}, headers=third_party))["items"][0]
    assert newest["actor"] == "api_key:3pl-yuncang"


def test_a_revoked_api_key_and_a_signed_out_token_stop_working(catalog: TestClient, as_role):
    as_role(Role.VIEWER)
    created = ok(
        catalog.post("/api/v1/api-keys", json={"name": "old", "scopes": ["stock:read"]}, headers=as_role(ADMIN)),
        201,
    )
    ok(catalog.delete(f"/api/v1/api-keys/{created['prefix']}", headers=as_role(ADMIN)), 204)
    login = ok(catalog.post("/api/v1/auth/login", json={"username": "viewer", "password": "correct-horse-battery"}))
    token = {"Authorization": f"Bearer {login['access_token']}"}
    ok(catalog.post("/api/v1/auth/logout", headers=token), 204)

    assert catalog.get("/api/v1/stock", headers={"X-API-Key": created["key"]}).status_code == 401
    assert catalog.get("/api/v1/stock", headers=token).status_code == 401


def test_an_api_key_cannot_be_given_more_than_its_creator_holds(catalog: TestClient, as_role):
    response = catalog.post(
        "/api/v1/api-keys", json={"name": "x", "scopes": ["stock:nonsense"]}, headers=as_role(ADMIN)
    )

    assert response.status_code == 422
    assert "Unknown scope" in response.json()["detail"]


def test_the_audit_log_shows_who_did_what(catalog: TestClient, as_role):
    page = ok(catalog.get("/api/v1/audit-log", params={"entity": "movement"}, headers=as_role(FINANCE)))

    assert [(e["actor"], e["action"], e["entity_id"]) for e in page["items"]] == [
        ("user:warehouse", "movement.receipt", "rcv-1")
    ]


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(catalog: TestClient, as_role):
    as_role(ADMIN)
    for username in ("admin", "nobody"):
        response = catalog.post("/api/v1/auth/login", json={"username": username, "password": "nope-nope"})
        assert response.status_code == 401
        assert response.json()["detail"] == "Wrong username or password."


def test_a_presale_campaign_through_the_api(catalog: TestClient, as_role):
    campaign = {
        "code": "D11",
        "name": "双11 预售",
        "mode": "deposit",
        "shop": "TM-1",
        "deposit_starts_at": "2026-10-20T20:00:00+08:00",
        "deposit_ends_at": "2026-10-31T23:59:59+08:00",
        "balance_starts_at": "2026-11-01T00:00:00+08:00",
        "balance_ends_at": "2026-11-03T23:59:59+08:00",
        "ships_from": "2026-11-05T00:00:00+08:00",
        "skus": [
            {
                "sku": "TEA-LJ-250G",
                "warehouse": "HZ",
                "presale_quota": 100,
                "price": "398.00",
                "deposit": "50.00",
            }
        ],
    }
    ok(catalog.post("/api/v1/presale-campaigns", json=campaign, headers=as_role(PURCHASER)), 201)
    opened = ok(catalog.post("/api/v1/presale-campaigns/D11/open", headers=as_role(PURCHASER)))

    position = ok(catalog.get("/api/v1/stock/TEA-LJ-250G/HZ", headers=as_role(CS)))
    assert opened["status"] == "open"
    assert (position["presale_quota"], position["available_to_sell"]) == (100, 130)
    assert opened["skus"][0]["deposit"] == "50.00"
