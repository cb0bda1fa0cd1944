"""The supplier portal over HTTP: a supplier's key confirms, reports and ships its own purchase orders, and is
refused everything else: another supplier's orders (404, as if they did not exist) and every merchant route (403)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import SYSTEM, Role
from presale_erp.services import purchase_orders, purchasing
from presale_erp.services.purchase_orders import NewLine, NewPurchaseOrder
from tests import builders
from tests.conftest import NOW

TEA = "TEA-250G"


@pytest.fixture
def two_suppliers(db, client: TestClient, as_role) -> dict[str, str]:
    """Two suppliers with a sent purchase order each, and a key for the first, made by a purchaser."""
    builders.stocked(db, 0)
    codes = {}
    for supplier in ("ANJI-TEA", "WESTLAKE-TEA"):
        purchasing.create_supplier(db, SYSTEM, purchasing.NewSupplier(supplier, supplier), now=NOW)
        new = NewPurchaseOrder(supplier, "HZ", [NewLine(TEA, 60, Decimal("80.00"))])
        codes[supplier] = purchase_orders.create(db, SYSTEM, new, now=NOW)["code"]
        purchase_orders.send(db, SYSTEM, codes[supplier], now=NOW)
    response = client.post(
        "/api/v1/suppliers/ANJI-TEA/api-keys", json={"name": "安吉茶园"}, headers=as_role(Role.PURCHASER)
    )
    assert response.status_code == 201, response.text
    assert response.json()["scopes"] == ["supplier:portal"]
    return {"key": response.json()["key"], "mine": codes["ANJI-TEA"], "theirs": codes["WESTLAKE-TEA"]}


def test_a_supplier_confirms_reports_and_ships_its_own_order(client: TestClient, two_suppliers, as_role):
    key = {"X-API-Key": two_suppliers["key"]}
    mine = two_suppliers["mine"]

    listed = client.get("/api/v1/supplier/purchase-orders", headers=key)
    assert [o["code"] for o in listed.json()] == [mine]
    confirmed = client.post(
        f"/api/v1/supplier/purchase-orders/{mine}/confirm", json={"promised": {"1": "2026-11-20"}}, headers=key
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "confirmed" and confirmed.json()["lines"][0]["promised_on"] == "2026-11-20"
    progress = client.post(
        f"/api/v1/supplier/purchase-orders/{mine}/milestones", json={"milestone": "in_production"}, headers=key
    )
    assert progress.status_code == 200, progress.text
    asn = {"code": "ANJI-ASN-1", "shipped_at": "2026-11-10T02:00:00Z", "expected_on": "2026-11-12",
           "lines": {"1": 60}, "carrier": "SF", "tracking_no": "SF1001"}  # fmt: skip
    shipped = client.post(f"/api/v1/supplier/purchase-orders/{mine}/asns", json=asn, headers=key)
    assert shipped.status_code == 201, shipped.text
    assert "risk" not in shipped.json()["lines"][0]  # the merchant's risk notes stay with the merchant

    # The merchant sees every update, timestamped, with who made it.
    history = client.get(f"/api/v1/purchase-orders/{mine}/history", headers=as_role(Role.VIEWER)).json()
    assert [(e["kind"], e["actor"]) for e in history] == [
        ("sent", "system:jobs"),
        ("confirmed", "api_key:安吉茶园"),
        ("rescheduled", "api_key:安吉茶园"),
        ("milestone", "api_key:安吉茶园"),
        ("asn", "api_key:安吉茶园"),
    ]


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("post", "/confirm", {}),
        ("post", "/milestones", {"milestone": "shipped"}),
        ("post", "/asns", {"code": "X-1", "shipped_at": "2026-11-10T02:00:00Z", "expected_on": "2026-11-12",
                           "lines": {"1": 1}}),
    ],
)  # fmt: skip
def test_another_suppliers_order_does_not_exist_for_the_key(client: TestClient, two_suppliers, method, suffix, body):
    theirs = two_suppliers["theirs"]
    response = client.request(
        method, f"/api/v1/supplier/purchase-orders/{theirs}{suffix}", json=body,
        headers={"X-API-Key": two_suppliers["key"]},
    )  # fmt: skip
    assert response.status_code == 404, response.text
    assert theirs in response.json()["detail"] and "WESTLAKE" not in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orders",
        "/api/v1/stock",
        "/api/v1/movements",
        "/api/v1/purchase-orders",
        "/api/v1/purchase-orders/{mine}",
        "/api/v1/purchase-orders/{mine}/lines",
        "/api/v1/planning/alerts",
        "/api/v1/pre-orders",
    ],
)
def test_a_supplier_key_reads_no_merchant_data(client: TestClient, two_suppliers, path):
    response = client.get(path.format(mine=two_suppliers["mine"]), headers={"X-API-Key": two_suppliers["key"]})
    assert response.status_code == 403, response.text


def test_only_a_suppliers_own_key_may_use_the_portal(client: TestClient, two_suppliers, as_role):
    # Even an administrator is not a supplier: the portal would not know whose orders to show.
    assert client.get("/api/v1/supplier/purchase-orders", headers=as_role(Role.ADMIN)).status_code == 403
    # The portal scope cannot be put on an ordinary key, and only purchasers give suppliers keys.
    ordinary = client.post(
        "/api/v1/api-keys", json={"name": "sneaky", "scopes": ["supplier:portal"]}, headers=as_role(Role.ADMIN)
    )
    assert ordinary.status_code == 422, ordinary.text
    by_viewer = client.post("/api/v1/suppliers/ANJI-TEA/api-keys", json={}, headers=as_role(Role.VIEWER))
    assert by_viewer.status_code == 403


def test_the_merchant_side_creates_imports_and_checks_purchase_orders(client: TestClient, two_suppliers, as_role):
    import io

    from openpyxl import Workbook

    buyer = as_role(Role.PURCHASER)
    made = client.post(
        "/api/v1/purchase-orders",
        json={"supplier": "ANJI-TEA", "warehouse": "HZ", "lines": [{"sku": TEA, "quantity": 5, "unit_cost": "80"}]},
        headers=buyer,
    )
    assert made.status_code == 201, made.text
    assert (made.json()["status"], made.json()["total"]) == ("draft", "400.00")
    book = Workbook()
    for row in (["供应商", "仓库", "商家编码", "数量", "单价"], ["ANJI-TEA", "HZ", TEA, 7, "80.50"]):
        book.active.append(row)
    sheet = io.BytesIO()
    book.save(sheet)
    imported = client.post("/api/v1/purchase-orders/import", content=sheet.getvalue(), headers=buyer)
    assert imported.status_code == 201, imported.text
    assert imported.json()[0]["total"] == "563.50"
    bad = client.post("/api/v1/purchase-orders/import", content=b"not a sheet", headers=buyer)
    assert bad.status_code == 422 and "xlsx" in bad.json()["detail"]

    checked = client.post("/api/v1/purchase-orders/risk-check", headers=buyer)
    assert checked.status_code == 200 and checked.json()["checked"] >= 2
    refused = client.post(f"/api/v1/purchase-orders/{two_suppliers['mine']}/send", headers=buyer)
    assert refused.status_code == 409 and refused.json()["from_state"] == "sent"
    score = client.get("/api/v1/suppliers/ANJI-TEA/reliability", headers=as_role(Role.VIEWER))
    assert score.status_code == 200 and score.json()["score"] is None
