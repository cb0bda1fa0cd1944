"""Reservations (锁库存): lock stock for order lines, release it, move it between stages, ship it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, model_validator

from presale_erp.api.deps import DbDep, NowDep, ReservationDeskDep, actor_with
from presale_erp.api.routers.stock import Id, PostedMovementOut
from presale_erp.api.schemas import CursorPageOut, Timestamp
from presale_erp.domain.access import Permission
from presale_erp.domain.errors import NotFound
from presale_erp.domain.ledger import MovementKind, ReservationStage, ReservationStatus
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import stock, stock_views

router = APIRouter(prefix="/api/v1/reservations", tags=["reservations"])
Read = actor_with(Permission.STOCK_READ)
Reserve = actor_with(Permission.STOCK_RESERVE)
Move = actor_with(Permission.STOCK_MOVE)


class ReservationLineIn(BaseModel):
    id: Id = Field(description="Your id for this line's lock, e.g. shop:order:line; retrying is safe.")
    sku: str = Field(min_length=1, max_length=64)
    warehouse: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=1_000_000)
    stage: ReservationStage = ReservationStage.AWAITING_REVIEW


class ReserveIn(BaseModel):
    shop: str | None = Field(default=None, max_length=64)
    order_ref: str | None = Field(default=None, max_length=120, description="Platform order id")
    lines: list[ReservationLineIn] = Field(min_length=1, max_length=500)
    expires_at: Timestamp | None = Field(default=None, description="Lease end; none = until released")
    lease_minutes: int | None = Field(default=None, ge=1, le=60 * 24 * 180)

    @model_validator(mode="after")
    def _one_expiry(self) -> ReserveIn:
        if self.expires_at is not None and self.lease_minutes is not None:
            raise ValueError("give either expires_at or lease_minutes, not both")
        return self


class ReservationOut(BaseModel):
    id: str
    sku: str
    warehouse: str
    quantity: int
    from_quota: int = Field(description="Units taken from the presale quota (sold ahead of stock)")
    stage: str
    status: str
    shop: str | None = None
    order_ref: str | None = None
    expires_at: datetime | None = None


class ReservationRowOut(ReservationOut):
    created_at: datetime
    created_by: str
    ended_at: datetime | None
    ended_by: str | None


class ReserveOut(BaseModel):
    replayed: bool
    reservations: list[ReservationOut]


class IdsIn(BaseModel):
    ids: list[str] = Field(min_length=1, max_length=1000)


class RestageIn(IdsIn):
    stage: ReservationStage


class ShipIn(BaseModel):
    movement_id: Id = Field(description="Your id for the shipment movement")
    bin: str = Field(min_length=1, max_length=64, description="Bin the goods are picked from")
    reference: str | None = Field(default=None, max_length=120, description="Parcel or waybill number")


@router.post("", response_model=ReserveOut, status_code=201, summary="Reserve stock for order lines, all or none")
async def reserve(body: ReserveIn, actor: Reserve, desk: ReservationDeskDep, now: NowDep, response: Response) -> dict:
    expires_at = body.expires_at or (now + timedelta(minutes=body.lease_minutes) if body.lease_minutes else None)
    # Through the desk, so that many shops reserving the same SKU at once share commits; awaited on the event
    # loop, so that a flash sale's crowd holds no worker thread while it waits, and is woken once per batch.
    outcome = await desk.reserve_async(
        actor,
        [stock.ReservationLine(line.id, line.sku, line.warehouse, line.quantity, line.stage) for line in body.lines],
        shop=body.shop,
        order_ref=body.order_ref,
        expires_at=expires_at,
        now=now,
    )
    if outcome.replayed:
        response.status_code = 200
    return {"replayed": outcome.replayed, "reservations": outcome.reservations}


@router.get("", response_model=CursorPageOut[ReservationRowOut], summary="List reservations")
def list_reservations(
    actor: Read,
    db: DbDep,
    sku: str | None = None,
    warehouse: str | None = None,
    status: ReservationStatus | None = None,
    order_ref: str | None = None,
    cursor: Annotated[str | None, Query(max_length=120, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    rows = stock_views.list_reservations(
        db,
        sku=sku,
        warehouse=warehouse,
        status=status.value if status else None,
        order_ref=order_ref,
        after_id=cursor,
        limit=limit,
    )
    return {"items": rows, "next_cursor": rows[-1]["id"] if len(rows) == limit else None}


@router.post("/release", response_model=list[ReservationOut], summary="Release reservations (cancel, refund)")
def release(body: IdsIn, actor: Reserve, db: DbDep, now: NowDep) -> list[dict]:
    return stock.release(db, actor, body.ids, now=now)


@router.post("/restage", response_model=list[ReservationOut], summary="Move locked stock to another stage")
def restage(body: RestageIn, actor: Reserve, db: DbDep, now: NowDep) -> list[dict]:
    return stock.restage(db, actor, body.ids, body.stage, now=now)


@router.post(
    "/{reservation_id}/ship",
    response_model=PostedMovementOut,
    status_code=201,
    summary="Ship a reservation: posts the shipment movement and ends the lock",
)
def ship(reservation_id: str, body: ShipIn, actor: Move, db: DbDep, now: NowDep, response: Response) -> dict:
    rows = stock_views.list_reservations(
        db,
        sku=None,
        warehouse=None,
        status=None,
        order_ref=None,
        after_id=None,
        limit=1,
        only_id=reservation_id,
    )
    if not rows:
        raise NotFound(f"No reservation {reservation_id}.")
    row = rows[0]
    request = MovementRequest(
        kind=MovementKind.SHIPMENT,
        sku=row["sku"],
        warehouse=row["warehouse"],
        quantity=row["quantity"],
        bin=body.bin,
        reservation_id=reservation_id,
    )
    posted = stock.post_movement(db, actor, body.movement_id, request, reference=body.reference, now=now)
    if posted.replayed:
        response.status_code = 200
    return posted.__dict__
