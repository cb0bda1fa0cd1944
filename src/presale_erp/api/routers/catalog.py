"""Products and SKUs (商品), platforms and shops (店铺)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, PageDep, actor_with
from presale_erp.api.schemas import PageOut
from presale_erp.domain.access import Permission
from presale_erp.domain.catalog import PLATFORM_NAMES_ZH, Platform, StockLockPolicy
from presale_erp.services import catalog

router = APIRouter(prefix="/api/v1", tags=["catalog"])
CatalogRead = actor_with(Permission.CATALOG_READ)
CatalogWrite = actor_with(Permission.CATALOG_WRITE)
ShopsRead = actor_with(Permission.SHOPS_READ)
ShopsWrite = actor_with(Permission.SHOPS_WRITE)
MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class ProductIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["TEA-LJ"])
    name: str = Field(min_length=1, max_length=200, examples=["明前龙井"])
    category: str | None = Field(default=None, max_length=120, examples=["茶叶"])


class ProductOut(BaseModel):
    code: str
    name: str
    category: str | None
    created_at: datetime
    created_by: str


class SkuIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["TEA-LJ-250G"])
    product: str = Field(min_length=1, max_length=64, description="Product code", examples=["TEA-LJ"])
    name: str = Field(min_length=1, max_length=200, examples=["明前龙井 250g 礼盒"])
    barcode: str | None = Field(default=None, max_length=32, examples=["6901234567892"])
    weight_grams: int = Field(ge=0, le=1_000_000)
    presale_capable: bool = False
    unit_cost: MoneyIn | None = None
    list_price: MoneyIn | None = None


class SkuOut(BaseModel):
    code: str
    product_code: str
    name: str
    barcode: str | None
    weight_grams: int
    presale_capable: bool
    unit_cost: Decimal | None
    list_price: Decimal | None
    created_at: datetime
    created_by: str


class PlatformOut(BaseModel):
    code: str
    name_zh: str


class ShopIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["TM-FLAGSHIP"])
    name: str = Field(min_length=1, max_length=200, examples=["西湖茶旗舰店"])
    platform: Platform
    platform_shop_id: str = Field(min_length=1, max_length=64)
    stock_lock_policy: StockLockPolicy = StockLockPolicy.ON_PAYMENT


class ShopOut(BaseModel):
    code: str
    name: str
    platform: str
    platform_shop_id: str
    stock_lock_policy: str
    active: bool
    created_at: datetime
    created_by: str


@router.get("/products", response_model=PageOut[ProductOut], summary="List products")
def list_products(actor: CatalogRead, db: DbDep, page: PageDep) -> dict:
    rows, total = catalog.list_products(db, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


@router.post("/products", response_model=ProductOut, status_code=201, summary="Create a product")
def create_product(body: ProductIn, actor: CatalogWrite, db: DbDep, now: NowDep) -> dict:
    return catalog.create_product(db, actor, code=body.code, name=body.name, category=body.category, now=now)


@router.get("/skus", response_model=PageOut[SkuOut], summary="List SKUs")
def list_skus(
    actor: CatalogRead,
    db: DbDep,
    page: PageDep,
    product: str | None = None,
    presale_capable: bool | None = None,
) -> dict:
    rows, total = catalog.list_skus(
        db, product=product, presale_capable=presale_capable, limit=page.limit, offset=page.offset
    )
    return page.of(rows, total)


@router.get("/skus/{code}", response_model=SkuOut, summary="One SKU")
def get_sku(code: str, actor: CatalogRead, db: DbDep) -> dict:
    return catalog.get_sku(db, code)


@router.post("/skus", response_model=SkuOut, status_code=201, summary="Create a SKU")
def create_sku(body: SkuIn, actor: CatalogWrite, db: DbDep, now: NowDep) -> dict:
    return catalog.create_sku(db, actor, catalog.NewSku(**body.model_dump()), now=now)


@router.get("/platforms", response_model=list[PlatformOut], summary="Sales platforms")
def platforms(actor: ShopsRead) -> list[dict]:
    return [{"code": p.value, "name_zh": PLATFORM_NAMES_ZH[p]} for p in Platform]


@router.get("/shops", response_model=PageOut[ShopOut], summary="List shops")
def list_shops(
    actor: ShopsRead, db: DbDep, page: PageDep, platform: Annotated[Platform | None, Query()] = None
) -> dict:
    rows, total = catalog.list_shops(db, platform=platform, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


class LockingIn(BaseModel):
    stock_lock_policy: StockLockPolicy = Field(description="on_order 下单锁, on_deposit 付定金锁, on_payment 付款锁")
    lock_warehouse: str | None = Field(
        default=None, max_length=64, description="Warehouse to lock in at intake; none: lock at allocation"
    )


class LockingOut(ShopOut):
    lock_warehouse: str | None


@router.put("/shops/{code}/locking", response_model=LockingOut, summary="When and where this shop's orders lock stock")
def set_locking(code: str, body: LockingIn, actor: ShopsWrite, db: DbDep, now: NowDep) -> dict:
    return catalog.set_stock_locking(
        db, actor, code, policy=body.stock_lock_policy, warehouse=body.lock_warehouse, now=now
    )


@router.post("/shops", response_model=ShopOut, status_code=201, summary="Set up a shop on a platform")
def create_shop(body: ShopIn, actor: ShopsWrite, db: DbDep, now: NowDep) -> dict:
    return catalog.create_shop(
        db,
        actor,
        code=body.code,
        name=body.name,
        platform=body.platform,
        platform_shop_id=body.platform_shop_id,
        stock_lock_policy=body.stock_lock_policy,
        now=now,
    )
