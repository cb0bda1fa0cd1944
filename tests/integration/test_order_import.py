"""Offline orders from Excel and CSV sheets (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.tables import dead_letters, order_lines, orders
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.errors import InvalidRequest
from presale_erp.services import catalog, intake
from tests.conftest import NOW

CIPHER = PiiCipher(b"i" * 32)
HEADER = [
    "订单号",
    "下单时间",
    "收货人",
    "手机",
    "省",
    "市",
    "区",
    "地址",
    "商家编码",
    "数量",
    "单价",
    "预售",
    "计划发货时间",
    "买家留言",
]
ROWS = [
    [
        "OFF-1001",
        "2026-11-01 10:00:00",
        "李雷",
        "13812345678",
        "浙江省",
        "杭州市",
        "西湖区",
        "文三路 90 号",
        "TEA-LJ-250G",
        2,
        398.0,
        "是",
        "2026-11-20 00:00:00",
        "",
    ],
    [
        "OFF-1001",
        "2026-11-01 10:00:00",
        "李雷",
        "13812345678",
        "浙江省",
        "杭州市",
        "西湖区",
        "文三路 90 号",
        "TEA-TIN-S",
        1,
        99.0,
        "否",
        "",
        "",
    ],
    [
        "OFF-1002",
        "2026-11-01 11:30:00",
        "韩梅梅",
        "13900001111",
        "广东省",
        "广州市",
        "天河区",
        "体育西路 1 号",
        "CUP-SET-6",
        1,
        599.0,
        "否",
        "",
        "周末送",
    ],
    [
        "OFF-1003",
        "not a date",
        "王五",
        "13700002222",
        "上海市",
        "上海市",
        "浦东新区",
        "世纪大道 8 号",
        "TEA-TIN-S",
        1,
        99.0,
        "否",
        "",
        "",
    ],
]


@pytest.fixture
def offline_shop(db) -> str:
    catalog.create_shop(
        db,
        SYSTEM,
        code="OFFLINE",
        name="门店与批发",
        platform=Platform.OFFLINE,
        platform_shop_id="store-1",
        stock_lock_policy=StockLockPolicy.ON_PAYMENT,
        now=NOW,
    )
    return "OFFLINE"


def xlsx(path: Path) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER)
    for row in ROWS:
        sheet.append(row)
    book.save(path)
    return path


def csv_file(path: Path, encoding: str) -> Path:
    lines = [",".join(HEADER)] + [",".join(str(v) for v in row) for row in ROWS]
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


@pytest.mark.parametrize("kind", ["xlsx", "csv-utf8", "csv-gb18030"])
def test_a_sheet_becomes_one_order_per_order_number_and_bad_orders_are_kept(db, offline_shop, tmp_path, kind):
    path = (
        xlsx(tmp_path / "orders.xlsx")
        if kind == "xlsx"
        else csv_file(tmp_path / "orders.csv", "utf-8" if kind == "csv-utf8" else "gb18030")
    )

    report = intake.import_file(db, CIPHER, SYSTEM, offline_shop, path, now=NOW)

    assert (report.received, report.created, report.dead_lettered) == (3, 2, 1)
    with db.uow(write=False) as uow:
        stored = uow.conn.execute(
            select(orders.c.platform_order_id, orders.c.total_amount, orders.c.mixed_presale).order_by(
                orders.c.platform_order_id
            )
        ).all()
        lines = uow.conn.execute(
            select(order_lines.c.sku_code, order_lines.c.presale).order_by(
                order_lines.c.order_id, order_lines.c.line_no
            )
        ).all()
        reason = uow.conn.execute(select(dead_letters.c.reason)).scalar_one()
    assert [tuple(s) for s in stored] == [("OFF-1001", 895, True), ("OFF-1002", 599, False)]
    assert [tuple(x) for x in lines] == [("TEA-LJ-250G", True), ("TEA-TIN-S", False), ("CUP-SET-6", False)]
    assert "created_at should be a time" in reason


def test_importing_a_corrected_sheet_again_updates_rather_than_duplicates(db, offline_shop, tmp_path):
    path = xlsx(tmp_path / "orders.xlsx")
    intake.import_file(db, CIPHER, SYSTEM, offline_shop, path, now=NOW)

    again = intake.import_file(db, CIPHER, SYSTEM, offline_shop, path, now=NOW + timedelta(hours=1))

    assert (again.created, again.updated) == (0, 2)
    with db.uow(write=False) as uow:
        assert len(uow.conn.execute(select(orders.c.id)).all()) == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"a,b,c\n1,2,3\n", "lacks the column"), (b"", "is empty")],
)
def test_a_sheet_that_cannot_be_read_is_refused_with_the_reason(db, offline_shop, tmp_path, content, message):
    path = tmp_path / "orders.csv"
    path.write_bytes(content)

    with pytest.raises(InvalidRequest, match=message):
        intake.import_file(db, CIPHER, SYSTEM, offline_shop, path, now=NOW)


def test_only_an_offline_shop_takes_imported_files(db, tmp_path):
    catalog.create_shop(
        db,
        SYSTEM,
        code="TB",
        name="淘宝",
        platform=Platform.TAOBAO,
        platform_shop_id="tb",
        stock_lock_policy=StockLockPolicy.ON_PAYMENT,
        now=NOW,
    )

    with pytest.raises(InvalidRequest, match="into an offline shop"):
        intake.import_file(db, CIPHER, SYSTEM, "TB", xlsx(tmp_path / "o.xlsx"), now=NOW)
