"""Receiving goods against purchase orders (收货入库), and what stock costs (移动加权平均成本)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.costing import AllocationBasis, LandedCost, LandedCostKind
from presale_erp.domain.receiving import Arrival
from presale_erp.services import costing, receiving

router = APIRouter(prefix="/api/v1", tags=["receiving"])
Move = actor_with(Permission.STOCK_MOVE)
Read = actor_with(Permission.STOCK_READ)
# What stock costs is purchasing data: an API key scoped to stock alone (a 3PL's) does not see it.
CostRead = actor_with(Permission.PURCHASING_READ)
Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("100000000"), decimal_places=2)]
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]*$")]


class ReceiptLineIn(BaseModel):
    line_no: int = Field(ge=1, le=100_000, description="The purchase order line")
    accepted: int = Field(ge=0, le=10_000_000, description="Good units, into `bin` as sellable stock")
    damaged: int = Field(
        default=0, ge=0, le=10_000_000, description="Damaged units: into the damaged bin, still owed by the supplier"
    )
    bin: str | None = Field(default=None, min_length=1, max_length=64, description="货位 for the accepted units")


class LandedCostIn(BaseModel):
    kind: LandedCostKind
    amount: Yuan
    basis: AllocationBasis = AllocationBasis.VALUE


class ReceiptIn(BaseModel):
    code: Code | None = Field(default=None, description="Your receipt number; one is made from the PO if left out")
    asn: Code | None = Field(default=None, description="The ASN (发货通知) these goods arrived on")
    damaged_bin: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Non-sellable bin (残次品区) for the damaged units; default: the warehouse's first one",
    )
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=1000)
    landed_costs: list[LandedCostIn] = Field(default_factory=list, max_length=50)


class ReceiptLineOut(BaseModel):
    line_no: int
    sku: str
    accepted: int
    damaged: int
    bin: str | None
    unit_cost: Decimal
    landed_cost: Decimal = Field(description="This line's share of the landed costs, to the fen")


class ReceivedLineOut(ReceiptLineOut):
    over_receipt: int = Field(description="Units beyond the ordered quantity, accepted within tolerance")
    ordered: int
    received: int = Field(description="Received on the order line so far, this receipt included")


class LandedCostOut(BaseModel):
    kind: str
    amount: Decimal
    basis: str


class ReceiptOut(BaseModel):
    code: str
    purchase_order: str
    asn: str | None
    warehouse: str
    received_at: datetime
    received_by: str
    lines: list[ReceiptLineOut]
    landed_costs: list[LandedCostOut]
    damaged_bin: str | None = Field(default=None, description="Where the damaged units went, if any")


class ReceivedOut(ReceiptOut):
    status: str = Field(description="The purchase order's status after this receipt (now, when replayed)")
    replayed: bool = Field(
        default=False, description="True: this receipt code was already booked with this content; nothing new"
    )
    lines: list[ReceivedLineOut]
    average_costs: dict[str, Decimal] = Field(description="New moving average cost per SKU in the warehouse")


class StockCostOut(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    unit_cost: Decimal | None = Field(description="Moving average cost, else the catalogue cost")
    source: str = Field(description="moving_average | catalogue | none")
    value: Decimal | None = Field(description="on_hand × unit_cost, to the fen")
    damaged: int = Field(description="残次品: units in non-sellable bins")
    damaged_value: Decimal | None = Field(description="damaged × unit_cost, to the fen")


class ValuationOut(BaseModel):
    warehouse: str
    units: int = Field(description="Units with a known cost")
    value: Decimal = Field(description="Their value at unit cost, to the fen")
    units_without_cost: int = Field(description="Units of SKUs with neither an average nor a catalogue cost")
    damaged_units: int = Field(description="Damaged units (残次品) with a known cost, not counted in units")
    damaged_value: Decimal = Field(description="Their value at the same unit cost, to the fen")
    damaged_units_without_cost: int


@router.post(
    "/purchase-orders/{code}/receipts",
    response_model=ReceivedOut,
    status_code=201,
    summary="Receive goods against a purchase order (partial receipts, damaged units, landed costs)",
)
def receive(code: str, body: ReceiptIn, actor: Move, db: DbDep, now: NowDep, response: Response) -> dict:
    got = receiving.receive(
        db,
        actor,
        code,
        [Arrival(x.line_no, x.accepted, x.damaged, x.bin) for x in body.lines],
        asn_code=body.asn,
        landed_costs=[LandedCost(c.kind, c.amount, c.basis) for c in body.landed_costs],
        receipt_code=body.code,
        damaged_bin=body.damaged_bin,
        now=now,
    )
    if got["replayed"]:
        response.status_code = 200  # a retry of a booked receipt: nothing was created
    return got


@router.get("/receipts/{code}", response_model=ReceiptOut, summary="A receipt with its lines and landed costs")
def get_receipt(code: str, actor: Read, db: DbDep) -> dict:
    return receiving.get_receipt(db, code)


@router.get("/stock-costs", response_model=list[StockCostOut], summary="Unit cost and value per SKU × warehouse")
def stock_costs(actor: CostRead, db: DbDep, warehouse: str | None = None, sku: str | None = None) -> list[dict]:
    return costing.stock_costs(db, warehouse=warehouse, sku=sku)


@router.get("/stock-valuation", response_model=list[ValuationOut], summary="Stock value per warehouse at unit cost")
def stock_valuation(actor: CostRead, db: DbDep, warehouse: str | None = None) -> list[dict]:
    return costing.valuation(db, warehouse=warehouse)
