"""Settlement reconciliation (对账): upload a platform bill as downloaded, see the imports and the differences
found (missing, extra, mismatched money), and resolve each with a note."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime, BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, PageDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.errors import InvalidRequest
from presale_erp.services import reconciliation

router = APIRouter(prefix="/api/v1/finance", tags=["finance"])
Read = actor_with(Permission.FINANCE_READ)
Write = actor_with(Permission.FINANCE_WRITE)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
MAX_BILL_BYTES = 50 * 1024 * 1024
BillFormat = Literal[reconciliation.FORMATS]  # type: ignore[valid-type]
BILL_TYPES = {"text/csv": {}, "application/zip": {}, "application/json": {}, "application/octet-stream": {}}


class FindingCountsOut(BaseModel):
    missing: int
    extra: int
    mismatch: int


class ImportOut(BaseModel):
    id: int
    channel: str
    format: str
    file_name: str
    sha256: str
    shops: list[str]
    period_start: datetime
    period_end: datetime
    line_count: int
    matched_count: int = Field(description="Bill lines that agree with the ledger")
    finding_count: int
    charges_recorded: int = Field(description="Fees and commissions written into the payments ledger")
    findings: FindingCountsOut
    imported_at: datetime
    imported_by: str
    already_imported: bool = Field(description="This very file (same sha256) was imported before; nothing changed")


class ImportPageOut(BaseModel):
    items: list[ImportOut]
    total: int
    limit: int
    offset: int


class FindingOut(BaseModel):
    id: int
    import_id: int
    kind: str = Field(description="missing (账上有、账单无) | extra (账单有、账上无) | mismatch (金额不符)")
    amount_kind: str
    external_ref: str
    order_ref: str
    expected: Decimal | None = Field(description="The ledger's amount")
    actual: Decimal | None = Field(description="The bill's amount")
    difference: Decimal = Field(description="Bill minus ledger")
    line_nos: list[int]
    entry_ids: list[int]
    explanation: str
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None


class FindingPageOut(BaseModel):
    items: list[FindingOut]
    total: int
    limit: int
    offset: int


class ResolveIn(BaseModel):
    note: str = Field(min_length=1, max_length=1000, description="What was done about the difference")


@router.post(
    "/settlements",
    status_code=201,
    response_model=ImportOut,
    summary="Import a bill file as downloaded (CSV, ZIP, JSON) and reconcile it",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in BILL_TYPES},
        }
    },
)
async def import_bill(
    request: Request,
    response: Response,
    actor: Write,
    db: DbDep,
    now: NowDep,
    shop: Annotated[list[str], Query(min_length=1, description="The shop(s) whose money the account holds")],
    file_name: Annotated[str, Query(min_length=1, max_length=255)] = "bill.csv",
    format: Annotated[BillFormat | None, Query(description="Found from the header when not given")] = None,
    period_start: Annotated[AwareDatetime | None, Query(description="Default: the bill's own period")] = None,
    period_end: Annotated[AwareDatetime | None, Query()] = None,
) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BILL_BYTES:
        raise InvalidRequest(f"The bill is over {MAX_BILL_BYTES // 2**20} MiB; import it a day at a time.")
    if (period_start is None) != (period_end is None):
        raise InvalidRequest("Give both period_start and period_end, or neither.")
    period = (period_start, period_end) if period_start and period_end else None
    out = await run_in_threadpool(
        reconciliation.import_bill, db, actor, body, file_name=file_name, shops=shop, now=now, format=format,
        period=period,
    )  # fmt: skip
    if out["already_imported"]:
        response.status_code = 200
    return out


@router.get("/settlements", response_model=ImportPageOut, summary="Imported bills, newest first")
def list_imports(actor: Read, db: DbDep, page: PageDep, channel: str | None = None) -> dict:
    rows, total = reconciliation.list_imports(db, actor, channel=channel, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


@router.get("/settlements/{import_id}", response_model=ImportOut, summary="One imported bill with its counts")
def get_import(import_id: Id, actor: Read, db: DbDep) -> dict:
    return reconciliation.detail(db, actor, import_id)


@router.get("/reconciliation-findings", response_model=FindingPageOut, summary="Differences found, with filters")
def list_findings(
    actor: Read,
    db: DbDep,
    page: PageDep,
    import_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    kind: Literal["missing", "extra", "mismatch"] | None = None,
    resolved: bool | None = None,
    ref: Annotated[str | None, Query(max_length=80, description="A platform or order number")] = None,
) -> dict:
    rows, total = reconciliation.list_findings(
        db, actor, import_id=import_id, kind=kind, resolved=resolved, ref=ref, limit=page.limit, offset=page.offset
    )
    return page.of(rows, total)


@router.post("/reconciliation-findings/{finding_id}/resolve", response_model=FindingOut, summary="Resolve with a note")
def resolve(finding_id: Id, body: ResolveIn, actor: Write, db: DbDep, now: NowDep) -> dict:
    return reconciliation.resolve_finding(db, actor, finding_id, note=body.note, now=now)
