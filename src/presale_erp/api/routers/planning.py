"""Planning (计划): sales history, forecasts, replenishment suggestions (补货建议), alerts (预警), suppliers and the
draft purchase orders suggestions turn into."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.api.routers.purchase_orders import SupplierContactIn
from presale_erp.domain.access import Permission
from presale_erp.services import alerts, demand_history, forecasting, planning, purchasing, replenishment

router = APIRouter(prefix="/api/v1", tags=["planning"])
Read = actor_with(Permission.PLANNING_READ)
Run = actor_with(Permission.PLANNING_RUN)
ReadPurchasing = actor_with(Permission.PURCHASING_READ)
WritePurchasing = actor_with(Permission.PURCHASING_WRITE)
Code = Annotated[str, Field(min_length=1, max_length=64)]
Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("10000000"), decimal_places=2)]
Days = Annotated[Decimal, Field(ge=0, le=365, decimal_places=2)]


class HistoryDayIn(BaseModel):
    sku: Code
    warehouse: Code
    day: date
    quantity: int = Field(ge=0, le=10_000_000)
    revenue: Yuan = Decimal("0")
    promotion: str = Field(default="", max_length=60, description="The sales event of the day, e.g. 双11")


class HistoryIn(BaseModel):
    days: list[HistoryDayIn] = Field(min_length=1, max_length=100_000)


class CampaignDayIn(BaseModel):
    sku: Code
    day: date
    deposits: int = Field(ge=0, le=10_000_000)
    cancelled: int = Field(default=0, ge=0, le=10_000_000)
    balance_paid: int = Field(default=0, ge=0, le=10_000_000)


class CampaignHistoryIn(BaseModel):
    days: list[CampaignDayIn] = Field(min_length=1, max_length=10_000)


class RunIn(BaseModel):
    demand: bool = Field(default=True, description="False: refresh only presale forecasts and the plan")


class SupplierIn(BaseModel):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    contacts: list[SupplierContactIn] = Field(default_factory=list, max_length=50, description="联系人")
    lead_time_days: Days = Decimal("14")
    lead_time_std_days: Days = Decimal("3")
    payment_terms_days: int = Field(default=0, ge=0, le=365, description="账期: days from receipt to payment")


class TermsIn(BaseModel):
    sku: Code
    unit_cost: Yuan
    min_order: int = Field(default=1, ge=1, le=10_000_000)
    lead_time_days: Days = Decimal("14")


class SettingsIn(BaseModel):
    service_level: Decimal = Field(default=Decimal("0.95"), ge=Decimal("0.5"), lt=1, decimal_places=3)
    lead_time_days: Days = Decimal("14")
    lead_time_std_days: Days = Decimal("3")
    review_days: int = Field(default=7, ge=1, le=365)
    min_order: int = Field(default=1, ge=1, le=10_000_000)
    salvage_value: Yuan = Decimal("0")
    supplier: Code | None = None


class AlertOut(BaseModel):
    id: int
    kind: str
    severity: str
    status: str
    sku: str | None
    warehouse: str | None
    campaign: str | None
    money_at_stake: Decimal = Field(description="Yuan: lost margin or revenue, or money tied up (积压)")
    title: str
    reason: str
    action: str
    details: dict[str, Any]
    first_seen_at: datetime
    last_seen_at: datetime
    resolved_at: datetime | None


class SuggestionOut(BaseModel):
    id: int
    kind: str = Field(description="reorder (safety stock / reorder point) or presale (newsvendor for a campaign)")
    sku: str
    warehouse: str
    supplier: str | None
    quantity: int
    unit_cost: Decimal
    explanation: str
    inputs: dict[str, Any]
    status: str
    purchase_order_id: int | None
    created_at: datetime


class PurchaseOrderLineOut(BaseModel):
    sku: str
    quantity: int
    unit_cost: Decimal
    suggestion_id: int | None = None


class DraftOut(BaseModel):
    id: int
    code: str
    status: str
    supplier: str
    warehouse: str
    total: Decimal
    promised_on: date
    lines: list[PurchaseOrderLineOut]


class PurchaseOrderOut(BaseModel):
    id: int
    code: str
    status: str
    supplier: str
    warehouse: str
    lines: int
    total: Decimal
    created_at: datetime


class DraftIn(BaseModel):
    suggestion_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=5000)


@router.post("/planning/history", status_code=201, summary="Import past sales (销量历史)")
def import_history(body: HistoryIn, db: DbDep, actor: Run, when: NowDep) -> dict[str, int]:
    days = [demand_history.HistoryDay(**d.model_dump()) for d in body.days]
    return {"days": demand_history.import_history(db, actor, days, now=when)}


@router.post("/planning/campaigns/{code}/history", status_code=201, summary="Import a past campaign's deposits")
def import_campaign_history(
    code: Annotated[str, Path(min_length=1, max_length=64)], body: CampaignHistoryIn, db: DbDep, actor: Run
) -> dict[str, int]:
    days = [demand_history.CampaignDay(**d.model_dump()) for d in body.days]
    return {"days": demand_history.import_campaign_days(db, actor, code, days)}


@router.post("/planning/runs", summary="Run planning now (the worker also runs it nightly and hourly)")
def run_planning(body: RunIn, db: DbDep, actor: Run, when: NowDep) -> dict[str, Any]:
    return planning.run_cycle(db, actor, now=when, demand=body.demand)


@router.get("/planning/runs", summary="Forecast runs with their model and data versions")
def list_runs(
    db: DbDep, _: Read, kind: Annotated[str | None, Query(pattern="^(demand|presale)$")] = None
) -> list[dict[str, Any]]:
    return forecasting.list_runs(db, kind=kind)


@router.get("/planning/forecasts/demand", summary="The latest demand forecast per SKU × warehouse and day")
def demand_forecast(db: DbDep, _: Read, sku: Annotated[str | None, Query(max_length=64)] = None) -> dict[str, Any]:
    return forecasting.latest_demand_forecast(db, sku=sku)


@router.get("/planning/forecasts/presale", summary="The latest final-demand estimate of each live campaign SKU")
def presale_forecast(db: DbDep, _: Read) -> dict[str, Any]:
    return forecasting.latest_presale_forecast(db)


@router.get("/planning/suggestions", response_model=list[SuggestionOut], summary="Replenishment suggestions (补货建议)")
def suggestions(
    db: DbDep,
    _: Read,
    status: Annotated[str | None, Query(pattern="^(open|ordered|dismissed|superseded)$")] = "open",
) -> list[dict[str, Any]]:
    return replenishment.list_suggestions(db, status=status)


@router.post(
    "/planning/suggestions/purchase-orders",
    status_code=201,
    response_model=list[DraftOut],
    summary="Suggestions → draft purchase orders",
)
def draft_purchase_orders(body: DraftIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> list[dict[str, Any]]:
    return purchasing.draft_from_suggestions(db, actor, body.suggestion_ids, now=when)


@router.get(
    "/planning/alerts", response_model=list[AlertOut], summary="Alerts (预警): why, what to do, the money at stake"
)
def list_alerts(
    db: DbDep,
    _: Read,
    status: Annotated[str | None, Query(pattern="^(open|resolved)$")] = "open",
    kind: Annotated[str | None, Query(max_length=40)] = None,
    campaign: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return alerts.list_alerts(db, status=status, kind=kind, campaign=campaign, limit=limit)


@router.post("/planning/alerts/{alert_id}/resolve", response_model=AlertOut, summary="Close an alert by hand")
def resolve_alert(
    alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)], db: DbDep, actor: Run, when: NowDep
) -> dict[str, Any]:
    return alerts.resolve(db, actor, alert_id, now=when)


@router.put("/planning/settings/{sku}/{warehouse}", summary="Service level, lead time and MOQ of a SKU × warehouse")
def set_settings(
    sku: Annotated[str, Path(min_length=1, max_length=64)],
    warehouse: Annotated[str, Path(min_length=1, max_length=64)],
    body: SettingsIn,
    db: DbDep,
    actor: Run,
    when: NowDep,
) -> dict[str, str]:
    purchasing.set_replenishment_settings(
        db, actor, purchasing.ReplenishmentSettings(sku, warehouse, **body.model_dump()), now=when
    )
    return {"sku": sku, "warehouse": warehouse}


@router.post("/suppliers", status_code=201, summary="Add a supplier")
def create_supplier(body: SupplierIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    new = purchasing.NewSupplier(
        body.code,
        body.name,
        lead_time_days=body.lead_time_days,
        lead_time_std_days=body.lead_time_std_days,
        contacts=tuple(c.to_contact() for c in body.contacts),
        payment_terms_days=body.payment_terms_days,
    )
    return purchasing.create_supplier(db, actor, new, now=when)


@router.put("/suppliers/{code}/skus", summary="What a supplier charges for a SKU, its MOQ and lead time")
def set_terms(
    code: Annotated[str, Path(min_length=1, max_length=64)], body: TermsIn, db: DbDep, actor: WritePurchasing,
    when: NowDep,
) -> dict[str, str]:  # fmt: skip
    purchasing.set_supplier_terms(
        db, actor, code, body.sku, unit_cost=body.unit_cost, min_order=body.min_order,
        lead_time_days=body.lead_time_days, now=when,
    )  # fmt: skip
    return {"supplier": code, "sku": body.sku}


@router.get("/purchase-orders", response_model=list[PurchaseOrderOut], summary="Purchase orders")
def list_purchase_orders(
    db: DbDep, _: ReadPurchasing, status: Annotated[str | None, Query(max_length=20)] = None
) -> list[dict[str, Any]]:
    return purchasing.list_purchase_orders(db, status=status)


@router.get("/purchase-orders/{code}/lines", summary="A purchase order's lines")
def purchase_order_lines(
    code: Annotated[str, Path(min_length=1, max_length=64)], db: DbDep, _: ReadPurchasing
) -> list[dict[str, Any]]:
    return purchasing.purchase_order_lines_of(db, code)
