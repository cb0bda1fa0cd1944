"""Fulfilment through the API: settings, an allocation run, parcels staff can undo, waybills from the carrier
over real HTTP, and clear refusals (SQLite and PostgreSQL)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from presale_erp.adapters.carriers.kdniao import KdniaoClient
from presale_erp.domain.access import Role
from presale_erp.simulators.carrier_server import make_carrier_app
from tests.carrier_server_runner import serving
from tests.integration.test_fulfilment import CIPHER, approve_and_allocate, push, set_up

WAREHOUSE, VIEWER, CS = Role.WAREHOUSE, Role.VIEWER, Role.CUSTOMER_SERVICE


def test_staff_reorder_strategies_and_the_shop_policy_keeps_the_rest(client: TestClient, as_role, db):
    set_up(db)

    changed = client.patch(
        "/api/v1/shops/TM-1/fulfilment",
        json={"strategies": ["regional", "lowest_cost"], "merge_wait_minutes": 15},
        headers=as_role(WAREHOUSE),
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["strategies"] == ["regional", "lowest_cost"]
    assert changed.json()["merge"] is True and changed.json()["merge_wait_minutes"] == 15


def test_an_unknown_strategy_is_a_clear_422(client: TestClient, as_role, db):
    set_up(db)

    refused = client.patch(
        "/api/v1/shops/TM-1/fulfilment", json={"strategies": ["cheapest"]}, headers=as_role(WAREHOUSE)
    )

    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")


def test_a_viewer_may_look_at_parcels_but_not_allocate(client: TestClient, as_role, db):
    set_up(db)

    assert client.get("/api/v1/parcels", headers=as_role(VIEWER)).status_code == 200
    assert client.post("/api/v1/fulfilment/allocate", json={}, headers=as_role(VIEWER)).status_code == 403


def test_allocation_run_parcels_unmerge_and_waybills_over_http(client: TestClient, as_role, db):
    set_up(db)
    push(db, "801", 1)
    push(db, "802", 1, phone="13800138000", street="文三路 90 号 2 幢 301")
    approve_and_allocate(db)
    client.app.state.cipher = CIPHER  # the orders were taken in by the test's own cipher

    [merged] = client.get("/api/v1/parcels", params={"status": "allocated"}, headers=as_role(CS)).json()
    order_id = merged["lines"][0]["order_id"]
    of_order = client.get(f"/api/v1/orders/{order_id}/parcels", headers=as_role(CS))
    assert of_order.status_code == 200, of_order.text  # not taken for /orders/{shop}/{platform order id}
    assert [p["code"] for p in of_order.json()] == [merged["code"]]
    undone = client.post(f"/api/v1/parcels/{merged['code']}/unmerge", headers=as_role(CS))
    assert undone.status_code == 200, undone.text
    with serving(make_carrier_app("1109259", "k" * 16)) as url:
        client.app.state.carrier = KdniaoClient(url, "1109259", "k" * 16)
        issued = client.post("/api/v1/fulfilment/waybills", headers=as_role(WAREHOUSE))

    assert issued.json() == {"issued": 2, "refused": 0}
    numbers = [p["tracking_no"] for p in client.get("/api/v1/parcels", headers=as_role(CS)).json()]
    assert len(set(numbers)) == 2 and all(n.startswith("7") for n in numbers)  # ZTO numbers


def test_waybills_without_a_carrier_account_are_a_409_saying_what_to_configure(client: TestClient, as_role, db):
    client.app.state.carrier = None

    refused = client.post("/api/v1/fulfilment/waybills", headers=as_role(WAREHOUSE))

    assert refused.status_code == 409 and "PRESALE_ERP_CARRIER_URL" in refused.json()["detail"]


def test_unmerging_a_parcel_that_does_not_exist_is_a_404(client: TestClient, as_role, db):
    assert client.post("/api/v1/parcels/P404-1-1/unmerge", headers=as_role(CS)).status_code == 404
