"""Purchase orders, merchant side (采购单): create by hand or from an Excel sheet, send, confirm on the supplier's
behalf, reschedule, cancel, close, see the history and the risk of each line; suppliers' keys and reliability.
(The list of purchase orders and a purchase order's lines live in planning.py.)"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, PageDep, actor_with
from presale_erp.api.schemas import PageOut
from presale_erp.domain.access import Permission
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.supplier_contacts import Contact
from presale_erp.services import auth, purchase_orders, purchasing

router = APIRouter(prefix="/api/v1", tags=["purchase orders"])
ReadPurchasing = actor_with(Permission.PURCHASING_READ)
WritePurchasing = actor_with(Permission.PURCHASING_WRITE)
Code = Annotated[str, Path(min_length=1, max_length=64)]
MAX_SHEET_BYTES = 10 * 1024 * 1024
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SupplierContactIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["王芳"])
    role: str = Field(default="", max_length=40, examples=["业务"], description="业务 / 财务 / 跟单 / ...")
    phone: str = Field(default="", max_length=40, examples=["0571-88880000"])
    email: str = Field(default="", max_length=200)
    is_primary: bool = Field(default=False, description="The supplier's primary contact (exactly one has it)")

    def to_contact(self) -> Contact:
        return Contact(self.name, self.role, self.phone, self.email, self.is_primary)


class SupplierContactPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=120)
    role: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=200)
    is_primary: bool | None = None


class SupplierContactOut(BaseModel):
    id: int
    name: str
    role: str
    phone: str
    email: str
    is_primary: bool


class SupplierOut(BaseModel):
    code: str
    name: str
    lead_time_days: Decimal
    lead_time_std_days: Decimal
    payment_terms_days: int = Field(description="账期: days from receipt to payment (0: on receipt)")
    contacts: list[SupplierContactOut] = Field(description="联系人, the primary first")


class LineIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000_000)
    unit_cost: Decimal = Field(ge=0, le=Decimal("10000000"), decimal_places=2)
    promised_on: date | None = Field(default=None, description="Empty: today + the supplier's lead time for the SKU")


class PurchaseOrderIn(BaseModel):
    supplier: str = Field(min_length=1, max_length=64)
    warehouse: str = Field(min_length=1, max_length=64)
    lines: list[LineIn] = Field(min_length=1, max_length=1000)
    note: str = Field(default="", max_length=1000)


class LineOut(BaseModel):
    line_no: int
    sku: str
    quantity: int
    unit_cost: Decimal
    promised_on: date | None
    received_quantity: int
    suggestion_id: int | None
    risk: str = Field(description="on_track | at_risk | late")
    risk_reason: str


class EventOut(BaseModel):
    kind: str
    line_no: int | None
    milestone: str | None
    promised_on: date | None
    note: str
    at: datetime
    actor: str


class AsnLineOut(BaseModel):
    code: str
    shipped_at: datetime
    expected_on: date
    carrier: str | None
    tracking_no: str | None
    status: str
    line_no: int
    quantity: int


class PurchaseOrderDetailOut(BaseModel):
    id: int
    code: str
    status: str
    supplier: str
    supplier_name: str
    warehouse: str
    note: str
    total: Decimal
    created_at: datetime
    created_by: str
    lines: list[LineOut]
    asns: list[AsnLineOut]
    history: list[EventOut]


class ConfirmIn(BaseModel):
    promised: dict[int, date] = Field(default_factory=dict, description="line_no -> the date the supplier promises")
    note: str = Field(default="", max_length=1000)


class RescheduleIn(BaseModel):
    promised: dict[int, date] = Field(min_length=1, description="line_no -> the new promised date")
    note: str = Field(default="", max_length=1000)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class RiskReportOut(BaseModel):
    checked: int
    at_risk: int
    late: int
    alerts_opened: int
    alerts_resolved: int


class SupplierKeyIn(BaseModel):
    name: str = Field(default="", max_length=120)


class SupplierKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    supplier: str
    key: str = Field(description="Shown once; give it to the supplier now.")
    created_at: datetime


class ReliabilityOut(BaseModel):
    supplier: str
    deliveries: int
    on_time_rate: Decimal | None
    lead_time_mean_days: Decimal | None
    lead_time_std_days: Decimal | None
    fill_rate: Decimal | None
    score: int | None = Field(description="0-100: 50% on time, 30% fill rate, 20% lead-time consistency")


@router.post("/purchase-orders", status_code=201, response_model=PurchaseOrderDetailOut, summary="New draft PO")
def create(body: PurchaseOrderIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    lines = [purchase_orders.NewLine(**line.model_dump()) for line in body.lines]
    new = purchase_orders.NewPurchaseOrder(body.supplier, body.warehouse, lines, body.note)
    return purchase_orders.create(db, actor, new, now=when)


@router.post(
    "/purchase-orders/import",
    status_code=201,
    response_model=list[PurchaseOrderDetailOut],
    summary="Draft POs from an Excel sheet (供应商, 仓库, 商家编码, 数量, 单价, 承诺交期, 采购单号)",
    openapi_extra={"requestBody": {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}},
)
async def import_sheet(request: Request, db: DbDep, actor: WritePurchasing, when: NowDep) -> list[dict[str, Any]]:
    body = await request.body()
    if len(body) > MAX_SHEET_BYTES:
        raise InvalidRequest("The sheet is over 10 MiB; split it.")
    return await run_in_threadpool(purchase_orders.import_sheet, db, actor, body, now=when)


@router.post("/purchase-orders/risk-check", response_model=RiskReportOut, summary="Check every open PO's dates now")
def risk_check(db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    report = purchase_orders.check_risks(db, actor, now=when)
    return {k: v for k, v in report.__dict__.items() if k != "flagged"}


@router.get("/purchase-orders/{code}", response_model=PurchaseOrderDetailOut, summary="A PO with risk and history")
def get(code: Code, db: DbDep, _: ReadPurchasing) -> dict[str, Any]:
    return purchase_orders.detail(db, code)


@router.get("/purchase-orders/{code}/history", response_model=list[EventOut], summary="Every change, timestamped")
def history(code: Code, db: DbDep, _: ReadPurchasing) -> list[dict[str, Any]]:
    return purchase_orders.history(db, code)


@router.post("/purchase-orders/{code}/send", response_model=PurchaseOrderDetailOut, summary="Send to the supplier")
def send(code: Code, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchase_orders.send(db, actor, code, now=when)


@router.post(
    "/purchase-orders/{code}/confirm", response_model=PurchaseOrderDetailOut, summary="Confirm for the supplier"
)
def confirm(code: Code, body: ConfirmIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchase_orders.confirm(db, actor, code, promised=body.promised, note=body.note, now=when)


@router.post("/purchase-orders/{code}/reschedule", response_model=PurchaseOrderDetailOut, summary="New promised dates")
def reschedule(code: Code, body: RescheduleIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchase_orders.reschedule(db, actor, code, body.promised, note=body.note, now=when)


@router.post("/purchase-orders/{code}/cancel", response_model=PurchaseOrderDetailOut, summary="Cancel (作废)")
def cancel(code: Code, body: ReasonIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchase_orders.cancel(db, actor, code, reason=body.reason, now=when)


@router.post("/purchase-orders/{code}/close", response_model=PurchaseOrderDetailOut, summary="Close short (关闭)")
def close(code: Code, body: ReasonIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchase_orders.close(db, actor, code, reason=body.reason, now=when)


@router.post(
    "/suppliers/{code}/api-keys", status_code=201, response_model=SupplierKeyOut, summary="A key for the supplier"
)
def supplier_key(code: Code, body: SupplierKeyIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return auth.create_supplier_api_key(db, actor, supplier=code, name=body.name, now=when)


@router.get("/suppliers", response_model=PageOut[SupplierOut], summary="Suppliers with their contacts")
def list_suppliers(db: DbDep, _: ReadPurchasing, page: PageDep) -> dict:
    rows, total = purchasing.list_suppliers(db, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


@router.get("/suppliers/{code}", response_model=SupplierOut, summary="A supplier with its contacts")
def get_supplier(code: Code, db: DbDep, _: ReadPurchasing) -> dict[str, Any]:
    return purchasing.get_supplier(db, code)


@router.get("/suppliers/{code}/contacts", response_model=list[SupplierContactOut], summary="A supplier's contacts")
def list_contacts(code: Code, db: DbDep, _: ReadPurchasing) -> list[dict[str, Any]]:
    return purchasing.get_supplier(db, code)["contacts"]


@router.post(
    "/suppliers/{code}/contacts", status_code=201, response_model=SupplierOut, summary="Add a contact (联系人)"
)
def add_contact(code: Code, body: SupplierContactIn, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchasing.add_contact(db, actor, code, body.to_contact(), now=when)


@router.patch("/suppliers/{code}/contacts/{contact_id}", response_model=SupplierOut, summary="Change a contact")
def update_contact(
    code: Code, contact_id: int, body: SupplierContactPatch, db: DbDep, actor: WritePurchasing, when: NowDep
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise InvalidRequest("Leave a contact field out to keep it; it cannot be set to null.")
    return purchasing.update_contact(db, actor, code, contact_id, changes, now=when)


@router.delete("/suppliers/{code}/contacts/{contact_id}", response_model=SupplierOut, summary="Remove a contact")
def remove_contact(code: Code, contact_id: int, db: DbDep, actor: WritePurchasing, when: NowDep) -> dict[str, Any]:
    return purchasing.remove_contact(db, actor, code, contact_id, now=when)


@router.get("/suppliers/{code}/reliability", response_model=ReliabilityOut, summary="Learned from deliveries")
def reliability(code: Code, db: DbDep, _: ReadPurchasing) -> dict[str, Any]:
    return purchase_orders.reliability(db, code)
