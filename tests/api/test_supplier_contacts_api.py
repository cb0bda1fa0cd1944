"""Supplier contacts over HTTP (联系人): a purchaser adds a supplier with its people, adds, changes and removes
contacts, and exactly one contact stays primary; bad contacts are refused with a clear 4xx (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import Role

SUPPLIERS = "/api/v1/suppliers"
CONTACTS = "/api/v1/suppliers/WESTLAKE/contacts"


def ok(response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def people(supplier: dict) -> list[tuple[str, str, bool]]:
    return [(c["name"], c["role"], c["is_primary"]) for c in supplier["contacts"]]


@pytest.fixture
def westlake(client: TestClient, as_role) -> dict:
    """Supplier WESTLAKE with its salesperson 王芳 and its accountant 赵敏, neither marked primary."""
    body = {
        "code": "WESTLAKE",
        "name": "西湖茶厂",
        "contacts": [
            {"name": "王芳", "role": "业务", "phone": "13800001111", "email": "wang@westlake.example.com"},
            {"name": "赵敏", "role": "财务", "email": "zhao@westlake.example.com"},
        ],
    }
    ok(client.post(SUPPLIERS, json=body, headers=as_role(Role.PURCHASER)), 201)
    return ok(client.get(f"{SUPPLIERS}/WESTLAKE", headers=as_role(Role.VIEWER)))


def test_a_new_suppliers_first_contact_is_primary_and_the_supplier_lists_its_contacts(client, westlake, as_role):
    assert people(westlake) == [("王芳", "业务", True), ("赵敏", "财务", False)]
    listed = ok(client.get(SUPPLIERS, headers=as_role(Role.VIEWER)))
    assert [(s["code"], people(s)) for s in listed["items"]] == [("WESTLAKE", people(westlake))]
    assert [c["name"] for c in ok(client.get(CONTACTS, headers=as_role(Role.VIEWER)))] == ["王芳", "赵敏"]


def test_adding_a_primary_contact_takes_the_mark_from_the_old_one(client, westlake, as_role):
    new = {"name": "陈静", "role": "跟单", "phone": "0571-88886666", "is_primary": True}

    got = ok(client.post(CONTACTS, json=new, headers=as_role(Role.PURCHASER)), 201)

    assert people(got) == [("陈静", "跟单", True), ("王芳", "业务", False), ("赵敏", "财务", False)]


def test_changing_a_contact_keeps_the_fields_left_out(client, westlake, as_role):
    zhao = westlake["contacts"][1]

    got = ok(client.patch(f"{CONTACTS}/{zhao['id']}", json={"phone": "0571-88887777"}, headers=as_role(Role.PURCHASER)))
    assert [(c["name"], c["phone"], c["email"]) for c in got["contacts"]][1] == (
        "赵敏",
        "0571-88887777",
        "zhao@westlake.example.com",
    )

    got = ok(client.patch(f"{CONTACTS}/{zhao['id']}", json={"is_primary": True}, headers=as_role(Role.PURCHASER)))
    assert people(got) == [("赵敏", "财务", True), ("王芳", "业务", False)]


def test_removing_the_primary_contact_passes_the_mark_to_the_earliest_remaining(client, westlake, as_role):
    new = {"name": "陈静", "role": "跟单", "phone": "0571-88886666"}
    ok(client.post(CONTACTS, json=new, headers=as_role(Role.PURCHASER)), 201)
    wang = westlake["contacts"][0]

    got = ok(client.delete(f"{CONTACTS}/{wang['id']}", headers=as_role(Role.PURCHASER)))

    assert people(got) == [("赵敏", "财务", True), ("陈静", "跟单", False)]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "says"),
    [
        ("post", CONTACTS, {"name": "无名", "role": "业务"}, 422, "phone number or an email"),
        ("post", CONTACTS, {"name": "坏邮箱", "email": "not-an-email"}, 422, "not an email address"),
        ("post", CONTACTS, {"name": "坏电话", "phone": "call me"}, 422, "not a phone number"),
        ("post", CONTACTS, {"name": " ", "phone": "13800001111"}, 422, "needs a name"),
        ("post", "/api/v1/suppliers/NOBODY/contacts", {"name": "x", "phone": "13800001111"}, 404, "No supplier"),
        ("patch", f"{CONTACTS}/999999", {"phone": "13800001111"}, 404, "no contact 999999"),
        ("patch", f"{CONTACTS}/FIRST", {"is_primary": False}, 422, "make another contact primary"),
        ("patch", f"{CONTACTS}/FIRST", {"email": None}, 422, "cannot be set to null"),
        ("delete", f"{CONTACTS}/999999", None, 404, "no contact 999999"),
    ],
)
def test_bad_contact_changes_are_refused_and_change_nothing(
    client, westlake, as_role, method, path, body, status, says
):
    path = path.replace("FIRST", str(westlake["contacts"][0]["id"]))
    kwargs = {"json": body} if body is not None else {}

    response = getattr(client, method)(path, headers=as_role(Role.PURCHASER), **kwargs)

    assert response.status_code == status, response.text
    assert says in response.json()["detail"]
    assert ok(client.get(f"{SUPPLIERS}/WESTLAKE", headers=as_role(Role.VIEWER))) == westlake


def test_only_purchasing_may_change_contacts(client, westlake, as_role):
    new = {"name": "陈静", "phone": "0571-88886666"}

    assert client.post(CONTACTS, json=new, headers=as_role(Role.WAREHOUSE)).status_code == 403
    assert client.delete(f"{CONTACTS}/{westlake['contacts'][0]['id']}", headers=as_role(Role.VIEWER)).status_code == 403


@pytest.mark.parametrize(("terms", "status"), [(30, 201), (0, 201), (-1, 422), (400, 422)])
def test_a_suppliers_payment_terms_are_kept_for_the_cash_gap_and_must_be_0_to_365_days(client, as_role, terms, status):
    body = {"code": "LONGJING", "name": "龙井茶业", "payment_terms_days": terms}
    response = client.post(SUPPLIERS, json=body, headers=as_role(Role.PURCHASER))

    assert response.status_code == status, response.text
    if status == 201:
        assert ok(client.get(f"{SUPPLIERS}/LONGJING", headers=as_role(Role.VIEWER)))["payment_terms_days"] == terms
