"""Stock levels per SKU × warehouse, the movement ledger, and the ledger check."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, PageDep, actor_with
from presale_erp.api.schemas import Cursor, CursorPageOut, PageOut, Timestamp
from presale_erp.domain.access import Permission
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import stock, stock_views

router = APIRouter(prefix="/api/v1", tags=["stock"])
Read = actor_with(Permission.STOCK_READ)
Move = actor_with(Permission.STOCK_MOVE)
Id = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9][A-Za-z0-9:._\-/]*$")]


class BinBalanceOut(BaseModel):
    bin: str
    zone: str
    sellable: bool = Field(description="False: a damaged/quarantine bin (残次品区); its units count as damaged")
    on_hand: int = Field(description="units in the bin")


class PositionOut(BaseModel):
    sku: str
    sku_name: str | None = None
    warehouse: str
    on_hand: int = Field(description="实际库存: sellable units on the shelves")
    damaged: int = Field(description="残次品: units in non-sellable bins, never promised to buyers")
    reserved: int = Field(description="锁定: units promised to orders")
    presale_quota: int = Field(description="预售额度: units that may be sold ahead of stock")
    presale_quota_used: int
    presale_quota_left: int
    presale_booked: int = Field(description="预订单量: locked for paid orders that cannot ship yet")
    awaiting_review: int = Field(description="待审核")
    awaiting_shipment: int = Field(description="待发货")
    in_transit_purchase: int = Field(description="采购在途")
    in_transit_transfer: int = Field(description="调拨在途")
    available_to_sell: int = Field(description="可用库存: free on hand plus presale quota left")
    available_to_ship: int = Field(description="可发库存: on hand not committed to orders awaiting shipment")
    shortage: int = Field(description="locked units neither stock nor quota covers")
    low_stock_threshold: int
    is_low: bool
    updated_at: datetime | None


class PositionDetailOut(PositionOut):
    bins: list[BinBalanceOut]


class ThresholdIn(BaseModel):
    threshold: int = Field(ge=0, le=10_000_000)


class MovementIn(BaseModel):
    id: Id = Field(description="Your id for this movement; posting the same id again changes nothing.")
    kind: MovementKind
    sku: str = Field(min_length=1, max_length=64)
    warehouse: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=-10_000_000, le=10_000_000, description="See the kind: units, signed change, or counted")
    bin: str | None = Field(default=None, max_length=64)
    to_warehouse: str | None = Field(default=None, max_length=64)
    to_bin: str | None = Field(default=None, max_length=64)
    clears_in_transit: bool = Field(default=False, description="A receipt against an inbound notice")
    reservation_id: str | None = Field(default=None, max_length=120)
    reason: str | None = Field(default=None, max_length=300)
    reference: str | None = Field(default=None, max_length=120, description="PO, order or count sheet number")


class MovementLineOut(BaseModel):
    sku: str
    warehouse: str
    bin: str | None
    bucket: str
    quantity: int


class PostedMovementOut(BaseModel):
    id: str
    kind: str
    replayed: bool
    lines: list[MovementLineOut]


class MovementOut(BaseModel):
    id: int
    request_id: str
    seq: int
    kind: str
    sku: str
    warehouse: str
    bin: str | None
    bucket: str
    quantity: int
    reservation_id: str | None
    reference: str | None
    reason: str | None
    at: datetime
    actor: str


class DiscrepancyOut(BaseModel):
    sku: str
    warehouse: str
    counter: str
    kept: int
    derived: int


@router.get("/stock", response_model=PageOut[PositionOut], summary="Stock levels per SKU × warehouse")
def list_stock(
    actor: Read,
    db: DbDep,
    page: PageDep,
    sku: str | None = None,
    warehouse: str | None = None,
    low_stock: Annotated[bool, Query(description="Only positions at or below their threshold")] = False,
) -> dict:
    rows, total = stock_views.list_positions(
        db, sku=sku, warehouse=warehouse, low_stock=low_stock, limit=page.limit, offset=page.offset
    )
    return page.of(rows, total)


@router.get("/stock/{sku}/{warehouse}", response_model=PositionDetailOut, summary="One position with bins")
def get_position(sku: str, warehouse: str, actor: Read, db: DbDep) -> dict:
    return stock_views.position_detail(db, sku=sku, warehouse=warehouse)


@router.put(
    "/stock/{sku}/{warehouse}/low-stock-threshold",
    response_model=PositionDetailOut,
    summary="Set the low-stock threshold of a position",
)
def set_threshold(sku: str, warehouse: str, body: ThresholdIn, actor: Move, db: DbDep, now: NowDep) -> dict:
    return stock_views.set_low_stock_threshold(
        db, actor, sku=sku, warehouse=warehouse, threshold=body.threshold, now=now
    )


@router.post("/movements", response_model=PostedMovementOut, status_code=201, summary="Post a stock movement")
def post_movement(body: MovementIn, actor: Move, db: DbDep, now: NowDep, response: Response) -> dict:
    request = MovementRequest(
        kind=body.kind,
        sku=body.sku,
        warehouse=body.warehouse,
        quantity=body.quantity,
        bin=body.bin,
        to_warehouse=body.to_warehouse,
        to_bin=body.to_bin,
        clears_in_transit=body.clears_in_transit,
        reservation_id=body.reservation_id,
        reason=body.reason,
    )
    posted = stock.post_movement(db, actor, body.id, request, reference=body.reference, now=now)
    if posted.replayed:
        response.status_code = 200
    return posted.__dict__


@router.get("/movements", response_model=CursorPageOut[MovementOut], summary="The movement ledger, newest first")
def list_movements(
    actor: Read,
    db: DbDep,
    sku: str | None = None,
    warehouse: str | None = None,
    kind: MovementKind | None = None,
    since: Timestamp | None = None,
    until: Timestamp | None = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    rows = stock_views.list_movements(
        db,
        sku=sku,
        warehouse=warehouse,
        kind=kind.value if kind else None,
        since=since,
        until=until,
        before_id=int(cursor) if cursor else None,
        limit=limit,
    )
    next_cursor = str(rows[-1]["id"]) if len(rows) == limit else None
    return {"items": rows, "next_cursor": next_cursor}


@router.get(
    "/ledger/check",
    response_model=list[DiscrepancyOut],
    summary="Counters that disagree with the movements and reservations behind them (should be empty)",
)
def ledger_check(actor: Read, db: DbDep) -> list[dict]:
    return stock.ledger_discrepancies(db)
