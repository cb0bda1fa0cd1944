"""Orders (订单): pushed intake, the order lists staff work from, and the dead-letter list (异常原始单)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.api.schemas import Cursor, CursorPageOut
from presale_erp.domain.access import Permission
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.orders import PlatformStatus, PresaleType
from presale_erp.services import intake, order_views

router = APIRouter(prefix="/api/v1", tags=["orders"])
Read = actor_with(Permission.ORDERS_READ)
Intake = actor_with(Permission.ORDERS_INTAKE)
MAX_BODY_BYTES = 20 * 1024 * 1024
LetterId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class IntakeReportOut(BaseModel):
    received: int
    created: int
    updated: int
    unchanged: int = Field(description="Delivered again, or older than the stored version")
    dead_lettered: int
    dead_letter_ids: list[int]


class BuyerOut(BaseModel):
    name: str
    phone: str
    province: str
    city: str
    district: str
    street: str


class OrderOut(BaseModel):
    id: int
    shop: str
    platform: str
    platform_order_id: str
    status: str
    platform_status: str
    presale_type: str
    awaiting_balance: bool
    platform_modified_at: datetime
    platform_created_at: datetime
    paid_at: datetime | None
    total_amount: Decimal
    paid_amount: Decimal
    postage: Decimal
    deposit_amount: Decimal
    balance_amount: Decimal
    balance_paid: bool
    latest_ship_at: datetime | None
    balance_due_at: datetime | None
    balance_expired_at: datetime | None
    stock_locked: bool
    lock_reason: str
    buyer: BuyerOut
    buyer_remark: str
    seller_remark: str
    cash_on_delivery: bool
    mixed_presale: bool
    versions_seen: int
    preorder_status: str
    planned_ship_at: datetime | None
    preorder_reason: str
    activated_at: datetime | None
    review_status: str
    risk_score: int
    review_hits: list[dict[str, Any]] | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    first_seen_at: datetime
    updated_at: datetime


class OrderLineOut(BaseModel):
    line_no: int
    line_key: str
    platform_sku_id: str
    sku_code: str | None
    matched_sku: str | None = Field(description="Our SKU, or null when the platform's code matches none")
    title: str
    quantity: int
    unit_price: Decimal
    paid_amount: Decimal
    presale: bool
    planned_ship_at: datetime | None
    refunded: bool


class OrderEventOut(BaseModel):
    at: datetime
    platform_at: datetime
    from_status: str | None
    to_status: str
    source: str


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]
    events: list[OrderEventOut]


class DeadLetterOut(BaseModel):
    id: int
    shop: str
    source: str
    payload: str
    reason: str
    status: str
    attempts: int
    received_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None


class RetryIn(BaseModel):
    payload: Any | None = Field(default=None, description="A corrected payload; leave out to retry as stored")


class RetryOut(BaseModel):
    id: int
    status: str
    reason: str
    order: str | None = None


@router.post(
    "/shops/{shop}/orders",
    response_model=IntakeReportOut,
    summary="Push platform orders (webhook)",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": {}}}, "required": True}},
)
async def push_orders(shop: str, request: Request, actor: Intake, db: DbDep, now: NowDep) -> dict:
    """The body is one order in the shop's platform format, or a list of them. Orders that cannot be read are
    kept on the dead-letter list with their reason; the rest are stored once, newest version winning."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise InvalidRequest(f"The body is over {MAX_BODY_BYTES // 1024 // 1024} MiB; send orders in smaller batches.")
    payloads = intake.decode_body(body)
    report = await run_in_threadpool(
        intake.intake, db, request.app.state.cipher, actor, shop, payloads, source="webhook", now=now
    )
    return report.__dict__


@router.get("/orders", response_model=CursorPageOut[OrderOut], summary="Orders (filter 待尾款 with awaiting_balance)")
def list_orders(
    request: Request,
    actor: Read,
    db: DbDep,
    shop: str | None = None,
    status: PlatformStatus | None = None,
    presale_type: PresaleType | None = None,
    awaiting_balance: Annotated[bool, Query(description="待尾款: deposit paid, balance not yet")] = False,
    review_status: Annotated[
        str | None, Query(pattern="^(none|pending|approved|held|rejected|awaiting_finance)$")
    ] = None,
    rule: Annotated[str | None, Query(max_length=40, description="Held by this rule (exception type)")] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    rows = order_views.list_orders(
        db,
        request.app.state.cipher,
        actor,
        shop=shop,
        status=status.value if status else None,
        presale_type=presale_type.value if presale_type else None,
        awaiting_balance=awaiting_balance,
        review_status=review_status,
        rule=rule,
        after_id=int(cursor) if cursor else None,
        limit=limit,
    )
    return {"items": rows, "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None}


@router.get("/orders/{shop}/{platform_order_id}", response_model=OrderDetailOut, summary="One order")
def get_order(shop: str, platform_order_id: str, request: Request, actor: Read, db: DbDep) -> dict:
    return order_views.get_order(db, request.app.state.cipher, actor, shop, platform_order_id)


@router.get("/dead-letters", response_model=CursorPageOut[DeadLetterOut], summary="Payloads that could not be read")
def list_dead_letters(
    actor: Read,
    db: DbDep,
    shop: str | None = None,
    status: Annotated[str | None, Query(pattern="^(open|resolved|discarded)$")] = "open",
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    rows = order_views.list_dead_letters(
        db, shop=shop, status=status, after_id=int(cursor) if cursor else None, limit=limit
    )
    return {"items": rows, "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None}


@router.post("/dead-letters/{letter_id}/retry", response_model=RetryOut, summary="Retry a dead letter, maybe fixed")
def retry_dead_letter(
    letter_id: LetterId,
    request: Request,
    actor: Intake,
    db: DbDep,
    now: NowDep,
    body: Annotated[RetryIn | None, Body()] = None,
) -> dict:
    return intake.retry_dead_letter(
        db, request.app.state.cipher, actor, letter_id, payload=body.payload if body else None, now=now
    )


@router.post("/dead-letters/{letter_id}/discard", response_model=RetryOut, summary="Discard a dead letter")
def discard_dead_letter(letter_id: LetterId, actor: Intake, db: DbDep, now: NowDep) -> dict:
    return intake.discard_dead_letter(db, actor, letter_id, now=now)
