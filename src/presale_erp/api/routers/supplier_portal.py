"""The supplier portal (供应商协同), for a supplier's own API key: its purchase orders, confirmation, production
milestones and shipping notices. Nothing else in the API answers such a key."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.api.routers.purchase_orders import AsnLineOut, EventOut
from presale_erp.domain.access import Permission
from presale_erp.services import supplier_portal
from presale_erp.services.purchase_orders import NewAsn

router = APIRouter(prefix="/api/v1/supplier", tags=["supplier portal"])
Supplier = actor_with(Permission.SUPPLIER_PORTAL)
Code = Annotated[str, Path(min_length=1, max_length=64)]


class OrderSummaryOut(BaseModel):
    code: str
    status: str
    warehouse: str
    created_at: datetime


class LineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    unit_cost: Decimal
    promised_on: date | None
    received_quantity: int


class OrderOut(BaseModel):
    code: str
    status: str
    supplier: str
    warehouse: str
    created_at: datetime
    lines: list[LineOut]
    asns: list[AsnLineOut]
    history: list[EventOut]


class ConfirmIn(BaseModel):
    promised: dict[int, date] = Field(default_factory=dict, description="line_no -> the date you can deliver")
    note: str = Field(default="", max_length=1000)


class MilestoneIn(BaseModel):
    milestone: str = Field(description="materials_in | in_production | qc_passed | shipped", max_length=30)
    line_no: int | None = Field(default=None, ge=1, description="Empty: the whole order")
    note: str = Field(default="", max_length=1000)


class AsnIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="Your shipping notice number")
    shipped_at: datetime
    expected_on: date
    lines: dict[int, Annotated[int, Field(ge=1, le=10_000_000)]] = Field(min_length=1, description="line_no -> units")
    carrier: str | None = Field(default=None, max_length=20)
    tracking_no: str | None = Field(default=None, max_length=40)
    note: str = Field(default="", max_length=500)


@router.get("/purchase-orders", response_model=list[OrderSummaryOut], summary="Your purchase orders")
def my_orders(db: DbDep, actor: Supplier) -> list[dict[str, Any]]:
    return supplier_portal.my_orders(db, actor)


@router.get("/purchase-orders/{code}", response_model=OrderOut, summary="One of your purchase orders")
def my_order(code: Code, db: DbDep, actor: Supplier) -> dict[str, Any]:
    return supplier_portal.my_order(db, actor, code)


@router.post("/purchase-orders/{code}/confirm", response_model=OrderOut, summary="Confirm, with your dates")
def confirm(code: Code, body: ConfirmIn, db: DbDep, actor: Supplier, when: NowDep) -> dict[str, Any]:
    return supplier_portal.confirm(db, actor, code, promised=body.promised or None, note=body.note, now=when)


@router.post("/purchase-orders/{code}/milestones", response_model=OrderOut, summary="Report production progress")
def milestone(code: Code, body: MilestoneIn, db: DbDep, actor: Supplier, when: NowDep) -> dict[str, Any]:
    return supplier_portal.report_milestone(
        db, actor, code, body.milestone, line_no=body.line_no, note=body.note, now=when
    )


@router.post("/purchase-orders/{code}/asns", status_code=201, response_model=OrderOut, summary="Shipping notice")
def asn(code: Code, body: AsnIn, db: DbDep, actor: Supplier, when: NowDep) -> dict[str, Any]:
    new = NewAsn(body.code, body.shipped_at, body.expected_on, body.lines, body.carrier, body.tracking_no, body.note)
    return supplier_portal.send_asn(db, actor, code, new, now=when)
