"""The payments ledger (收支流水): an order's payments and refunds with their totals, entries recorded by hand,
and deriving entries from the orders taken in (also run by a job every minute)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import AwareDatetime, BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.finance import Channel, PaymentKind
from presale_erp.services import payments

router = APIRouter(prefix="/api/v1/finance", tags=["finance"])
Read = actor_with(Permission.FINANCE_READ)
Write = actor_with(Permission.FINANCE_WRITE)
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class EntryOut(BaseModel):
    entry_key: str
    kind: str
    amount: Decimal
    channel: str
    external_ref: str
    occurred_at: datetime
    source: str
    note: str


class OrderPaymentsOut(BaseModel):
    order_id: int
    entries: list[EntryOut]
    paid: Decimal
    refunded: Decimal
    fees: Decimal
    adjustments: Decimal
    net: Decimal


class EntryIn(BaseModel):
    entry_key: str = Field(min_length=1, max_length=160, description="Yours to choose: a retry is a no-op")
    shop: str = Field(min_length=1, max_length=64)
    order_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    kind: PaymentKind
    amount: Decimal = Field(ge=Decimal("-100000000"), le=Decimal("100000000"), description="+ in, - out")
    channel: Channel
    external_ref: str = Field(default="", max_length=80, description="The channel's trade or refund number")
    occurred_at: AwareDatetime
    note: str = Field(default="", max_length=300)


class FromOrdersIn(BaseModel):
    since: AwareDatetime = Field(description="Orders modified on the platform since this time")


class FromOrdersOut(BaseModel):
    written: int


@router.get("/orders/{order_id}/payments", response_model=OrderPaymentsOut, summary="An order's payments and refunds")
def order_payments(order_id: OrderId, actor: Read, db: DbDep) -> dict:
    return payments.order_payments(db, order_id)


@router.post("/payments", status_code=201, summary="Record a fee, commission, adjustment or refund by hand")
def record(body: EntryIn, actor: Write, db: DbDep, now: NowDep, response: Response) -> dict:
    created = payments.record_manual(db, actor, **body.model_dump(), now=now)
    if not created:
        response.status_code = 200
    return {"entry_key": body.entry_key, "created": created}


@router.post(
    "/payments/from-orders", response_model=FromOrdersOut, summary="Derive deposit, balance and payment entries"
)
def from_orders(body: FromOrdersIn, actor: Write, db: DbDep, now: NowDep) -> dict:
    return {"written": payments.record_from_orders(db, actor, since=body.since, now=now)}
