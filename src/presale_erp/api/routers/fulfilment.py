"""Fulfilment (配货): allocation runs, parcels, undoing splits and merges, waybills, and the settings behind
them (strategies, 属地仓 coverage, 商品指定仓 pins, gift rules, carrier rules and rates)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.errors import Conflict
from presale_erp.domain.fulfilment.gifts import GiftKind
from presale_erp.domain.fulfilment.model import QueueOrder, Strategy
from presale_erp.services import fulfilment, parcels
from presale_erp.services import fulfilment_settings as settings

router = APIRouter(prefix="/api/v1", tags=["fulfilment"])
Read = actor_with(Permission.FULFILMENT_READ)
Run = actor_with(Permission.FULFILMENT_RUN)
Configure = actor_with(Permission.FULFILMENT_SETTINGS)
Code = Annotated[str, Path(min_length=1, max_length=64)]
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("1000000"), decimal_places=2)]


class PolicyIn(BaseModel):
    """Only the switches you send change."""

    strategies: list[Strategy] | None = Field(default=None, description="In order; earlier ones weigh more")
    split_across_warehouses: bool | None = None
    ship_in_stock_first: bool | None = None
    split_by_ship_date: bool | None = None
    max_parcel_weight_grams: int | None = Field(default=None, ge=0, le=1_000_000)
    max_parcel_volume_cm3: int | None = Field(default=None, ge=0, le=10_000_000)
    merge: bool | None = None
    merge_presale: bool | None = None
    merge_across_ship_dates: bool | None = None
    merge_window_hours: int | None = Field(default=None, ge=0, le=24 * 30)
    merge_wait_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    queue_order: QueueOrder | None = None


class PolicyOut(BaseModel):
    strategies: list[str]
    split_across_warehouses: bool
    ship_in_stock_first: bool
    split_by_ship_date: bool
    max_parcel_weight_grams: int
    max_parcel_volume_cm3: int
    merge: bool
    merge_presale: bool
    merge_across_ship_dates: bool
    merge_window_hours: int
    merge_wait_minutes: int
    queue_order: str


class CoverageIn(BaseModel):
    provinces: dict[Annotated[str, Field(min_length=2, max_length=40)], Annotated[int, Field(ge=1, le=100)]]


class PinIn(BaseModel):
    warehouses: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=50)


class GiftRuleIn(BaseModel):
    shop: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=120)
    kind: GiftKind
    gift_sku: str = Field(min_length=1, max_length=64)
    gift_quantity: int = Field(ge=1, le=1000)
    starts_at: datetime
    ends_at: datetime
    trigger_sku: str | None = Field(default=None, max_length=64)
    trigger_quantity: int = Field(default=1, ge=1, le=10_000)
    threshold: Yuan = Decimal("0.00")
    repeat: bool = False
    gift_limit: int | None = Field(default=None, ge=0, le=10_000_000)


class GiftRuleOut(BaseModel):
    id: int
    shop: str
    name: str
    kind: str
    trigger_sku: str | None
    trigger_quantity: int
    threshold: Decimal
    repeat: bool
    gift_sku: str
    gift_quantity: int
    starts_at: datetime
    ends_at: datetime
    gift_limit: int | None
    gifts_given: int
    enabled: bool


class CarrierRuleIn(BaseModel):
    shop: str = Field(min_length=1, max_length=64)
    carrier: str = Field(min_length=1, max_length=20)
    provinces: list[Annotated[str, Field(min_length=2, max_length=40)]] = Field(default_factory=list, max_length=40)
    warehouses: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default_factory=list, max_length=50)
    max_weight_grams: int = Field(default=0, ge=0, le=1_000_000)
    priority: int = Field(default=100, ge=1, le=1000)


class RateIn(BaseModel):
    carrier: str = Field(min_length=1, max_length=20)
    warehouse: str | None = Field(default=None, max_length=64)
    province: str | None = Field(default=None, max_length=40)
    first_weight_grams: int = Field(ge=0, le=100_000)
    first_fee: Yuan
    extra_fee_per_kg: Yuan


class AllocateIn(BaseModel):
    shop: str | None = Field(default=None, max_length=64)
    batch: int = Field(default=1000, ge=1, le=10_000)


class AllocationOut(BaseModel):
    considered: int
    allocated: int
    waiting: int
    parcels: int
    merged_into_open: int
    gifts: int
    reasons: dict[str, int] = Field(description="Waiting orders by the first words of their reason")


class FlagsIn(BaseModel):
    order_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=5000)
    priority: int | None = Field(default=None, ge=0, le=100, description="优先发货: higher goes first")
    separate_parcels: bool | None = Field(default=None, description="不合单: the buyer wants separate parcels")


class ParcelLineOut(BaseModel):
    order_id: int
    line_no: int
    sku: str
    quantity: int
    gift: bool


class ParcelOut(BaseModel):
    code: str
    shop: str
    warehouse: str
    status: str
    province: str
    ship_after: datetime | None
    weight_grams: int
    reason: str = Field(description="拆单/合单 reason")
    carrier: str | None
    shipping_cost: Decimal | None
    carrier_reason: str
    tracking_no: str | None
    lines: list[ParcelLineOut]


class WaybillsOut(BaseModel):
    issued: int
    refused: int


@router.get("/shops/{shop}/fulfilment", response_model=PolicyOut, summary="The shop's fulfilment policy")
def get_policy(shop: Code, db: DbDep, actor: Read) -> dict[str, Any]:
    return settings.policy(db, shop)


@router.patch("/shops/{shop}/fulfilment", response_model=PolicyOut, summary="Change strategies and switches")
def patch_policy(shop: Code, body: PolicyIn, db: DbDep, actor: Configure, now: NowDep) -> dict[str, Any]:
    return settings.set_policy(db, actor, shop, body.model_dump(exclude_none=True, mode="json"), now=now)


@router.put("/warehouses/{warehouse}/coverage", summary="属地仓: provinces this warehouse serves")
def put_coverage(warehouse: Code, body: CoverageIn, db: DbDep, actor: Configure, now: NowDep) -> dict[str, int]:
    return settings.set_coverage(db, actor, warehouse, body.provinces, now=now)


@router.put("/shops/{shop}/pins/{sku}", summary="商品指定仓: warehouses this SKU ships from (empty: any)")
def put_pin(shop: Code, sku: Code, body: PinIn, db: DbDep, actor: Configure, now: NowDep) -> dict[str, Any]:
    return {"shop": shop, "sku": sku, "warehouses": settings.pin_sku(db, actor, shop, sku, body.warehouses, now=now)}


@router.get("/gift-rules", response_model=list[GiftRuleOut], summary="A shop's gift rules")
def list_gift_rules(db: DbDep, actor: Read, shop: Annotated[str, Query(min_length=1, max_length=64)]) -> list:
    return settings.gift_rules(db, shop)


@router.post("/gift-rules", response_model=GiftRuleOut, status_code=201, summary="Add a gift rule (赠品)")
def add_gift_rule(body: GiftRuleIn, db: DbDep, actor: Configure, now: NowDep) -> dict[str, Any]:
    return settings.add_gift_rule(db, actor, settings.NewGiftRule(**body.model_dump()), now=now)


@router.post("/gift-rules/{rule_id}/enabled", status_code=204, summary="Switch a gift rule on or off")
def switch_gift_rule(
    rule_id: Annotated[int, Path(ge=1, le=2**31)], enabled: bool, db: DbDep, actor: Configure, now: NowDep
) -> None:
    settings.enable_gift_rule(db, actor, rule_id, enabled, now=now)


@router.get("/carrier-rules", summary="A shop's carrier rules (快递策略)")
def list_carrier_rules(db: DbDep, actor: Read, shop: Annotated[str, Query(min_length=1, max_length=64)]) -> list:
    return settings.carrier_rules(db, shop)


@router.post("/carrier-rules", status_code=201, summary="Add a carrier rule")
def add_carrier_rule(body: CarrierRuleIn, db: DbDep, actor: Configure, now: NowDep) -> dict[str, Any]:
    return settings.add_carrier_rule(
        db,
        actor,
        body.shop,
        body.carrier,
        provinces=body.provinces,
        warehouses=body.warehouses,
        max_weight_grams=body.max_weight_grams,
        priority=body.priority,
        now=now,
    )


@router.delete("/carrier-rules/{rule_id}", status_code=204, summary="Remove a carrier rule")
def remove_carrier_rule(
    rule_id: Annotated[int, Path(ge=1, le=2**31)], db: DbDep, actor: Configure, now: NowDep
) -> None:
    settings.remove_carrier_rule(db, actor, rule_id, now=now)


@router.get("/shipping-rates", summary="The rate table (首重/续重)")
def list_rates(db: DbDep, actor: Read) -> list:
    return settings.rates(db)


@router.put("/shipping-rates", status_code=204, summary="Set a rate (replaces the same carrier/warehouse/province)")
def put_rate(body: RateIn, db: DbDep, actor: Configure, now: NowDep) -> None:
    settings.set_rate(db, actor, **body.model_dump(), now=now)


@router.post("/fulfilment/allocate", response_model=AllocationOut, summary="Allocate approved orders now")
def allocate(body: AllocateIn, db: DbDep, actor: Run, now: NowDep) -> dict[str, Any]:
    shop_id = settings.shop_id(db, body.shop) if body.shop else None
    return fulfilment.allocate(db, actor, now=now, batch=body.batch, shop_id=shop_id).__dict__


@router.post("/orders/flags", summary="优先发货 / 不合单 on orders")
def flag_orders(body: FlagsIn, db: DbDep, actor: Run, now: NowDep) -> dict[str, int]:
    flagged = settings.flag_orders(
        db, actor, body.order_ids, priority=body.priority, separate_parcels=body.separate_parcels, now=now
    )
    return {"flagged": flagged}


@router.get("/parcels", response_model=list[ParcelOut], summary="Parcels, by status and shop")
def list_parcels(
    db: DbDep,
    actor: Read,
    status: Annotated[str | None, Query(pattern="^(allocated|picking|packed|shipped|cancelled)$")] = None,
    shop: Annotated[str | None, Query(max_length=64)] = None,
    after: Annotated[str, Query(max_length=40, description="Code of the last parcel of the previous page")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list:
    return parcels.parcels(db, status=status, shop=shop, after=after, limit=limit)


@router.get("/orders/{order_id}/parcels", response_model=list[ParcelOut], summary="An order's parcels")
def order_parcels(order_id: OrderId, db: DbDep, actor: Read) -> list:
    return parcels.parcels_of_order(db, order_id)


@router.post("/parcels/{code}/unmerge", summary="取消合单: one parcel per order again")
def unmerge(code: Annotated[str, Path(min_length=1, max_length=40)], db: DbDep, actor: Run, now: NowDep) -> dict:
    return {"parcels": parcels.unmerge(db, actor, code, now=now)}


@router.post("/orders/{order_id}/unsplit", summary="取消拆单: the order's parcels from one warehouse become one")
def unsplit(order_id: OrderId, db: DbDep, actor: Run, now: NowDep) -> dict:
    return {"parcels": parcels.unsplit(db, actor, order_id, now=now)}


@router.post("/fulfilment/waybills", response_model=WaybillsOut, summary="Request tracking numbers (电子面单)")
def waybills(request: Request, db: DbDep, actor: Run, now: NowDep) -> dict[str, int]:
    carrier = getattr(request.app.state, "carrier", None)
    if carrier is None:
        raise Conflict("No carrier account is configured (PRESALE_ERP_CARRIER_URL, _ID and _KEY).")
    return parcels.request_waybills(db, request.app.state.cipher, carrier, actor, now=now).__dict__
