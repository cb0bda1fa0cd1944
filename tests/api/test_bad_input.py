"""Bad input gets a clear 4xx problem-details answer and writes nothing (each case on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from presale_erp.adapters.db.tables import audit_log, movements, reservations, skus
from presale_erp.domain.access import Role
from tests import builders

CASES = [
    ("not JSON at all", "POST", "/api/v1/movements", b"{oops", 422, "invalid"),
    (
        "unknown movement kind",
        "POST",
        "/api/v1/movements",
        {"id": "m1", "kind": "teleport", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 1},
        422,
        "kind",
    ),
    (
        "quantity as text",
        "POST",
        "/api/v1/movements",
        {
            "id": "m1",
            "kind": "receipt",
            "sku": "TEA-250G",
            "warehouse": "HZ",
            "quantity": "many",
            "bin": "A-01",
        },
        422,
        "quantity",
    ),
    (
        "receipt without a bin",
        "POST",
        "/api/v1/movements",
        {"id": "m1", "kind": "receipt", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 1},
        422,
        "bin",
    ),
    (
        "unknown sku",
        "POST",
        "/api/v1/movements",
        {"id": "m1", "kind": "receipt", "sku": "NOPE", "warehouse": "HZ", "quantity": 1, "bin": "A-01"},
        404,
        "NOPE",
    ),
    (
        "shipping more than is free",
        "POST",
        "/api/v1/movements",
        {"id": "m1", "kind": "shipment", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 99, "bin": "A-01"},
        409,
        "only 10 available",
    ),
    (
        "movement id with spaces",
        "POST",
        "/api/v1/movements",
        {
            "id": "my id",
            "kind": "receipt",
            "sku": "TEA-250G",
            "warehouse": "HZ",
            "quantity": 1,
            "bin": "A-01",
        },
        422,
        "id",
    ),
    (
        "reserving zero",
        "POST",
        "/api/v1/reservations",
        {"lines": [{"id": "r1", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 0}]},
        422,
        "quantity",
    ),
    (
        "reserving more than there is",
        "POST",
        "/api/v1/reservations",
        {"lines": [{"id": "r1", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 11}]},
        409,
        "wanted 11",
    ),
    (
        "the same line id twice",
        "POST",
        "/api/v1/reservations",
        {
            "lines": [
                {"id": "r1", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 1},
                {"id": "r1", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 1},
            ]
        },
        422,
        "ids repeat",
    ),
    (
        "releasing an unknown reservation",
        "POST",
        "/api/v1/reservations/release",
        {"ids": ["ghost"]},
        404,
        "ghost",
    ),
    (
        "lease given twice",
        "POST",
        "/api/v1/reservations",
        {
            "lines": [{"id": "r1", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 1}],
            "lease_minutes": 5,
            "expires_at": "2026-11-11T00:00:00+08:00",
        },
        422,
        "either",
    ),
    (
        "a SKU with a wrong barcode check digit",
        "POST",
        "/api/v1/skus",
        {"code": "NEW", "product": "P-TEA-250G", "name": "n", "barcode": "6901234567893", "weight_grams": 1},
        422,
        "check digit",
    ),
    (
        "a SKU code already taken",
        "POST",
        "/api/v1/skus",
        {"code": "TEA-250G", "product": "P-TEA-250G", "name": "n", "weight_grams": 1},
        409,
        "already exists",
    ),
    (
        "money with too many decimals",
        "POST",
        "/api/v1/skus",
        {"code": "NEW", "product": "P-TEA-250G", "name": "n", "weight_grams": 1, "unit_cost": "1.005"},
        422,
        "unit_cost",
    ),
    (
        "a campaign time without a time zone",
        "POST",
        "/api/v1/presale-campaigns",
        {
            "code": "C",
            "name": "c",
            "deposit_starts_at": "2026-10-20T20:00:00",
            "deposit_ends_at": "2026-10-21T20:00:00Z",
            "ships_from": "2026-11-01T00:00:00Z",
            "skus": [{"sku": "TEA-250G", "warehouse": "HZ", "presale_quota": 1, "price": "1.00", "deposit": "0.00"}],
        },
        422,
        "timezone",
    ),
    (
        "a movement filter time without a time zone",
        "GET",
        "/api/v1/movements?since=2026-11-01T00:00:00",
        None,
        422,
        "since",
    ),
    ("a cursor too big for any id", "GET", "/api/v1/movements?cursor=" + "9" * 30, None, 422, "cursor"),
    (
        "a time beyond the calendar's end",
        "GET",
        "/api/v1/movements?until=9999-12-31T23:00:00-05:00",
        None,
        422,
        "until",
    ),
    (
        "a lease ending in the year 1",
        "POST",
        "/api/v1/reservations",
        {
            "lines": [{"id": "r1", "sku": "TEA-250G", "warehouse": "HZ", "quantity": 1}],
            "expires_at": "0001-01-01T00:00:00+05:00",
        },
        422,
        "expires_at",
    ),
    ("a NUL character in the path", "GET", "/api/v1/skus/%00", None, 422, "NUL"),
    ("a NUL character in a filter", "GET", "/api/v1/stock?sku=a%00b", None, 422, "NUL"),
    ("a page far too large", "GET", "/api/v1/stock?limit=100000", None, 422, "limit"),
    ("a path that does not exist", "GET", "/api/v1/nothing-here", None, 404, "nothing at"),
    ("a method the path does not have", "DELETE", "/api/v1/stock", None, 405, ""),
]


def _count(db) -> tuple[int, ...]:
    with db.uow(write=False) as uow:
        return tuple(
            uow.conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (audit_log, movements, reservations, skus)
        )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "mentions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_a_clear_4xx_and_writes_nothing(
    client: TestClient, as_role, db, method, path, body, status, mentions
):
    builders.stocked(db, 10)
    headers = as_role(Role.ADMIN)
    before = _count(db)

    if isinstance(body, bytes):
        response = client.request(method, path, content=body, headers={**headers, "content-type": "application/json"})
    else:
        response = client.request(method, path, json=body, headers=headers)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status and problem["title"] and problem["detail"]
    assert mentions.lower() in response.text.lower()
    assert _count(db) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/movements",
            {
                "id": "m1",
                "kind": "adjustment",
                "sku": "TEA-250G",
                "warehouse": "HZ",
                "quantity": 1,
                "bin": "A-01",
                "reason": "bad\u0000reason",
            },
        ),
        ("/api/v1/products", {"code": "P2", "name": "tea\u0000"}),
    ],
)
def test_a_nul_character_in_a_body_is_refused_or_stored_never_a_500(client: TestClient, as_role, db, path, body):
    """PostgreSQL cannot store NUL in text (422); SQLite can (201). Either way the caller gets an answer."""
    builders.stocked(db, 10)

    response = client.post(path, json=body, headers=as_role(Role.ADMIN))

    assert response.status_code in (201, 422), response.text


def test_an_api_key_for_user_admin_cannot_mint_a_full_admin(client: TestClient, as_role):
    key = client.post(
        "/api/v1/api-keys", json={"name": "hr-sync", "scopes": ["users:admin"]}, headers=as_role(Role.ADMIN)
    ).json()["key"]

    response = client.post(
        "/api/v1/users",
        json={"username": "mallory", "password": "long-enough-pw", "roles": ["admin"]},
        headers={"X-API-Key": key},
    )
    allowed = client.post(
        "/api/v1/users",
        json={"username": "viewer2", "password": "long-enough-pw", "roles": ["viewer"]},
        headers={"X-API-Key": key},
    )

    assert response.status_code == 422
    assert "permissions you do not have" in response.json()["detail"]
    assert allowed.status_code == 422  # viewer holds read permissions the key lacks
