"""What every bill format shares: decoding (UTF-8 or the GBK family), finding the header row among preamble
lines, reading rows by column name, and the value quirks (trailing tabs, backquotes, Beijing time).

Columns are found by their header text, never by position: each format lists, per field of ours, the header
texts that mean it; a row is read into those fields whatever the column order, extra columns are kept in `raw`
only, and a missing required column is refused by name."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import yuan

MAX_AMOUNT = Decimal("1000000000")  # yuan: more on one bill line is a damaged file, not money
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving since 1991: a fixed offset is exact
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y年%m月%d日 %H:%M:%S")
_PERIOD = re.compile(
    r"起始(?:日期|时间)[：:]\s*\[?(?P<start>[^\]]+?)\]?\s+终止(?:日期|时间)[：:]\s*\[?(?P<end>[^\]]+?)\]?[\s,]*$"
)


@dataclass(frozen=True)
class Row:
    number: int  # line number in the file, 1-based, for messages
    values: dict[str, str]  # our field -> cleaned text ("" where the column is absent or empty)
    raw: dict[str, str]  # header text -> cleaned text, every column the file has
    names: dict[str, str]  # our field -> the header text it came from, for messages


@dataclass(frozen=True)
class Table:
    preamble: list[str]  # lines before the header, as text
    rows: list[Row]
    trailer: list[list[str]]  # rows after the detail rows (summary lines), cleaned


def decode(content: bytes, source: str) -> str:
    """UTF-8 (API downloads, our samples) or GB18030, the superset of the GBK the portals export."""
    if not content.strip():
        raise InvalidRequest(f"{source} is empty.")
    if b"\x00" in content[:4096]:
        raise InvalidRequest(f"{source} is not a text bill (it holds binary data); give the CSV or its ZIP.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidRequest(f"{source} is neither UTF-8 nor GBK/GB18030 text.")


def clean(cell: str) -> str:
    """Strip the padding platforms add so Excel keeps long numbers as text: a trailing tab (Alipay), a leading
    backquote (WeChat Pay), plus a BOM and surrounding spaces."""
    return cell.replace("\ufeff", "").strip().lstrip("`").strip()


def header_key(text: str) -> str:
    """Header texts compared without width or spacing differences: 收入金额（+元） == 收入金额(+元)."""
    return clean(text).replace("（", "(").replace("）", ")").replace(" ", "")


def read_table(
    text: str,
    columns: dict[str, Sequence[str]],
    required: Sequence[str],
    *,
    source: str,
    stop_at: Sequence[str] = ("#",),
) -> Table:
    """The detail table of a bill: the first row holding every required column is the header; detail rows run
    until a row starting with one of `stop_at` (the footer or the summary header)."""
    try:
        lines = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InvalidRequest(f"{source} is not readable CSV: {exc}.") from None
    wanted = {field: {header_key(name) for name in names} for field, names in columns.items()}
    header_at, fields = _header(lines, columns, wanted, required, source)
    headers = [clean(cell) for cell in lines[header_at]]
    names = {field: headers[i] for field, i in fields.items()}
    rows: list[Row] = []
    trailer: list[list[str]] = []
    for offset, cells in enumerate(lines[header_at + 1 :], start=header_at + 2):
        cleaned = [clean(cell) for cell in cells]
        if trailer or (cleaned and any(cleaned[0].startswith(mark) for mark in stop_at)):
            trailer.append(cleaned)
            continue
        if not any(cleaned):
            continue
        values = {field: (cleaned[i] if i < len(cleaned) else "") for field, i in fields.items()}
        values.update({field: "" for field in columns if field not in fields})
        raw = {name: (cleaned[i] if i < len(cleaned) else "") for i, name in enumerate(headers) if name}
        rows.append(Row(offset, values, raw, names))
    preamble = [",".join(cells).strip(", ") for cells in lines[:header_at]]
    return Table(preamble, rows, trailer)


def read_records(
    records: Sequence[dict[str, object]], columns: dict[str, Sequence[str]], required: Sequence[str], *, source: str
) -> list[Row]:
    """Rows from records already keyed by name (a JSON API answer), read through the same column names."""
    wanted = {field: {header_key(name) for name in names} for field, names in columns.items()}
    rows = []
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            raise InvalidRequest(f"{source}: record {number} is not an object with named fields.")
        raw = {str(k): "" if v is None else clean(str(v)) for k, v in record.items()}
        keys = {header_key(k): k for k in raw}
        names = {f: next((keys[n] for n in names if n in keys), "") for f, names in wanted.items()}
        missing = [columns[f][0] for f in required if not names[f]]
        if missing:
            raise InvalidRequest(f"{source}: record {number} lacks the field(s) {', '.join(missing)}.")
        values = {f: raw[name] if name else "" for f, name in names.items()}
        rows.append(Row(number, values, raw, {f: n for f, n in names.items() if n}))
    return rows


def _header(
    lines: list[list[str]],
    columns: dict[str, Sequence[str]],
    wanted: dict[str, set[str]],
    required: Sequence[str],
    source: str,
) -> tuple[int, dict[str, int]]:
    best: tuple[int, dict[str, int]] | None = None
    for number, cells in enumerate(lines[:60]):  # preambles are a handful of lines; garbage is not searched
        fields: dict[str, int] = {}
        for i, cell in enumerate(cells):
            key = header_key(cell)
            for field, names in wanted.items():
                if key in names and field not in fields:
                    fields[field] = i
        if all(field in fields for field in required):
            return number, fields
        if len(fields) >= 2 and (best is None or len(fields) > len(best[1])):
            best = (number, fields)
    if best is None:
        expected = ", ".join(columns[f][0] for f in required)
        raise InvalidRequest(f"{source}: no header row with the columns {expected} was found; is it the right file?")
    missing = [columns[f][0] for f in required if f not in best[1]]
    raise InvalidRequest(f"{source}: the header on line {best[0] + 1} lacks the column(s) {', '.join(missing)}.")


def amount(row: Row, field: str, source: str) -> Decimal:
    """Yuan with two decimals ("" is zero); WeChat's five-decimal fees are rounded to the fen they settle at."""
    text = row.values[field].replace(",", "")
    if text in ("", "-", "--"):
        return Decimal("0.00")
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or abs(value) > MAX_AMOUNT:
        name = row.names.get(field, field)
        raise InvalidRequest(f"{source} line {row.number}: {name} '{row.values[field]}' is not an amount.")
    return yuan(value)


def beijing_time(text: str, where: str) -> datetime:
    """A Beijing wall-clock time as the bills write it, as aware UTC."""
    value = clean(text)
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    raise InvalidRequest(f"{where}: '{value}' is not a time like 2026-11-01 20:00:00.")


def row_time(row: Row, field: str, source: str) -> datetime:
    return beijing_time(row.values[field], f"{source} line {row.number}")


def period(preamble: Sequence[str], source: str) -> tuple[datetime | None, datetime | None]:
    """The 起始/终止 dates of a preamble; an end on the last second of a day (23:59:59) is the next midnight, so
    every period is [start, end)."""
    for line in preamble:
        match = _PERIOD.search(line.lstrip("#"))
        if match:
            start = beijing_time(match["start"], source)
            end = beijing_time(match["end"], source)
            if end.second == 59:
                end += timedelta(seconds=1)
            return start, end
    return None, None
