"""One worksheet per table of report rows: Chinese headers in a frozen first row, money as #,##0.00 yuan,
ratios as percentages, a bold totals row at the end. Values are written as numbers (Decimal), so a merchant can
sum and filter them in Excel or WPS. Written in openpyxl's streaming (write-only) mode: a report of thousands of
rows takes well under a second, not the time of building every cell as an object first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

FORMATS = {"money": "#,##0.00", "ratio": "0.00%", "int": "#,##0", "date": "yyyy-mm-dd", "text": "@"}
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BOLD = Font(bold=True)


@dataclass(frozen=True)
class Column:
    key: str
    header: str  # 中文表头
    kind: str = "text"  # money | ratio | int | date | text


@dataclass(frozen=True)
class Table:
    title: str  # the sheet's name (Excel allows 31 characters)
    columns: Sequence[Column]
    rows: Sequence[dict[str, Any]]
    totals: dict[str, Any] | None = None


def workbook(tables: Sequence[Table]) -> bytes:
    """The tables as an .xlsx file, one sheet each, in the order given."""
    book = Workbook(write_only=True)
    for table in tables:
        _fill(book.create_sheet(table.title[:31]), table)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def _fill(sheet: WriteOnlyWorksheet, table: Table) -> None:
    sheet.freeze_panes = "A2"
    for index, column in enumerate(table.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = max(12, len(column.header) * 2 + 4)
    sheet.append([_cell(sheet, column.header, None, bold=True) for column in table.columns])
    for row in table.rows:
        sheet.append([_cell(sheet, row.get(column.key), column.kind) for column in table.columns])
    if table.totals is not None:
        totals = {**table.totals, table.columns[0].key: "合计"}
        sheet.append([_cell(sheet, totals.get(column.key), column.kind, bold=True) for column in table.columns])


def _cell(sheet: WriteOnlyWorksheet, value: Any, kind: str | None, *, bold: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    if kind is not None and value is not None and not isinstance(value, str):
        cell.number_format = FORMATS[kind]
    if bold:
        cell.font = BOLD
    return cell
