"""GET /api/v1/finance/reports/<name>: JSON, the same figures as an Excel workbook, and refusals."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook

from presale_erp.adapters.exporting import finance_reports as sheets
from presale_erp.adapters.exporting.sheets import XLSX_MEDIA_TYPE
from presale_erp.domain.access import Role
from tests.integration import finance_report_data

BASE = "/api/v1/finance/reports"
REPORTS = [
    ("cash?date_from=2026-10-01&date_to=2026-10-31", "rows", sheets.CASH),
    ("cash-gap?campaign=C-1111", "rows", sheets.CASH_GAP),
    ("pnl?group_by=sku", "rows", sheets.keyed("sku", sheets.PNL)),
    ("pnl?group_by=month", "rows", sheets.keyed("month", sheets.PNL)),
    ("refund-rates?group_by=shop", "rows", sheets.keyed("shop", sheets.REFUND_RATES)),
    ("inventory-valuation", "warehouses", sheets.VALUATION_BY_WAREHOUSE),
]


@pytest.fixture
def finance(client, db, as_role):
    finance_report_data.load(db)
    return as_role(Role.FINANCE)


def test_pnl_by_sku_as_json_keeps_money_exact(client, finance):
    response = client.get(f"{BASE}/pnl", params={"group_by": "sku", "sku": "TEA"}, headers=finance)

    assert response.status_code == 200, response.text
    [tea] = response.json()["rows"]
    assert (tea["key"], tea["net_revenue"], tea["cogs"], tea["gross_margin"], tea["fees"], tea["net_profit"]) == (
        "TEA",
        "235.00",
        "118.50",
        "0.4957",
        "14.51",
        "101.99",
    )


@pytest.mark.parametrize(("path", "rows_key", "columns"), REPORTS)
def test_the_excel_export_holds_the_same_figures_as_the_json(client, finance, path, rows_key, columns):
    as_json = client.get(f"{BASE}/{path}", headers=finance).json()[rows_key]
    response = client.get(
        f"{BASE}/{path}&format=xlsx" if "?" in path else f"{BASE}/{path}?format=xlsx", headers=finance
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    sheet = load_workbook(BytesIO(response.content)).worksheets[0]
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == [column.header for column in columns]
    cells = list(sheet.iter_rows(min_row=2, max_row=len(as_json) + 1))
    assert len(as_json) > 0 and len(cells) == len(as_json)
    for row, line in zip(as_json, cells, strict=True):
        assert [_from_cell(cell.value, column.kind) for cell, column in zip(line, columns, strict=True)] == [
            _from_json(row[column.key], column.kind) for column in columns
        ]
        money = [cell for cell, column in zip(line, columns, strict=True) if column.kind == "money"]
        assert all(cell.number_format == "#,##0.00" for cell in money if cell.value is not None)


def _from_cell(value, kind):
    if value is None:
        return None
    if kind == "date":
        return value.date() if isinstance(value, datetime) else value
    if kind in ("money", "ratio"):
        return Decimal(str(value)).quantize(Decimal("0.0001"))
    return value


def _from_json(value, kind):
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(value)
    if kind in ("money", "ratio"):
        return Decimal(value).quantize(Decimal("0.0001"))
    return value


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("pnl?shop=NOPE", "no shop with code 'NOPE'"),
        ("pnl?date_from=2026-11-02&date_to=2026-11-01", "after"),
        ("cash?warehouse=HZ", "cannot be filtered by warehouse"),
        ("cash-gap", "campaign"),
    ],
)
def test_bad_filters_answer_with_problem_details(client, finance, path, detail):
    response = client.get(f"{BASE}/{path}", headers=finance)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("path", ["pnl?group_by=buyer", "cash?date_from=2026-13-01", "pnl?format=pdf"])
def test_malformed_parameters_are_422_not_500(client, finance, path):
    response = client.get(f"{BASE}/{path}", headers=finance)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")


def test_reports_need_finance_read(client, finance, as_role):
    response = client.get(f"{BASE}/pnl", headers=as_role(Role.WAREHOUSE))

    assert response.status_code == 403
