"""售后: refund-only and return-and-refund cases (open, approve, reject, cancel, receive the goods, refund), and
each shop's deposit rule (定金不退 / 定金可退)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.aftersales import CaseKind, DepositPolicy, RefundCause
from presale_erp.services import aftersales, aftersales_settlement

router = APIRouter(prefix="/api/v1/aftersales", tags=["aftersales"])
Act = actor_with(Permission.AFTERSALES)
Configure = actor_with(Permission.FINANCE_WRITE)
CaseId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Code = Annotated[str, Field(min_length=1, max_length=64)]
Shop = Annotated[str, Path(min_length=1, max_length=64)]
Yuan = Annotated[Decimal, Field(ge=0, le=Decimal("100000000"))]


class CaseLineIn(BaseModel):
    line_no: int = Field(ge=1, le=100_000)
    quantity: int = Field(default=0, ge=0, le=1_000_000, description="Units coming back (0 for a refund only)")
    amount: Yuan | None = Field(default=None, description="The refund; for a return, left out: the units' share")


class CaseIn(BaseModel):
    case_key: str = Field(min_length=1, max_length=120, description="Yours to choose (e.g. the platform's 售后单号)")
    order_id: int = Field(ge=1, le=2**63 - 1)
    kind: CaseKind
    cause: RefundCause = RefundCause.BUYER
    reason: str = Field(default="", max_length=300)
    lines: list[CaseLineIn] = Field(default_factory=list, max_length=500, description="Empty before shipment")


class CaseLineOut(BaseModel):
    line_no: int
    quantity: int
    amount: Decimal


class CaseOut(BaseModel):
    id: int
    case_key: str
    order_id: int
    kind: str
    state: str
    cause: str
    reason: str
    before_shipment: bool
    refund_amount: Decimal
    refund_ref: str
    return_warehouse: str | None
    return_bin: str | None
    lines: list[CaseLineOut]


class ReturnIn(BaseModel):
    warehouse: Code
    bin: Code = Field(description="A sellable bin (back on sale) or a 残次品区 bin (damaged stock)")


class RefundIn(BaseModel):
    refund_ref: str = Field(default="", max_length=80, description="The payment channel's refund number")


class DepositPolicyIn(BaseModel):
    deposit_policy: DepositPolicy


@router.post("/cases", response_model=CaseOut, status_code=201, summary="Open a case (售后申请)")
def open_case(body: CaseIn, actor: Act, db: DbDep, now: NowDep) -> dict:
    lines = [aftersales.CaseLine(line.line_no, line.quantity, line.amount) for line in body.lines]
    return aftersales.open_case(
        db,
        actor,
        case_key=body.case_key,
        order_id=body.order_id,
        kind=body.kind,
        cause=body.cause,
        reason=body.reason,
        lines=lines,
        now=now,
    )


@router.get("/cases", response_model=list[CaseOut], summary="An order's cases")
def cases_of_order(order_id: Annotated[int, Query(ge=1, le=2**63 - 1)], actor: Act, db: DbDep) -> list[dict]:
    return aftersales.cases_of_order(db, order_id)


@router.get("/cases/{case_id}", response_model=CaseOut, summary="A case with its lines")
def get_case(case_id: CaseId, actor: Act, db: DbDep) -> dict:
    return aftersales.case_view(db, case_id)


@router.post("/cases/{case_id}/approve", response_model=CaseOut, summary="同意 (a return then awaits the goods)")
def approve(case_id: CaseId, actor: Act, db: DbDep, now: NowDep) -> dict:
    return aftersales.approve(db, actor, case_id, now=now)


@router.post("/cases/{case_id}/reject", response_model=CaseOut, summary="拒绝")
def reject(case_id: CaseId, actor: Act, db: DbDep, now: NowDep) -> dict:
    return aftersales.reject(db, actor, case_id, now=now)


@router.post("/cases/{case_id}/cancel", response_model=CaseOut, summary="撤销 (the buyer withdrew it)")
def cancel(case_id: CaseId, actor: Act, db: DbDep, now: NowDep) -> dict:
    return aftersales.cancel(db, actor, case_id, now=now)


@router.post("/cases/{case_id}/return", response_model=CaseOut, summary="退货入库: the goods came back")
def receive_return(case_id: CaseId, body: ReturnIn, actor: Act, db: DbDep, now: NowDep) -> dict:
    return aftersales_settlement.receive_return(db, actor, case_id, warehouse=body.warehouse, bin=body.bin, now=now)


@router.post("/cases/{case_id}/refund", response_model=CaseOut, summary="退款: pay the refund")
def refund(case_id: CaseId, body: RefundIn, actor: Act, db: DbDep, now: NowDep) -> dict:
    return aftersales_settlement.refund(db, actor, case_id, refund_ref=body.refund_ref, now=now)


@router.put("/deposit-policy/{shop}", summary="定金不退 (keep) or 定金可退 (refund) for a shop")
def set_deposit_policy(
    shop: Shop,
    body: DepositPolicyIn,
    actor: Configure,
    db: DbDep,
    now: NowDep,
) -> dict:
    return aftersales.set_deposit_policy(db, actor, shop, body.deposit_policy, now=now)
