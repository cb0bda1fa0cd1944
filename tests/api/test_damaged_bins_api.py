"""Non-sellable bins over HTTP (残次品区): staff set up a damaged bin, goods returned damaged go into it through
the ledger, stock shows them as damaged apart from what can be sold, and a bin holding goods keeps its kind."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import Role
from tests import builders

BINS = "/api/v1/warehouses/HZ/bins"


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def depot(client: TestClient, as_role) -> TestClient:
    """Warehouse HZ (zone A, bins A-01, A-02), a defective zone X, SKU TEA-250G with 10 units in A-01."""
    db = client.app.state.db
    builders.stocked(db, 10)
    zone = {"code": "X", "name": "残次品区", "kind": "defective"}
    ok(client.post("/api/v1/warehouses/HZ/zones", json=zone, headers=as_role(Role.ADMIN)), 201)
    return client


@pytest.mark.parametrize(
    ("zone", "sellable", "expected"),
    [("X", None, False), ("A", False, False), ("X", True, True), ("A", None, True)],
    ids=["defective-zone-default", "marked-in-storage-zone", "marked-sellable-in-defective-zone", "storage-default"],
)
def test_a_new_bins_sellability_follows_its_zone_unless_given(depot, as_role, zone, sellable, expected):
    body = {"zone": zone, "codes": ["N-01"], **({} if sellable is None else {"sellable": sellable})}

    made = ok(depot.post(BINS, json=body, headers=as_role(Role.ADMIN)), 201)

    assert made == [{"code": "N-01", "zone": zone, "sellable": expected}]
    listed = ok(depot.get(BINS, headers=as_role(Role.VIEWER)))["items"]
    assert {b["code"]: b["sellable"] for b in listed}["N-01"] is expected


def test_a_return_into_the_damaged_bin_is_damaged_stock_and_the_bin_keeps_its_kind(depot, as_role):
    ok(depot.post(BINS, json={"zone": "X", "codes": ["X-01"]}, headers=as_role(Role.ADMIN)), 201)
    movement = {"id": "ret-1", "kind": "return_receipt", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 3}

    posted = ok(depot.post("/api/v1/movements", json=movement | {"bin": "X-01"}, headers=as_role(Role.WAREHOUSE)), 201)

    assert [(x["bin"], x["bucket"], x["quantity"]) for x in posted["lines"]] == [("X-01", "damaged", 3)]
    tea = ok(depot.get("/api/v1/stock/TEA-250G/HZ", headers=as_role(Role.VIEWER)))
    assert (tea["on_hand"], tea["damaged"], tea["available_to_sell"]) == (10, 3, 10)
    assert [(b["bin"], b["sellable"], b["on_hand"]) for b in tea["bins"]] == [("A-01", True, 10), ("X-01", False, 3)]
    assert ok(depot.get("/api/v1/ledger/check", headers=as_role(Role.WAREHOUSE))) == []
    refused = depot.patch(f"{BINS}/X-01", json={"sellable": True}, headers=as_role(Role.ADMIN))
    assert refused.status_code == 409 and "still holds 3 units" in refused.json()["detail"]


def test_an_empty_bin_can_be_made_non_sellable(depot, as_role):
    made = ok(depot.patch(f"{BINS}/A-02", json={"sellable": False}, headers=as_role(Role.ADMIN)))

    assert made == {"code": "A-02", "zone": "A", "sellable": False}
    assert depot.patch(f"{BINS}/Z-99", json={"sellable": False}, headers=as_role(Role.ADMIN)).status_code == 404
    assert depot.patch(f"{BINS}/A-02", json={"sellable": True}, headers=as_role(Role.VIEWER)).status_code == 403
