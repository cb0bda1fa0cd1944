"""Master data use cases: products and SKUs (商品), shops on each platform (店铺)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.tables import products, shops, skus
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.catalog import Platform, Sku, StockLockPolicy, check_code
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound


def create_product(
    db: Database, actor: Actor, *, code: str, name: str, category: str | None, now: datetime
) -> dict[str, Any]:
    check_code("Product", code)
    _need_name("Product", name)
    with db.uow() as uow:
        if repo.exists(uow.conn, products, code=code):
            raise Conflict(f"A product with code {code} already exists.")
        row = {
            "code": code,
            "name": name.strip(),
            "category": category,
            "created_at": now,
            "created_by": actor.label,
        }
        row["id"] = repo.insert(uow.conn, products, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="product.create",
            entity="product",
            entity_id=code,
            at=now,
            details={"name": name},
        )
        uow.commit()
        return row


@dataclass(frozen=True)
class NewSku:
    code: str
    product: str
    name: str
    barcode: str | None
    weight_grams: int
    presale_capable: bool
    unit_cost: Decimal | None = None
    list_price: Decimal | None = None


def create_sku(db: Database, actor: Actor, new: NewSku, *, now: datetime) -> dict[str, Any]:
    sku = Sku(
        new.code,
        new.product,
        new.name,
        new.barcode or None,
        new.weight_grams,
        new.presale_capable,
        new.unit_cost,
        new.list_price,
    )
    _need_name("SKU", new.name)
    with db.uow() as uow:
        conn = uow.conn
        product = repo.product_by_code(conn, new.product)
        if product is None:
            raise NotFound(f"No product with code {new.product}; create the product first.")
        if repo.exists(conn, skus, code=sku.code):
            raise Conflict(f"A SKU with code {sku.code} already exists.")
        if sku.barcode and repo.exists(conn, skus, barcode=sku.barcode):
            raise Conflict(f"Barcode {sku.barcode} already belongs to another SKU.")
        row = {
            "code": sku.code,
            "product_id": product["id"],
            "name": sku.name.strip(),
            "barcode": sku.barcode,
            "weight_grams": sku.weight_grams,
            "presale_capable": sku.presale_capable,
            "unit_cost": sku.unit_cost,
            "list_price": sku.list_price,
            "created_at": now,
            "created_by": actor.label,
        }
        row["id"] = repo.insert(conn, skus, row)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="sku.create",
            entity="sku",
            entity_id=sku.code,
            at=now,
            details={"product": new.product, "barcode": sku.barcode},
        )
        uow.commit()
        return {**row, "product_code": new.product}


def create_shop(
    db: Database,
    actor: Actor,
    *,
    code: str,
    name: str,
    platform: Platform,
    platform_shop_id: str,
    stock_lock_policy: StockLockPolicy,
    now: datetime,
) -> dict[str, Any]:
    check_code("Shop", code)
    _need_name("Shop", name)
    if not platform_shop_id.strip():
        raise InvalidRequest("A shop needs the platform's own id for it (platform_shop_id).")
    with db.uow() as uow:
        conn = uow.conn
        if repo.exists(conn, shops, code=code):
            raise Conflict(f"A shop with code {code} already exists.")
        if repo.exists(conn, shops, platform=platform.value, platform_shop_id=platform_shop_id):
            raise Conflict(f"Shop {platform_shop_id} on {platform.value} is already set up.")
        row = {
            "code": code,
            "name": name.strip(),
            "platform": platform.value,
            "platform_shop_id": platform_shop_id,
            "stock_lock_policy": stock_lock_policy.value,
            "lock_warehouse_id": None,
            "financial_review": False,
            "active": True,
            "created_at": now,
            "created_by": actor.label,
        }
        row["id"] = repo.insert(conn, shops, row)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="shop.create",
            entity="shop",
            entity_id=code,
            at=now,
            details={"platform": platform.value},
        )
        uow.commit()
        return row


def _need_name(kind: str, name: str) -> None:
    if not name or not name.strip():
        raise InvalidRequest(f"{kind} name cannot be empty.")


def list_products(db: Database, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with db.uow(write=False) as uow:
        return repo.page(uow.conn, products, limit=limit, offset=offset)


def list_skus(
    db: Database, *, product: str | None, presale_capable: bool | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    with db.uow(write=False) as uow:
        return repo.sku_page(uow.conn, product=product, presale_capable=presale_capable, limit=limit, offset=offset)


def get_sku(db: Database, code: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        row = repo.sku_by_code(uow.conn, code)
    if row is None:
        raise NotFound(f"No SKU with code {code}.")
    return row


def list_shops(db: Database, *, platform: Platform | None, limit: int, offset: int):
    with db.uow(write=False) as uow:
        return repo.page(uow.conn, shops, limit=limit, offset=offset, platform=platform.value if platform else None)


def set_stock_locking(
    db: Database, actor: Actor, shop: str, *, policy: StockLockPolicy, warehouse: str | None, now: datetime
) -> dict[str, Any]:
    """When this shop's orders lock stock (下单锁 / 付定金锁 / 付款锁) and in which warehouse; with no warehouse,
    orders lock nothing at intake and stock is locked when they are allocated."""
    with db.uow() as uow:
        conn = uow.conn
        row = repo.shop_by_code(conn, shop)
        if row is None:
            raise NotFound(f"No shop with code {shop}.")
        warehouse_id = lookups.warehouse_ids(conn, [warehouse])[warehouse] if warehouse else None
        repo.update_shop(conn, row["id"], stock_lock_policy=policy.value, lock_warehouse_id=warehouse_id)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="shop.locking",
            entity="shop",
            entity_id=shop,
            at=now,
            details={"policy": policy.value, "warehouse": warehouse},
        )
        uow.commit()
        return repo.shop_by_code(conn, shop) | {"lock_warehouse": warehouse}


def set_financial_review(db: Database, actor: Actor, shop: str, *, enabled: bool, now: datetime) -> dict[str, Any]:
    """A second, financial review (财审) after customer service approves (客审), for this shop's orders."""
    with db.uow() as uow:
        row = repo.shop_by_code(uow.conn, shop)
        if row is None:
            raise NotFound(f"No shop with code {shop}.")
        repo.update_shop(uow.conn, row["id"], financial_review=enabled)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="shop.financial_review",
            entity="shop",
            entity_id=shop,
            at=now,
            details={"enabled": enabled},
        )
        uow.commit()
        return repo.shop_by_code(uow.conn, shop)
