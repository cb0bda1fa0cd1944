"""Receivables and customer credit (挂账 / 信用额度 / 应收): customers on account and their platform buyers, the
AR ledger (payments, credit notes, write-offs, invoices), statements, the aging report and credit scores."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from presale_erp.adapters.exporting.sheets import XLSX_MEDIA_TYPE
from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.credit import CustomerKind, CustomerTerms
from presale_erp.domain.receivables import ArKind, business_day
from presale_erp.services import customers, receivables, receivables_reports

router = APIRouter(prefix="/api/v1", tags=["receivables"])
Reader = actor_with(Permission.FINANCE_READ)
Writer = actor_with(Permission.FINANCE_WRITE)
Code = Annotated[str, Path(min_length=1, max_length=64)]
Amount = Annotated[Decimal, Field(gt=0, le=Decimal("100000000"), decimal_places=2)]
AsOf = Annotated[date | None, Query(description="Beijing business day; empty: today")]


class CustomerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: CustomerKind
    credit_limit: Decimal = Field(ge=0, le=Decimal("100000000"), decimal_places=2, description="信用额度, yuan")
    payment_terms_days: int = Field(ge=0, le=365, description="账期: days from invoice to due")
    active: bool = True
    note: str = Field(default="", max_length=1000)


class NewCustomerIn(CustomerIn):
    code: str = Field(min_length=1, max_length=64)


class BuyerOut(BaseModel):
    shop: str
    buyer_index: str = Field(description="Blind index of the buyer id, as on orders; use it to unlink")
    buyer_label: str
    created_at: datetime
    created_by: str


class CustomerOut(CustomerIn):
    code: str
    created_at: datetime
    created_by: str
    updated_at: datetime
    buyers: list[BuyerOut] = Field(default_factory=list)


class BuyerIn(BaseModel):
    shop: str = Field(min_length=1, max_length=64)
    platform_buyer_id: str = Field(min_length=1, max_length=200, description="The platform's buyer id / 会员名")


class EntryIn(BaseModel):
    entry_key: str = Field(min_length=1, max_length=160, description="Yours, e.g. the bank's transaction number")
    kind: ArKind
    amount: Amount = Field(description="Above zero; the kind gives the sign")
    occurred_at: AwareDatetime
    order_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    note: str = Field(default="", max_length=300)


class EntryOut(BaseModel):
    id: int
    entry_key: str
    kind: ArKind
    amount: Decimal = Field(description="Signed: + owed by the customer, - paid or credited")
    order_id: int | None
    due_at: datetime | None
    occurred_at: datetime
    note: str
    recorded_at: datetime
    recorded_by: str


class StatementLineOut(BaseModel):
    on: date
    key: str
    kind: ArKind
    order_id: int | None
    due_on: date | None
    note: str
    debit: Decimal
    credit: Decimal
    balance: Decimal


class StatementOut(BaseModel):
    customer: str
    name: str
    start: date
    end: date
    opening: Decimal
    lines: list[StatementLineOut]
    closing: Decimal


class AgingFigures(BaseModel):
    current: Decimal = Field(description="未到期")
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    over_90: Decimal
    unapplied: Decimal = Field(description="Paid ahead, not yet used by an invoice")
    overdue: Decimal
    balance: Decimal


class AgingRow(AgingFigures):
    customer: str
    name: str
    kind: str
    credit_limit: Decimal
    payment_terms_days: int


class AgingOut(BaseModel):
    as_of: date
    rows: list[AgingRow]
    totals: AgingFigures


class CreditScoreOut(BaseModel):
    customer: str
    as_of: date
    score: int = Field(description="0-100: 40 on time, 20 lateness, 20 limit in use, 20 nothing overdue")
    grade: str = Field(description="A >= 85, B >= 70, C >= 50, D below")
    explanation: str
    on_time_ratio: Decimal | None
    average_days_late: Decimal
    utilisation: Decimal
    overdue: Decimal


class InvoicedOut(BaseModel):
    invoiced: int


def _terms(body: CustomerIn) -> CustomerTerms:
    return CustomerTerms(
        body.name, body.kind, body.credit_limit, body.payment_terms_days, active=body.active, note=body.note
    )


@router.post("/customers", status_code=201, response_model=CustomerOut, summary="New customer on account (挂账客户)")
def create_customer(body: NewCustomerIn, db: DbDep, actor: Writer, when: NowDep) -> dict[str, Any]:
    return customers.create(db, actor, body.code, _terms(body), now=when)


@router.get("/customers", response_model=list[CustomerOut], summary="Customers on account")
def list_customers(
    db: DbDep, actor: Reader, kind: CustomerKind | None = None, active: bool | None = None
) -> list[dict[str, Any]]:
    return customers.list_customers(db, actor, kind=kind.value if kind else None, active=active)


@router.get("/customers/{code}", response_model=CustomerOut, summary="A customer with its linked buyers")
def get_customer(code: Code, db: DbDep, actor: Reader) -> dict[str, Any]:
    return customers.get(db, actor, code)


@router.put("/customers/{code}", response_model=CustomerOut, summary="Change limit, terms, name or active")
def update_customer(code: Code, body: CustomerIn, db: DbDep, actor: Writer, when: NowDep) -> dict[str, Any]:
    return customers.update(db, actor, code, _terms(body), now=when)


@router.post(
    "/customers/{code}/buyers", status_code=201, response_model=list[BuyerOut], summary="Link a platform buyer"
)
def link_buyer(
    code: Code, body: BuyerIn, request: Request, db: DbDep, actor: Writer, when: NowDep
) -> list[dict[str, Any]]:
    cipher = request.app.state.cipher
    return customers.link_buyer(
        db, cipher, actor, code, shop=body.shop, platform_buyer_id=body.platform_buyer_id, now=when
    )


@router.delete("/customers/{code}/buyers/{shop}/{buyer_index}", status_code=204, summary="Unlink a platform buyer")
def unlink_buyer(
    code: Code,
    shop: Annotated[str, Path(min_length=1, max_length=64)],
    buyer_index: Annotated[str, Path(min_length=1, max_length=32)],
    db: DbDep,
    actor: Writer,
    when: NowDep,
) -> Response:
    customers.unlink_buyer(db, actor, code, shop=shop, buyer_index=buyer_index, now=when)
    return Response(status_code=204)


@router.post(
    "/customers/{code}/ar-entries", status_code=201, response_model=EntryOut, summary="Record a payment, credit note…"
)
def record_entry(code: Code, body: EntryIn, db: DbDep, actor: Writer, when: NowDep) -> dict[str, Any]:
    new = receivables.NewEntry(
        body.entry_key, body.kind, body.amount, body.occurred_at, order_id=body.order_id, note=body.note
    )
    return receivables.record_entry(db, actor, code, new, now=when)


@router.get("/customers/{code}/ar-entries", response_model=list[EntryOut], summary="The customer's AR ledger")
def list_entries(code: Code, db: DbDep, actor: Reader) -> list[dict[str, Any]]:
    return receivables.entries(db, actor, code)


@router.get("/customers/{code}/statement", response_model=StatementOut, summary="对账单 with running balance")
def customer_statement(code: Code, start: date, end: date, db: DbDep, actor: Reader) -> dict[str, Any]:
    customer, found = receivables.customer_statement(db, actor, code, start=start, end=end)
    return {"customer": customer["code"], "name": customer["name"], **asdict(found)}


@router.get("/customers/{code}/credit-score", response_model=CreditScoreOut, summary="Credit score and grade")
def credit_score(code: Code, db: DbDep, actor: Reader, when: NowDep, as_of: AsOf = None) -> dict[str, Any]:
    day = as_of or business_day(when)
    customer, score = receivables.customer_credit_score(db, actor, code, as_of=day)
    return {"customer": customer["code"], "as_of": day, **asdict(score)}


@router.get("/receivables/aging", response_model=AgingOut, summary="应收账龄 as of a day (json or xlsx)")
def aging_report(
    db: DbDep,
    actor: Reader,
    when: NowDep,
    as_of: AsOf = None,
    customer: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    format: Annotated[Literal["json", "xlsx"], Query(description="json, or xlsx for Excel")] = "json",
) -> Any:
    day = as_of or business_day(when)
    if format == "json":
        return receivables_reports.aging_report(db, actor, as_of=day, customer=customer)
    return Response(
        receivables_reports.aging_export(db, actor, as_of=day, customer=customer),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="aging-{day.isoformat()}.xlsx"'},
    )


@router.post("/receivables/invoice-shipped", response_model=InvoicedOut, summary="Invoice shipped on-account orders")
def invoice_shipped(db: DbDep, actor: Writer, when: NowDep) -> dict[str, Any]:
    return {"invoiced": receivables.invoice_shipped_orders(db, actor, now=when)}
