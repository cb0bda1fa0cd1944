"""The `presale-erp` command as an operator uses it: seed and serve the demo, clear errors, no tracebacks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRESALE_ERP_") and k != "DATABASE_URL"}
    return {**env, "PRESALE_ERP_DATA_DIR": str(data_dir), **extra}


def cli(data_dir: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "presale_erp", *args],
        env=_env(data_dir, **extra),
        capture_output=True,
        check=False,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("demo")
    result = cli(data_dir, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert "demo seeded" in result.stdout
    return data_dir


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(seeded: Path) -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "presale_erp", "serve", "--port", str(port)],
        env=_env(seeded),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{base}/healthz").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=20)


def test_seeding_twice_leaves_the_demo_as_it_is(seeded: Path):
    again = cli(seeded, "demo", "--no-serve")

    assert again.returncode == 0
    assert "already present" in again.stdout


def test_the_served_demo_answers_health_openapi_and_stock_with_a_token(server: str):
    assert httpx.get(f"{server}/healthz").json()["status"] == "ok"
    assert "/api/v1/stock" in httpx.get(f"{server}/openapi.json").json()["paths"]
    token = httpx.post(
        f"{server}/api/v1/auth/login", json={"username": "cangku", "password": "cangku-demo-pass"}
    ).json()["access_token"]

    stock = httpx.get(
        f"{server}/api/v1/stock", params={"limit": 500}, headers={"Authorization": f"Bearer {token}"}
    ).json()

    skus = {item["sku"] for item in stock["items"]}
    warehouses = {item["warehouse"] for item in stock["items"]}
    assert {"TEA-LJ-250G", "MOON-GIFT-6", "CUP-SET-6"} <= skus
    assert warehouses == {"HZ", "GZ", "SH-3PL"}
    presale = next(i for i in stock["items"] if (i["sku"], i["warehouse"]) == ("TEA-LJ-250G", "HZ"))
    assert presale["presale_quota"] > 0 and presale["presale_booked"] > 0 and presale["in_transit_purchase"] == 600


def test_the_served_demo_shows_explained_alerts_for_its_presale_campaign(server: str):
    token = httpx.post(
        f"{server}/api/v1/auth/login", json={"username": "caigou", "password": "caigou-demo-pass"}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}

    campaign_alerts = httpx.get(
        f"{server}/api/v1/planning/alerts", params={"campaign": "DOUBLE11-2026"}, headers=headers
    ).json()
    presale = httpx.get(f"{server}/api/v1/planning/forecasts/presale", headers=headers).json()

    kinds = {a["kind"] for a in campaign_alerts}
    assert {"presale_ahead_of_stock", "overstock_after_campaign"} <= kinds
    for alert in campaign_alerts:
        assert alert["reason"] and alert["action"] and float(alert["money_at_stake"]) > 0
        assert "DOUBLE11-2026" in alert["title"]
        if alert["kind"] == "presale_ahead_of_stock":
            assert "80% range" in alert["reason"] and "balance" in alert["reason"]
    assert {r["sku"] for r in presale["rows"]} == {"TEA-LJ-250G", "TEA-LJ-100G", "MOON-GIFT-6", "MOON-GIFT-8"}
    assert all(r["low"] <= r["point"] <= r["high"] and "Past campaigns" in r["explanation"] for r in presale["rows"])
    assert httpx.get(f"{server}/api/v1/planning/suggestions", headers=headers).json()


def test_the_demo_ledger_balances(seeded: Path):
    result = cli(seeded, "ledger", "check")

    assert result.returncode == 0, result.stdout
    assert "ledger balances" in result.stdout


@pytest.mark.parametrize(
    ("args", "extra", "message"),
    [
        (("user", "create", "li.na", "--role", "boss", "--password", "long-enough-pw"), {}, "unknown role"),
        (("user", "create", "li.na", "--role", "finance", "--password", "short"), {}, "at least 8"),
        (
            ("user", "create", "admin", "--role", "finance", "--password", "long-enough-pw"),
            {},
            "already exists",
        ),
        (
            (
                "db",
                "upgrade",
            ),
            {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
            "cannot reach the database",
        ),
        (("orders", "import", "NOPE", "pyproject.toml"), {}, "No shop with code NOPE"),
        (("orders", "import", "TB-WESTLAKE", "pyproject.toml"), {}, "into an offline shop"),
        (("orders", "retry", "999"), {}, "No dead letter 999"),
    ],
    ids=[
        "unknown role",
        "short password",
        "existing user",
        "unreachable database",
        "unknown shop",
        "platform shop",
        "unknown dead letter",
    ],
)
def test_operator_mistakes_get_a_message_and_a_non_zero_exit(seeded: Path, args, extra, message):
    result = cli(seeded, *args, **extra)

    assert result.returncode != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_new_user_can_sign_in(seeded: Path, server: str):
    created = cli(
        seeded,
        "user",
        "create",
        "zhao.lei",
        "--role",
        "purchaser",
        "--display-name",
        "赵磊",
        PRESALE_ERP_NEW_USER_PASSWORD="purchaser-pass-1",
    )

    assert created.returncode == 0, created.stderr
    login = httpx.post(f"{server}/api/v1/auth/login", json={"username": "zhao.lei", "password": "purchaser-pass-1"})
    assert login.status_code == 200
    assert login.json()["roles"] == ["purchaser"]
