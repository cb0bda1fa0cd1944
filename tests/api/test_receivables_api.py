"""Receivables over HTTP: finance sets up a distributor on account, links its buyer, records invoices and a
payment, and reads the statement, the aging report (JSON and Excel) and the credit score; bad input is a 4xx
problem, never a 500; people without finance permissions are refused."""

from __future__ import annotations

from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from presale_erp.domain.access import Role
from tests import builders

CUSTOMER = {
    "code": "D001",
    "name": "华东经销",
    "kind": "distributor",
    "credit_limit": "10000.00",
    "payment_terms_days": 30,
}
LEDGER = [
    {"entry_key": "I1", "kind": "invoice", "amount": "4000.00", "occurred_at": "2026-09-01T10:00:00+08:00"},
    {"entry_key": "I2", "kind": "invoice", "amount": "3000.00", "occurred_at": "2026-09-20T10:00:00+08:00"},
    {"entry_key": "BANK-1", "kind": "payment", "amount": "5000.00", "occurred_at": "2026-10-05T10:00:00+08:00"},
    {"entry_key": "I3", "kind": "invoice", "amount": "2500.00", "occurred_at": "2026-10-15T10:00:00+08:00"},
]


@pytest.fixture
def finance(client: TestClient, as_role) -> dict[str, str]:
    return as_role(Role.FINANCE)


@pytest.fixture
def distributor(db, client: TestClient, finance) -> None:
    builders.shop(db, "TB-1")
    assert client.post("/api/v1/customers", json=CUSTOMER, headers=finance).status_code == 201
    for entry in LEDGER:
        response = client.post("/api/v1/customers/D001/ar-entries", json=entry, headers=finance)
        assert response.status_code == 201, response.text


def test_finance_links_a_buyer_and_sees_the_statement_aging_and_score(client: TestClient, finance, distributor):
    linked = client.post(
        "/api/v1/customers/D001/buyers", json={"shop": "TB-1", "platform_buyer_id": "huadong-buyer"}, headers=finance
    )
    statement = client.get("/api/v1/customers/D001/statement?start=2026-10-01&end=2026-10-31", headers=finance)
    aging = client.get("/api/v1/receivables/aging?as_of=2026-10-31", headers=finance)
    score = client.get("/api/v1/customers/D001/credit-score?as_of=2026-10-31", headers=finance)

    assert linked.status_code == 201, linked.text
    assert [(b["shop"], b["buyer_label"]) for b in linked.json()] == [("TB-1", "h************")]
    assert [b["shop"] for b in client.get("/api/v1/customers/D001", headers=finance).json()["buyers"]] == ["TB-1"]
    body = statement.json()
    assert (body["opening"], body["closing"]) == ("7000.00", "4500.00")
    assert [(line["key"], line["credit"], line["balance"]) for line in body["lines"]] == [
        ("BANK-1", "5000.00", "2000.00"),
        ("I3", "0.00", "4500.00"),
    ]
    (row,) = aging.json()["rows"]
    assert (row["current"], row["days_1_30"], row["overdue"], row["balance"]) == (
        "2500.00",
        "2000.00",
        "2000.00",
        "4500.00",
    )
    assert (score.json()["score"], score.json()["grade"]) == (49, "D")


def test_the_aging_report_downloads_as_excel(client: TestClient, finance, distributor):
    response = client.get("/api/v1/receivables/aging?as_of=2026-12-25&format=xlsx", headers=finance)

    assert response.status_code == 200
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[1][:10] == ("D001", "华东经销", "distributor", 10000, 30, 0, 0, 2500, 2000, 0)


def test_a_buyer_is_unlinked_by_its_index(client: TestClient, finance, distributor):
    (link,) = client.post(
        "/api/v1/customers/D001/buyers", json={"shop": "TB-1", "platform_buyer_id": "huadong-buyer"}, headers=finance
    ).json()

    gone = client.delete(f"/api/v1/customers/D001/buyers/TB-1/{link['buyer_index']}", headers=finance)
    again = client.delete(f"/api/v1/customers/D001/buyers/TB-1/{link['buyer_index']}", headers=finance)

    assert (gone.status_code, again.status_code) == (204, 404)


def test_new_terms_change_the_customer_not_the_invoices_already_raised(client: TestClient, finance, distributor):
    changed = client.put("/api/v1/customers/D001", json=CUSTOMER | {"payment_terms_days": 60}, headers=finance)

    assert changed.json()["payment_terms_days"] == 60
    entries = client.get("/api/v1/customers/D001/ar-entries", headers=finance).json()
    assert entries[0]["due_at"].startswith("2026-10-01T02:00:00")


BAD = [
    ("post", "/api/v1/customers", CUSTOMER | {"credit_limit": "-1.00"}, 422),
    ("post", "/api/v1/customers", CUSTOMER | {"credit_limit": "10.001"}, 422),
    ("post", "/api/v1/customers", CUSTOMER | {"kind": "retail"}, 422),
    ("post", "/api/v1/customers", CUSTOMER, 409),  # the code is taken
    ("put", "/api/v1/customers/NOPE", {k: v for k, v in CUSTOMER.items() if k != "code"}, 404),
    ("post", "/api/v1/customers/D001/ar-entries", LEDGER[2] | {"entry_key": "B2", "amount": "0"}, 422),
    ("post", "/api/v1/customers/D001/ar-entries", LEDGER[2] | {"occurred_at": "2026-10-05T10:00:00"}, 422),
    ("post", "/api/v1/customers/D001/ar-entries", LEDGER[2] | {"amount": "4000.00"}, 409),  # key reused
    ("post", "/api/v1/customers/D001/ar-entries", LEDGER[2] | {"entry_key": "B3", "order_id": 999}, 422),
    ("post", "/api/v1/customers/D001/buyers", {"shop": "NOPE", "platform_buyer_id": "x"}, 404),
    ("post", "/api/v1/customers/D001/buyers", {"shop": "TB-1", "platform_buyer_id": " - "}, 422),
    ("get", "/api/v1/customers/D001/statement?start=2026-10-31&end=2026-10-01", None, 422),
    ("get", "/api/v1/receivables/aging?as_of=31-10-2026", None, 422),
    ("get", "/api/v1/customers/NOPE/credit-score", None, 404),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), BAD, ids=[f"{b[1]} {b[3]}" for b in BAD])
def test_bad_input_is_a_problem_with_a_clear_4xx(client: TestClient, finance, distributor, method, path, body, status):
    response = client.request(method.upper(), path, json=body, headers=finance)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_without_finance_permissions_receivables_are_refused(client: TestClient, as_role, distributor):
    viewer = as_role(Role.VIEWER)

    assert client.get("/api/v1/receivables/aging", headers=viewer).status_code == 403
    assert client.post("/api/v1/customers", json=CUSTOMER | {"code": "X"}, headers=viewer).status_code == 403
