"""Payments, shipment confirmation and after-sales over HTTP: the story's figures, permissions, and bad input as
problem details (never a 500)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import Role
from tests import finance_builders as fb
from tests.conftest import NOW

FINANCE, WAREHOUSE, CS, VIEWER = Role.FINANCE, Role.WAREHOUSE, Role.CUSTOMER_SERVICE, Role.VIEWER


def test_ship_refund_and_read_the_payments_of_an_order_over_http(client: TestClient, as_role, db):
    [parcel] = fb.presale_story_allocated(db)
    order_id = fb.order_id(db, "5001")
    since = (NOW - timedelta(days=30)).isoformat()

    derived = client.post("/api/v1/finance/payments/from-orders", json={"since": since}, headers=as_role(FINANCE))
    shipped = client.post(
        "/api/v1/fulfilment/parcels/ship", json={"codes": [parcel["code"]]}, headers=as_role(WAREHOUSE)
    )
    opened = client.post(
        "/api/v1/aftersales/cases",
        json={
            "case_key": "AS-1",
            "order_id": order_id,
            "kind": "refund_only",
            "lines": [{"line_no": 1, "amount": "30.00"}],
        },
        headers=as_role(CS),
    )
    case_id = opened.json()["id"]
    approved = client.post(f"/api/v1/aftersales/cases/{case_id}/approve", headers=as_role(CS))
    refunded = client.post(
        f"/api/v1/aftersales/cases/{case_id}/refund", json={"refund_ref": "RF-1"}, headers=as_role(CS)
    )
    paid = client.get(f"/api/v1/finance/orders/{order_id}/payments", headers=as_role(FINANCE))

    assert (derived.status_code, derived.json()) == (200, {"written": 2})
    assert shipped.status_code == 200 and shipped.json()["shipped"] == [parcel["code"]]
    assert opened.status_code == 201 and opened.json()["refund_amount"] == "30.00"
    assert approved.json()["state"] == "approved" and refunded.json()["state"] == "refunded"
    body = paid.json()
    assert (body["paid"], body["refunded"], body["net"]) == ("199.00", "30.00", "169.00")
    assert [e["kind"] for e in body["entries"]] == ["deposit", "balance", "refund"]


def test_an_illegal_step_is_a_409_problem_naming_the_states(client: TestClient, as_role, db):
    [parcel] = fb.presale_story_allocated(db)
    client.post("/api/v1/fulfilment/parcels/ship", json={"codes": [parcel["code"]]}, headers=as_role(WAREHOUSE))
    opened = client.post(
        "/api/v1/aftersales/cases",
        json={
            "case_key": "AS-1",
            "order_id": fb.order_id(db, "5001"),
            "kind": "return_and_refund",
            "lines": [{"line_no": 1, "quantity": 1}],
        },
        headers=as_role(CS),
    )

    refused = client.post(f"/api/v1/aftersales/cases/{opened.json()['id']}/refund", json={}, headers=as_role(CS))

    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert (refused.json()["from_state"], refused.json()["to_state"]) == ("requested", "refunded")
    case_id = opened.json()["id"]
    assert client.post(f"/api/v1/aftersales/cases/{case_id}/approve", headers=as_role(CS)).json()["state"] == (
        "awaiting_return"
    )
    back = client.post(
        f"/api/v1/aftersales/cases/{case_id}/return",
        json={"warehouse": "HZ", "bin": "A-01"},
        headers=as_role(WAREHOUSE),
    )
    assert (back.status_code, back.json()["state"], back.json()["return_bin"]) == (200, "returned", "A-01")
    listed = client.get("/api/v1/aftersales/cases", params={"order_id": opened.json()["order_id"]}, headers=as_role(CS))
    assert [c["state"] for c in listed.json()] == ["returned"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "/api/v1/fulfilment/parcels/ship", {}, 422),
        ("post", "/api/v1/fulfilment/parcels/ship", {"codes": [""]}, 422),
        ("post", "/api/v1/finance/payments/from-orders", {"since": "2026-11-01T00:00:00"}, 422),  # no zone
        ("get", "/api/v1/finance/orders/0/payments", None, 422),
        ("get", "/api/v1/finance/orders/999/payments", None, 404),
        ("post", "/api/v1/aftersales/cases", {"case_key": "X", "order_id": 999, "kind": "refund_only"}, 404),
        ("post", "/api/v1/aftersales/cases", {"case_key": "X", "order_id": 1, "kind": "swap"}, 422),
        ("post", "/api/v1/aftersales/cases/999/approve", None, 404),
        ("post", "/api/v1/aftersales/cases/1/return", {"warehouse": "HZ"}, 422),
        ("put", "/api/v1/aftersales/deposit-policy/NOPE", {"deposit_policy": "keep"}, 404),
        ("put", "/api/v1/aftersales/deposit-policy/NOPE", {"deposit_policy": "sometimes"}, 422),
    ],
)
def test_bad_input_is_a_problem_not_a_500(client: TestClient, as_role, method, path, body, status):
    kwargs = {"json": body} if body is not None else {}

    response = getattr(client, method)(path, headers=as_role(Role.ADMIN), **kwargs)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("amount", "status"),
    [("1.999", 422), ("-1.00", 422), ("200.00", 422)],
)
def test_a_refund_beyond_the_line_or_below_the_fen_is_refused(client: TestClient, as_role, db, amount, status):
    [parcel] = fb.presale_story_allocated(db)
    client.post("/api/v1/fulfilment/parcels/ship", json={"codes": [parcel["code"]]}, headers=as_role(WAREHOUSE))

    refused = client.post(
        "/api/v1/aftersales/cases",
        json={
            "case_key": "AS-1",
            "order_id": fb.order_id(db, "5001"),
            "kind": "refund_only",
            "lines": [{"line_no": 1, "amount": amount}],
        },
        headers=as_role(CS),
    )

    assert refused.status_code == status, refused.text
    assert "detail" in refused.json()


def test_who_may_do_what(client: TestClient, as_role):
    assert (
        client.post("/api/v1/fulfilment/parcels/ship", json={"codes": ["P1"]}, headers=as_role(CS)).status_code == 403
    )
    assert client.get("/api/v1/finance/orders/1/payments", headers=as_role(VIEWER)).status_code == 403
    assert client.post("/api/v1/aftersales/cases/1/approve", headers=as_role(VIEWER)).status_code == 403
    denied = client.post("/api/v1/finance/payments/from-orders", json={"since": NOW.isoformat()}, headers=as_role(CS))
    assert denied.status_code == 403


def test_a_fee_recorded_by_hand_is_created_once_and_its_key_is_not_reused(client: TestClient, as_role, db):
    fb.shop_and_stock(db)
    fee = {
        "entry_key": "fee:2026-11-01:tech",
        "shop": "TM-1",
        "kind": "platform_fee",
        "amount": "-12.34",
        "channel": "alipay",
        "external_ref": "20261101200040011100",
        "occurred_at": NOW.isoformat(),
        "note": "技术服务费",
    }

    first = client.post("/api/v1/finance/payments", json=fee, headers=as_role(FINANCE))
    again = client.post("/api/v1/finance/payments", json=fee, headers=as_role(FINANCE))
    other = client.post("/api/v1/finance/payments", json=fee | {"amount": "-12.35"}, headers=as_role(FINANCE))
    wrong_sign = client.post(
        "/api/v1/finance/payments", json=fee | {"entry_key": "k2", "amount": "12.34"}, headers=as_role(FINANCE)
    )

    assert (first.status_code, first.json()["created"]) == (201, True)
    assert (again.status_code, again.json()["created"]) == (200, False)
    assert other.status_code == 409 and wrong_sign.status_code == 422
