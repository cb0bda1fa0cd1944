"""Planning through the API: import history, run, read explained suggestions and alerts with money as exact
decimals, turn suggestions into draft purchase orders; refusals are problem details (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from presale_erp.domain.access import Role
from tests import builders
from tests.integration.test_planning import TODAY

PURCHASER, VIEWER, WAREHOUSE = Role.PURCHASER, Role.VIEWER, Role.WAREHOUSE


def set_up(client: TestClient, as_role, db) -> None:
    builders.warehouse(db)
    builders.sku(db, "TEA-250G")
    builders.receive(db, "TEA-250G", "HZ", 30)
    days = [
        {"sku": "TEA-250G", "warehouse": "HZ", "day": str(TODAY - timedelta(days=n)), "quantity": 10 + n % 3}
        for n in range(1, 91)
    ]
    imported = client.post("/api/v1/planning/history", json={"days": days}, headers=as_role(PURCHASER))
    assert imported.status_code == 201, imported.text
    for path, body in [
        ("/api/v1/suppliers", {"code": "WESTLAKE-TEA", "name": "西湖茶厂", "lead_time_days": "12"}),
    ]:
        assert client.post(path, json=body, headers=as_role(PURCHASER)).status_code == 201
    terms = client.put(
        "/api/v1/suppliers/WESTLAKE-TEA/skus",
        json={"sku": "TEA-250G", "unit_cost": "75.50", "min_order": 20},
        headers=as_role(PURCHASER),
    )
    assert terms.status_code == 200, terms.text


def test_a_purchaser_runs_planning_and_orders_what_it_suggests(client: TestClient, as_role, db):
    set_up(client, as_role, db)

    run = client.post("/api/v1/planning/runs", json={}, headers=as_role(PURCHASER))
    assert run.status_code == 200, run.text
    assert run.json()["demand"]["model_version"] == "auto_ets/1.0.0"  # 90 days: too short for the global model

    (suggestion,) = client.get("/api/v1/planning/suggestions", headers=as_role(VIEWER)).json()
    assert suggestion["unit_cost"] == "75.50" and suggestion["supplier"] == "WESTLAKE-TEA"
    alerts = client.get("/api/v1/planning/alerts", headers=as_role(VIEWER)).json()
    assert alerts[0]["severity"] == "critical" and alerts[0]["kind"] == "stockout_before_inbound"
    assert alerts[0]["reason"] and alerts[0]["action"] and alerts[0]["money_at_stake"] != "0.00"

    drafted = client.post(
        "/api/v1/planning/suggestions/purchase-orders",
        json={"suggestion_ids": [suggestion["id"]]},
        headers=as_role(PURCHASER),
    )
    assert drafted.status_code == 201, drafted.text
    (po,) = drafted.json()
    assert po["status"] == "draft" and po["lines"][0]["quantity"] == suggestion["quantity"]
    listed = client.get("/api/v1/purchase-orders", headers=as_role(VIEWER)).json()
    assert [p["code"] for p in listed] == [po["code"]] and listed[0]["total"] == po["total"]


def test_an_alert_closed_by_hand_shows_as_resolved(client: TestClient, as_role, db):
    set_up(client, as_role, db)
    client.post("/api/v1/planning/runs", json={}, headers=as_role(PURCHASER))
    alert = client.get("/api/v1/planning/alerts", headers=as_role(VIEWER)).json()[0]

    closed = client.post(f"/api/v1/planning/alerts/{alert['id']}/resolve", headers=as_role(PURCHASER))

    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "resolved" and closed.json()["resolved_at"]
    again = client.post(f"/api/v1/planning/alerts/{alert['id']}/resolve", headers=as_role(PURCHASER))
    assert again.status_code == 404


def test_bad_planning_input_is_refused_with_problem_details(client: TestClient, as_role, db):
    builders.warehouse(db)
    builders.sku(db, "TEA-250G")
    cases = [
        ("post", "/api/v1/planning/history", {"days": [{"sku": "TEA-250G", "warehouse": "HZ", "day": "2026-10-01",
                                                         "quantity": -1}]}, 422),
        ("post", "/api/v1/planning/history", {"days": [{"sku": "NOPE", "warehouse": "HZ", "day": "2026-10-01",
                                                         "quantity": 1}]}, 404),
        ("post", "/api/v1/planning/suggestions/purchase-orders", {"suggestion_ids": [999]}, 404),
        ("put", "/api/v1/planning/settings/TEA-250G/HZ", {"service_level": "1.2"}, 422),
        ("put", "/api/v1/planning/settings/TEA-250G/HZ", {"supplier": "NOBODY"}, 404),
        ("post", "/api/v1/planning/campaigns/NOPE/history", {"days": [{"sku": "TEA-250G", "day": "2026-10-01",
                                                                        "deposits": 3}]}, 404),
    ]  # fmt: skip
    for method, path, body, status in cases:
        response = client.request(method, path, json=body, headers=as_role(PURCHASER))
        assert response.status_code == status, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


def test_planning_is_read_only_for_a_viewer_and_closed_to_the_warehouse_for_ordering(client: TestClient, as_role, db):
    assert client.post("/api/v1/planning/runs", json={}, headers=as_role(VIEWER)).status_code == 403
    drafted = client.post(
        "/api/v1/planning/suggestions/purchase-orders", json={"suggestion_ids": [1]}, headers=as_role(WAREHOUSE)
    )
    assert drafted.status_code == 403
    assert client.get("/api/v1/planning/alerts", headers=as_role(VIEWER)).status_code == 200
