"""The receiving API: the warehouse receives against a purchase order, anyone with stock access reads the receipt,
purchasing and finance read what stock costs (each test on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import SYSTEM, Role
from presale_erp.domain.warehouse import ZoneKind
from presale_erp.services import purchasing, warehouses
from tests import builders
from tests.conftest import NOW
from tests.integration.test_receiving import place_order

RECEIPTS = "/api/v1/purchase-orders/PO-1/receipts"


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
def ordered(client: TestClient) -> TestClient:
    """PO-1 (confirmed): line 1, 100 TEA at 10.00; line 2, 10 CUP at 60.00, for warehouse HZ (bins A-01, A-02 and
    the damaged bin X-01)."""
    db = client.app.state.db
    builders.warehouse(db, "HZ", bins=("A-01", "A-02"))
    warehouses.create_zone(db, SYSTEM, warehouse="HZ", code="X", name="残次品区", kind=ZoneKind.DEFECTIVE, now=NOW)
    warehouses.create_bins(db, SYSTEM, warehouse="HZ", zone="X", codes=["X-01"], now=NOW)
    builders.sku(db, "TEA")
    builders.sku(db, "CUP")
    purchasing.create_supplier(db, SYSTEM, purchasing.NewSupplier("WESTLAKE", "西湖茶厂"), now=NOW)
    place_order(db, "PO-1", [("TEA", 100, "10.00"), ("CUP", 10, "60.00")])
    return client


def test_the_warehouse_receives_and_purchasing_sees_the_cost(ordered, as_role):
    body = {
        "code": "RC-1",
        "lines": [
            {"line_no": 1, "accepted": 48, "damaged": 2, "bin": "A-01"},
            {"line_no": 2, "accepted": 10, "bin": "A-02"},
        ],
        "landed_costs": [{"kind": "freight", "amount": "30.00", "basis": "quantity"}],
    }

    got = ok(ordered.post(RECEIPTS, json=body, headers=as_role(Role.WAREHOUSE)), 201)

    # freight by units 48 : 10 = 24.827… / 5.172… -> 24.83 / 5.17 ; TEA (48 × 10 + 24.83) / 48 = 10.517292
    assert got["status"] == "partly_received"
    assert [(x["landed_cost"], x["received"]) for x in got["lines"]] == [("24.83", 48), ("5.17", 10)]
    assert got["average_costs"] == {"CUP": "60.517000", "TEA": "10.517292"}
    receipt = ok(ordered.get("/api/v1/receipts/RC-1", headers=as_role(Role.VIEWER)))
    assert [(x["sku"], x["accepted"], x["damaged"], x["bin"]) for x in receipt["lines"]] == [
        ("TEA", 48, 2, "A-01"),
        ("CUP", 10, 0, "A-02"),
    ]
    costs = ok(ordered.get("/api/v1/stock-costs?warehouse=HZ", headers=as_role(Role.FINANCE)))
    assert [(c["sku"], c["on_hand"], c["unit_cost"], c["value"], c["damaged"], c["damaged_value"]) for c in costs] == [
        ("CUP", 10, "60.517000", "605.17", 0, "0.00"),
        ("TEA", 48, "10.517292", "504.83", 2, "21.03"),  # 2 × 10.517292 = 21.034584
    ]
    valuation = ok(ordered.get("/api/v1/stock-valuation", headers=as_role(Role.FINANCE)))
    assert valuation == [
        {
            "warehouse": "HZ",
            "units": 58,
            "value": "1110.00",
            "units_without_cost": 0,
            "damaged_units": 2,
            "damaged_value": "21.03",
            "damaged_units_without_cost": 0,
        }
    ]
    tea = ok(ordered.get("/api/v1/stock/TEA/HZ", headers=as_role(Role.VIEWER)))
    assert (tea["on_hand"], tea["damaged"], tea["available_to_sell"]) == (48, 2, 48)
    assert [(b["bin"], b["sellable"], b["on_hand"]) for b in tea["bins"]] == [("A-01", True, 48), ("X-01", False, 2)]
    assert ok(ordered.get("/api/v1/ledger/check", headers=as_role(Role.WAREHOUSE))) == []
    again = ok(ordered.post(RECEIPTS, json=body, headers=as_role(Role.WAREHOUSE)))  # a retry: 200, the same receipt
    assert again == got | {"replayed": True}
    other = ordered.post(RECEIPTS, json=body | {"landed_costs": []}, headers=as_role(Role.WAREHOUSE))
    assert other.status_code == 409 and "already booked with other content" in other.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"lines": [{"line_no": 1, "accepted": 106, "bin": "A-01"}]}, 422, "over-receipt"),
        ({"lines": [{"line_no": 9, "accepted": 1, "bin": "A-01"}]}, 422, "no line 9"),
        ({"lines": [{"line_no": 1, "accepted": 1}]}, 422, "bin"),
        ({"lines": [{"line_no": 1, "accepted": 1, "bin": "Z-9"}]}, 404, "No bin"),
        ({"lines": []}, 422, "lines"),
        ({"lines": [{"line_no": 1, "accepted": -1, "bin": "A-01"}]}, 422, "accepted"),
        (
            {"lines": [{"line_no": 1, "accepted": 1, "bin": "A-01"}], "landed_costs": [{"kind": "x", "amount": "1"}]},
            422,
            "kind",
        ),
        (
            {
                "lines": [{"line_no": 1, "accepted": 1, "bin": "A-01"}],
                "landed_costs": [{"kind": "duty", "amount": "0.001"}],
            },
            422,
            "amount",
        ),
    ],
)
def test_bad_receipts_get_problem_details(ordered, as_role, body, status, says):
    response = ordered.post(RECEIPTS, json=body, headers=as_role(Role.WAREHOUSE))

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert says.lower() in response.text.lower()


def test_who_may_do_what(ordered, as_role):
    body = {"lines": [{"line_no": 1, "accepted": 1, "bin": "A-01"}]}

    assert ordered.post(RECEIPTS, json=body, headers=as_role(Role.CUSTOMER_SERVICE)).status_code == 403
    assert (
        ordered.post("/api/v1/purchase-orders/PO-X/receipts", json=body, headers=as_role(Role.WAREHOUSE)).status_code
        == 404
    )
    assert ordered.get("/api/v1/receipts/NOPE", headers=as_role(Role.WAREHOUSE)).status_code == 404
    assert ordered.get("/api/v1/stock-costs").status_code == 401
