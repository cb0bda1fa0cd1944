"""An order sheet (Excel .xlsx or CSV, UTF-8 or GB18030) with one row per order line, headers in Chinese or
English, turned into offline order payloads, one per order number. A row that cannot be read still becomes
part of its order's payload, so intake refuses that order with the reason and keeps it as a dead letter."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

# header -> field; the Chinese names are the ones ERP exports use.
HEADERS = {
    "订单号": "order_id",
    "order_id": "order_id",
    "状态": "status",
    "status": "status",
    "下单时间": "created_at",
    "created_at": "created_at",
    "付款时间": "paid_at",
    "paid_at": "paid_at",
    "修改时间": "modified_at",
    "modified_at": "modified_at",
    "收货人": "name",
    "name": "name",
    "手机": "phone",
    "phone": "phone",
    "省": "province",
    "province": "province",
    "市": "city",
    "city": "city",
    "区": "district",
    "district": "district",
    "地址": "street",
    "street": "street",
    "商家编码": "sku_code",
    "sku_code": "sku_code",
    "商品名称": "title",
    "title": "title",
    "数量": "quantity",
    "quantity": "quantity",
    "单价": "unit_price",
    "unit_price": "unit_price",
    "运费": "postage",
    "postage": "postage",
    "买家留言": "buyer_remark",
    "buyer_remark": "buyer_remark",
    "卖家备注": "seller_remark",
    "seller_remark": "seller_remark",
    "预售": "presale",
    "presale": "presale",
    "计划发货时间": "planned_ship_at",
    "planned_ship_at": "planned_ship_at",
    "最晚发货时间": "latest_ship_at",
    "latest_ship_at": "latest_ship_at",
}
REQUIRED = ("order_id", "created_at", "sku_code", "quantity", "unit_price")
YES = {"是", "y", "yes", "true", "1", "预售"}


class SheetError(ValueError):
    """The file as a whole cannot be read (wrong type, missing columns)."""


def read_rows(path: Path) -> list[dict[str, Any]]:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        sheet = load_workbook(path, read_only=True, data_only=True).active
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
    elif suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise SheetError(f"{path.name} is neither UTF-8 nor GB18030 text")
        table = list(csv.reader(io.StringIO(text)))
    else:
        raise SheetError(f"{path.name}: give an .xlsx or .csv file")
    if not table:
        raise SheetError(f"{path.name} is empty")
    header = [HEADERS.get(str(h).strip()) if h is not None else None for h in table[0]]
    missing = [f for f in REQUIRED if f not in header]
    if missing:
        raise SheetError(
            f"{path.name} lacks the column(s) {', '.join(missing)} (e.g. 订单号, 下单时间, 商家编码, 数量, 单价)"
        )
    rows = []
    for values in table[1:]:
        if all(v in (None, "") for v in values):
            continue
        rows.append({field: value for field, value in zip(header, values, strict=False) if field})
    return rows


def payloads(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group the lines into one offline payload per order number, in the order the file lists them."""
    orders: dict[str, dict[str, Any]] = {}
    for row in rows:
        order_id = _text(row.get("order_id"))
        payload = orders.setdefault(
            order_id,
            {
                "order_id": order_id,
                "status": _text(row.get("status")) or "paid",
                "created_at": _time(row.get("created_at")),
                "paid_at": _time(row.get("paid_at")),
                "modified_at": _time(row.get("modified_at")),
                "latest_ship_at": _time(row.get("latest_ship_at")),
                "postage": _money(row.get("postage")) or "0.00",
                "buyer": {
                    "name": _text(row.get("name")),
                    "phone": _text(row.get("phone")),
                    "province": _text(row.get("province")),
                    "city": _text(row.get("city")),
                    "district": _text(row.get("district")),
                    "street": _text(row.get("street")),
                },
                "buyer_remark": _text(row.get("buyer_remark")),
                "seller_remark": _text(row.get("seller_remark")),
                "lines": [],
            },
        )
        payload["lines"].append(
            {
                "sku_code": _text(row.get("sku_code")),
                "title": _text(row.get("title")),
                "quantity": _quantity(row.get("quantity")),
                "unit_price": _money(row.get("unit_price")),
                "presale": _text(row.get("presale")).lower() in YES,
                "planned_ship_at": _time(row.get("planned_ship_at")),
            }
        )
    return list(orders.values())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel turns long order numbers and phones into numbers
    return str(value).strip()


def _time(value: Any) -> str | None:
    if value in (None, ""):
        return None
    return value.isoformat(sep=" ") if hasattr(value, "isoformat") else str(value).strip()


def _money(value: Any) -> Any:
    if value in (None, ""):
        return None
    if isinstance(value, float):
        return str(Decimal(repr(value)))  # Excel keeps numbers as floats: its shortest repr is what was typed
    return str(value).strip()


def _quantity(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if not isinstance(value, str) else value.strip()
