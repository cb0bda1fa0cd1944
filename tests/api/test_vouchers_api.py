"""The vouchers API: generate, pull by id, get one, export in three import layouts, the mapping; bad input is a
problem document, and only finance may read or write."""

from __future__ import annotations

import json
from io import BytesIO
from xml.etree import ElementTree as ET

import pytest
from openpyxl import load_workbook

from presale_erp.domain.access import Role
from tests.voucher_facts import payment, posting, shop_with_an_order

RANGE = {"day_from": "2026-10-30", "day_to": "2026-10-31"}


@pytest.fixture
def facts(client) -> None:
    db = client.app.state.db
    order = shop_with_an_order(db)
    payment(db, order, "deposit", "50.00", "alipay", "2026-10-30 10:00")
    payment(db, order, "balance", "148.00", "wechat", "2026-10-31 11:00")
    posting(db, order, "shipment", 1, "198.00", "80.00", "2026-10-31 14:00")


def test_finance_generates_then_pulls_every_voucher_page_by_page(client, as_role, facts):
    finance = as_role(Role.FINANCE)

    generated = client.post("/api/v1/vouchers/generate", json=RANGE, headers=finance)
    first = client.get("/api/v1/vouchers", params={"limit": 2}, headers=finance).json()
    rest = client.get("/api/v1/vouchers", params={"limit": 2, "after": first["next_cursor"]}, headers=finance).json()

    assert generated.status_code == 200, generated.text
    assert generated.json()["created"] == 3
    assert [v["business_type"] for v in first["items"] + rest["items"]] == ["receipts", "receipts", "sales"]
    assert rest["next_cursor"] is None
    sales = rest["items"][0]
    assert (sales["number"], sales["total_debit"], sales["total_credit"]) == (3, "278.00", "278.00")
    assert [(line["account_code"], line["debit"], line["credit"]) for line in sales["lines"]] == [
        ("6401", "80.00", "0.00"),
        ("1405", "0.00", "80.00"),
        ("2203", "198.00", "0.00"),
        ("6001", "0.00", "198.00"),
    ]
    one = client.get(f"/api/v1/vouchers/{sales['id']}", headers=finance)
    assert one.json() == sales


@pytest.mark.parametrize(
    ("layout", "media_type", "suffix"),
    [
        ("k3wise", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "k3wise.xlsx"),
        ("k3cloud", "application/json", "k3cloud.json"),
        ("u8", "application/xml; charset=utf-8", "u8.xml"),
    ],
)
def test_an_export_is_a_named_file_of_the_layouts_type_holding_every_voucher(
    client, as_role, facts, layout, media_type, suffix
):
    finance = as_role(Role.FINANCE)
    client.post("/api/v1/vouchers/generate", json=RANGE, headers=finance)

    response = client.get("/api/v1/vouchers/export", params={**RANGE, "format": layout}, headers=finance)

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert response.headers["content-disposition"] == f'attachment; filename="vouchers-20261030-20261031-{suffix}"'
    if layout == "k3wise":
        rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
        assert len(rows[0]) == 37
        assert {row[4] for row in rows[1:]} == {1, 2, 3}
    elif layout == "k3cloud":
        assert len(json.loads(response.content)) == 3
    else:
        assert len(ET.fromstring(response.content).findall("voucher")) == 3


def test_the_mapping_reads_as_defaults_and_a_saved_one_reads_back(client, as_role):
    finance = as_role(Role.FINANCE)
    mapping = client.get("/api/v1/vouchers/account-mapping", headers=finance).json()
    forfeits = next(r for r in mapping["rules"] if r["role"] == "forfeited_deposit")
    assert (forfeits["account_code"], forfeits["account_name"]) == ("6301", "营业外收入")

    forfeits.update(account_code="6051", account_name="其他业务收入")
    saved = client.put("/api/v1/vouchers/account-mapping", json=mapping, headers=finance)

    assert saved.status_code == 200, saved.text
    again = client.get("/api/v1/vouchers/account-mapping", headers=finance).json()
    assert next(r for r in again["rules"] if r["role"] == "forfeited_deposit")["account_code"] == "6051"
    assert len(again["rules"]) == len(mapping["rules"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/v1/vouchers/generate", {"day_from": "2026-10-31", "day_to": "2026-10-30"}, 422),
        ("POST", "/api/v1/vouchers/generate", {"day_from": "2999-01-01", "day_to": "2999-01-01"}, 422),
        ("POST", "/api/v1/vouchers/generate", {"day_from": "yesterday"}, 422),
        ("GET", "/api/v1/vouchers?after=abc", None, 422),
        ("GET", "/api/v1/vouchers/export?day_from=2026-10-30&day_to=2026-10-31&format=pdf", None, 422),
        ("GET", "/api/v1/vouchers/export?day_from=2026-10-30&day_to=2027-10-31&format=u8", None, 422),
        ("GET", "/api/v1/vouchers/999", None, 404),
        ("PUT", "/api/v1/vouchers/account-mapping", {"rules": []}, 422),
        (
            "PUT",
            "/api/v1/vouchers/account-mapping",
            {"rules": [{"role": "revenue", "account_code": "60 01", "account_name": "主营业务收入"}]},
            422,
        ),
    ],
)
def test_bad_input_is_a_problem_document_not_a_crash(client, as_role, method, path, body, status):
    response = client.request(method, path, json=body, headers=as_role(Role.FINANCE))

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("role", "method", "path"),
    [
        (Role.VIEWER, "GET", "/api/v1/vouchers"),
        (Role.WAREHOUSE, "GET", "/api/v1/vouchers/export?day_from=2026-10-30&day_to=2026-10-31&format=u8"),
        (Role.CUSTOMER_SERVICE, "POST", "/api/v1/vouchers/generate"),
        (Role.PURCHASER, "PUT", "/api/v1/vouchers/account-mapping"),
    ],
)
def test_only_finance_reads_or_writes_vouchers(client, as_role, role, method, path):
    body = RANGE if method == "POST" else ({"rules": []} if method == "PUT" else None)

    assert client.request(method, path, json=body, headers=as_role(role)).status_code == 403
