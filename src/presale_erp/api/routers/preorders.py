"""The pre-order queue (预订单): what waits, until when, and why."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.services import preorders

router = APIRouter(prefix="/api/v1/pre-orders", tags=["orders"])
Read = actor_with(Permission.ORDERS_READ)
Review = actor_with(Permission.ORDERS_REVIEW)


class PreOrderOut(BaseModel):
    id: int
    shop: str
    platform_order_id: str
    paid_at: datetime | None
    planned_ship_at: datetime | None
    latest_ship_at: datetime | None
    preorder_reason: str


class ActivationOut(BaseModel):
    checked: int
    activated: int
    still_waiting: int


@router.get("", response_model=list[PreOrderOut], summary="Waiting pre-orders with their ship dates and reasons")
def list_pre_orders(
    actor: Read, db: DbDep, shop: str | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 500
) -> list[dict]:
    return preorders.queue(db, shop=shop, limit=limit)


@router.post("/activate", response_model=ActivationOut, summary="Activate pre-orders whose date and stock have come")
def activate(actor: Review, db: DbDep, now: NowDep) -> dict:
    return preorders.activate_due(db, actor, now=now).__dict__
