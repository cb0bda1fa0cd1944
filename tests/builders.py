"""Set up master data through the real use cases, in a line or two per test."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.domain.warehouse import WarehouseKind, ZoneKind
from presale_erp.services import catalog, stock, warehouses
from tests.conftest import NOW


def warehouse(db: Database, code: str = "HZ", bins: tuple[str, ...] = ("A-01", "A-02"), now: datetime = NOW) -> None:
    warehouses.create_warehouse(
        db,
        SYSTEM,
        code=code,
        name=f"{code} 仓",
        kind=WarehouseKind.OWN,
        provider=None,
        province="浙江省",
        city="杭州市",
        address=None,
        now=now,
    )
    warehouses.create_zone(db, SYSTEM, warehouse=code, code="A", name="存储区", kind=ZoneKind.STORAGE, now=now)
    warehouses.create_bins(db, SYSTEM, warehouse=code, zone="A", codes=list(bins), now=now)


def sku(db: Database, code: str = "TEA-250G", *, presale: bool = True, product: str | None = None) -> None:
    product = product or f"P-{code}"
    catalog.create_product(db, SYSTEM, code=product, name=f"{product} 商品", category="茶叶", now=NOW)
    catalog.create_sku(
        db,
        SYSTEM,
        catalog.NewSku(code, product, f"{code} 规格", None, 300, presale, Decimal("80.00"), Decimal("198.00")),
        now=NOW,
    )


def shop(db: Database, code: str = "TM-1") -> None:
    catalog.create_shop(
        db,
        SYSTEM,
        code=code,
        name=f"{code} 店",
        platform=Platform.TMALL,
        platform_shop_id=f"id-{code}",
        stock_lock_policy=StockLockPolicy.ON_DEPOSIT,
        now=NOW,
    )


def receive(db: Database, sku_code: str, wh: str, quantity: int, bin: str = "A-01", *, id: str | None = None) -> None:
    stock.post_movement(
        db,
        SYSTEM,
        id or f"rcv:{sku_code}:{wh}:{bin}:{quantity}",
        MovementRequest(MovementKind.RECEIPT, sku_code, wh, quantity, bin=bin),
        reference="PO-1",
        now=NOW,
    )


def stocked(db: Database, quantity: int = 20, *, sku_code: str = "TEA-250G", wh: str = "HZ") -> None:
    """One warehouse, one SKU, `quantity` units on the shelf in bin A-01."""
    warehouse(db, wh)
    sku(db, sku_code)
    if quantity:
        receive(db, sku_code, wh, quantity)


def run_sql(db: Database, statements: list[str]) -> None:
    """Statements of the test's own (a trigger that makes the database refuse a write, say), committed."""
    with db.uow() as uow:
        for statement in statements:
            uow.conn.exec_driver_sql(statement)
        uow.commit()
