"""Deny by default: every route in the OpenAPI document refuses strangers (401) and roles without the
route's permission (403)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from presale_erp.api.app import PUBLIC_PATHS
from presale_erp.domain.access import ROLE_PERMISSIONS, Permission, Role
from tests.api.conftest import _signer


def _operations(client: TestClient) -> list[tuple[str, str, str | None]]:
    spec = client.get("/openapi.json").json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "X-1", path), operation.get("x-permission"))
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if path not in PUBLIC_PATHS
    ]


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None):
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, path, json=body, headers=headers or {})


def test_the_openapi_document_lists_every_area(sqlite_client: TestClient):
    paths = sqlite_client.get("/openapi.json").json()["paths"]

    for expected in (
        "/api/v1/skus",
        "/api/v1/shops",
        "/api/v1/warehouses/{code}/bins",
        "/api/v1/stock",
        "/api/v1/movements",
        "/api/v1/reservations",
        "/api/v1/presale-campaigns",
        "/healthz",
    ):
        assert expected in paths


def test_every_route_without_credentials_answers_401(sqlite_client: TestClient):
    operations = _operations(sqlite_client)
    assert len(operations) > 30

    answers = {(m, p): _call(sqlite_client, m, p) for m, p, _ in operations}

    wrong = {k: r.status_code for k, r in answers.items() if r.status_code != 401}
    assert wrong == {}
    assert all(r.headers["content-type"] == "application/problem+json" for r in answers.values())


def test_every_route_refuses_a_bad_token_with_401(sqlite_client: TestClient):
    wrong = {
        (m, p): r.status_code
        for m, p, _ in _operations(sqlite_client)
        if (r := _call(sqlite_client, m, p, {"Authorization": "Bearer not-a-token"})).status_code != 401
    }
    assert wrong == {}


def _key_without(client: TestClient, admin: dict[str, str], permission: Permission) -> dict[str, str]:
    other = next(p for p in Permission if p is not permission)
    response = client.post(
        "/api/v1/api-keys", json={"name": f"not {permission.value}", "scopes": [other.value]}, headers=admin
    )
    assert response.status_code == 201, response.text
    return {"X-API-Key": response.json()["key"]}


def test_every_route_refuses_a_caller_that_lacks_its_permission_with_403(sqlite_client: TestClient):
    """A role lacking the permission where one exists (every role may read the catalog), and always an API key
    scoped to something else."""
    headers = _signer(sqlite_client)
    admin = headers(Role.ADMIN)
    checked = 0
    for method, path, permission in _operations(sqlite_client):
        assert permission is not None, f"{method} {path} declares no permission"
        if permission == "signed-in":
            continue
        needed = Permission(permission)
        callers = [headers(role) for role in Role if needed not in ROLE_PERMISSIONS[role]][:1]
        callers.append(_key_without(sqlite_client, admin, needed))
        for caller in callers:
            response = _call(sqlite_client, method, path, caller)
            assert response.status_code == 403, (method, path, response.text)
            assert permission in response.json()["detail"]
            checked += 1
    assert checked > 40


@pytest.mark.parametrize("path", sorted(PUBLIC_PATHS))
def test_only_health_and_login_are_public(path: str, sqlite_client: TestClient):
    response = (
        sqlite_client.get("/healthz")
        if path == "/healthz"
        else sqlite_client.post(path, json={"username": "admin", "password": "wrong-password"})
    )
    assert response.status_code in (200, 401)
