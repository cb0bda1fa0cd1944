"""API fixtures: the real app on the test database, and a signed-in client for each job role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.api.app import create_app
from presale_erp.domain.access import SYSTEM, Role
from presale_erp.services import auth
from presale_erp.settings import Settings
from tests.conftest import NOW

PASSWORD = "correct-horse-battery"


def _app_client(db: Database, tmp_path: Path) -> TestClient:
    settings = Settings(data_dir=tmp_path, database_url="sqlite://")
    return TestClient(create_app(settings, db=db), raise_server_exceptions=False)


def _signer(client: TestClient) -> Callable[[Role], dict[str, str]]:
    tokens: dict[Role, dict[str, str]] = {}

    def headers(role: Role) -> dict[str, str]:
        if role not in tokens:
            # Users are made on first use: argon2 is slow on purpose, and most tests need two or three roles.
            db: Database = client.app.state.db
            auth.create_user(
                db,
                SYSTEM,
                username=role.value.replace("_", "-"),
                display_name=role.value,
                password=PASSWORD,
                roles=[role],
                now=NOW,
            )
            response = client.post(
                "/api/v1/auth/login", json={"username": role.value.replace("_", "-"), "password": PASSWORD}
            )
            assert response.status_code == 200, response.text
            tokens[role] = {"Authorization": f"Bearer {response.json()['access_token']}"}
        return tokens[role]

    return headers


@pytest.fixture
def client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    with _app_client(db, tmp_path) as c:
        yield c


@pytest.fixture
def as_role(client: TestClient) -> Callable[[Role], dict[str, str]]:
    return _signer(client)


@pytest.fixture
def sqlite_client(sqlite_template: Path, tmp_path: Path) -> Iterator[TestClient]:
    import shutil

    path = tmp_path / "api.db"
    shutil.copy(sqlite_template, path)
    db = Database(make_engine(f"sqlite:///{path}"))
    with _app_client(db, tmp_path) as c:
        yield c
    db.dispose()
