"""Reconciliation over HTTP: finance uploads a bill as downloaded, lists imports and findings, resolves one;
a re-upload answers the first import; bad files are 4xx problems; other roles are refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from presale_erp.domain.access import SYSTEM, Role
from presale_erp.services import payments
from tests import finance_builders as fb
from tests.conftest import NOW
from tests.settlement_builders import OPENED, alipay_account_bill, push

URL = "/api/v1/finance/settlements"
BILL = [
    ("2026103122007001", "T200P7001", "红茶礼盒", OPENED, "199.00", "交易付款"),
    ("2026103122007002", "T200P7002", "红茶礼盒", OPENED, "190.00", "交易付款"),  # 199.00 in the ledger
    ("2026103190007001", "T200P7001", "佣金", OPENED, "-9.95", "收费|天猫佣金"),
]


@pytest.fixture
def finance(db, client: TestClient, as_role) -> dict[str, str]:
    fb.shop_and_stock(db, 0)
    for order in ("7001", "7002"):
        push(db, order)
    payments.record_from_orders(db, SYSTEM, since=NOW.replace(year=2025), now=NOW)
    return as_role(Role.FINANCE)


def test_finance_uploads_a_bill_sees_the_difference_and_resolves_it(client: TestClient, finance):
    bill = alipay_account_bill(BILL)

    first = client.post(URL, params={"shop": "TM-1", "file_name": "账务明细.csv"}, content=bill, headers=finance)
    again = client.post(URL, params={"shop": "TM-1", "file_name": "again.csv"}, content=bill, headers=finance)

    assert first.status_code == 201, first.text
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"] and again.json()["already_imported"]
    assert first.json()["findings"] == {"missing": 0, "extra": 0, "mismatch": 1}
    listed = client.get(URL, headers=finance).json()
    assert listed["total"] == 1 and listed["items"][0]["shops"] == ["TM-1"]
    found = client.get(
        "/api/v1/finance/reconciliation-findings", params={"kind": "mismatch", "resolved": "false"}, headers=finance
    ).json()
    (finding,) = found["items"]
    assert (finding["order_ref"], finding["expected"], finding["actual"], finding["difference"]) == (
        "7002", "199.00", "190.00", "-9.00",
    )  # fmt: skip
    resolved = client.post(
        f"/api/v1/finance/reconciliation-findings/{finding['id']}/resolve", json={"note": "平台补结"}, headers=finance
    )
    assert resolved.status_code == 200 and resolved.json()["resolution_note"] == "平台补结"
    assert client.get(f"{URL}/{first.json()['id']}", headers=finance).json()["line_count"] == 3


@pytest.mark.parametrize(
    ("params", "content", "status", "words"),
    [
        ({"shop": "TM-1"}, b"", 422, "empty"),
        ({"shop": "TM-1"}, b"\x89PNG\r\n\x1a\n\x00\x00", 422, "not a text bill"),
        ({"shop": "TM-1"}, "随便,什么\n1,2\n".encode("gbk"), 422, "not a bill"),
        ({"shop": "NOPE"}, None, 404, "NOPE"),
        ({}, None, 422, "shop"),
        ({"shop": "TM-1", "format": "wechat_trade"}, None, 422, "no header row with the columns 交易时间, 微信订单号"),
        ({"shop": "TM-1", "period_start": "2026-10-31T00:00:00+08:00"}, None, 422, "both"),
    ],
    ids=["empty", "binary", "garbage", "unknown-shop", "no-shop", "wrong-format", "half-period"],
)
def test_a_bad_upload_is_a_clear_problem_and_imports_nothing(
    client: TestClient, finance, params, content, status, words
):
    body = alipay_account_bill(BILL) if content is None else content

    response = client.post(URL, params=params, content=body, headers=finance)

    assert response.status_code == status, response.text
    assert words in response.text
    assert client.get(URL, headers=finance).json()["total"] == 0


def test_only_finance_reads_and_writes_reconciliation(client: TestClient, finance, as_role):
    viewer, service = as_role(Role.VIEWER), as_role(Role.CUSTOMER_SERVICE)

    assert client.post(URL, params={"shop": "TM-1"}, content=b"x", headers=viewer).status_code == 403
    assert client.get(URL, headers=service).status_code == 403
    assert client.get("/api/v1/finance/reconciliation-findings", headers=viewer).status_code == 403
    assert client.get(URL).status_code == 401
