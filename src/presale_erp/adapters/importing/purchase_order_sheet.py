"""A purchase order sheet (Excel .xlsx), one row per line, columns found by name (Chinese or English), read
into plain rows numbered as the spreadsheet numbers them. Checking the values is the service's job."""

from __future__ import annotations

import io
from typing import Any
from zipfile import BadZipFile

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

# header -> field; the Chinese names are those of 旺店通 / 聚水潭 purchase exports.
HEADERS = {
    "采购单号": "ref",
    "单号": "ref",
    "ref": "ref",
    "供应商": "supplier",
    "供应商编码": "supplier",
    "supplier": "supplier",
    "仓库": "warehouse",
    "仓库编码": "warehouse",
    "warehouse": "warehouse",
    "sku": "sku",
    "商家编码": "sku",
    "规格编码": "sku",
    "数量": "quantity",
    "采购数量": "quantity",
    "quantity": "quantity",
    "单价": "unit_cost",
    "采购单价": "unit_cost",
    "unit_cost": "unit_cost",
    "承诺交期": "promised_on",
    "交期": "promised_on",
    "预计到货": "promised_on",
    "promised_on": "promised_on",
    "备注": "note",
    "note": "note",
}
REQUIRED = ("supplier", "warehouse", "sku", "quantity", "unit_cost")


class SheetError(ValueError):
    """The file as a whole cannot be read (not an .xlsx, missing columns)."""


def _field(header: Any) -> str | None:
    name = str(header or "").strip()
    return HEADERS.get(name) or HEADERS.get(name.lower())


def read_rows(content: bytes) -> list[dict[str, Any]]:
    """Rows as {field: cell value, "row": spreadsheet row number}; blank rows are skipped."""
    try:
        sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise SheetError(f"Not a readable .xlsx file: {exc}") from None
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    if not table:
        raise SheetError("The sheet is empty.")
    fields = [_field(h) for h in table[0]]
    missing = [name for name in REQUIRED if name not in fields]
    if missing:
        known = ", ".join(sorted({k for k, v in HEADERS.items() if v in missing}))
        raise SheetError(f"Missing column(s) {', '.join(missing)}; name them e.g. {known}.")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        row: dict[str, Any] = {"row": number}
        for field, value in zip(fields, cells, strict=False):
            if field:
                row[field] = value
        rows.append(row)
    return rows
