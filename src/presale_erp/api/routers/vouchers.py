"""Accounting vouchers (凭证) for Kingdee and Yonyou: generate for finished days, pull page by page (by id, which
only grows), get one, export in an import layout, and read or replace the chart-of-accounts mapping (科目映射)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from presale_erp.adapters.accounting import ExportOptions
from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.api.schemas import Cursor, CursorPageOut
from presale_erp.domain.access import Permission
from presale_erp.domain.chart_of_accounts import Account, AccountRole, AuxiliaryKind, MappingRule
from presale_erp.domain.vouchers import BUSINESS_LABELS, Voucher
from presale_erp.services import vouchers

router = APIRouter(prefix="/api/v1", tags=["vouchers"])
ReadFinance = actor_with(Permission.FINANCE_READ)
WriteFinance = actor_with(Permission.FINANCE_WRITE)
ShopCode = Annotated[str | None, Query(min_length=1, max_length=64, description="Shop code")]
Code = Annotated[str, Field(max_length=64)]


class GenerateIn(BaseModel):
    day_from: date = Field(description="First Beijing day (inclusive)")
    day_to: date = Field(description="Last Beijing day (inclusive); must be over")


class GenerateOut(BaseModel):
    created: int = Field(description="Vouchers for days not vouchered before")
    supplements: int = Field(description="Supplementary vouchers (补记) for facts that arrived late")
    voucher_ids: list[int]


class AuxiliaryOut(BaseModel):
    kind: str
    label: str
    code: str
    name: str


class LineOut(BaseModel):
    line_no: int
    summary: str
    account_code: str
    account_name: str
    debit: Decimal
    credit: Decimal
    auxiliary: list[AuxiliaryOut]


class VoucherOut(BaseModel):
    id: int
    date: date
    fiscal_year: int
    period: int
    word: str
    number: int
    shop: str
    business_type: str
    business_label: str
    source_key: str
    sequence: int = Field(description="0: the day's voucher; 1, 2, ...: supplements for late facts")
    attachments: int
    preparer: str
    total_debit: Decimal
    total_credit: Decimal
    lines: list[LineOut]


class RuleIO(BaseModel):
    role: AccountRole
    shop: Code = Field(default="", description="Shop code; empty for every shop")
    channel: str = Field(default="", max_length=20, description="Payment channel; empty for every channel")
    account_code: str = Field(min_length=1, max_length=40)
    account_name: str = Field(min_length=1, max_length=80)
    auxiliary: list[AuxiliaryKind] = Field(default_factory=list, max_length=2)


class MappingIO(BaseModel):
    rules: list[RuleIO] = Field(max_length=2000)


def _out(voucher: Voucher) -> dict[str, Any]:
    return {
        "id": voucher.id,
        "date": voucher.date,
        "fiscal_year": voucher.year,
        "period": voucher.period,
        "word": voucher.word,
        "number": voucher.number,
        "shop": voucher.shop,
        "business_type": voucher.business_type.value,
        "business_label": BUSINESS_LABELS[voucher.business_type],
        "source_key": voucher.source_key,
        "sequence": voucher.sequence,
        "attachments": voucher.attachments,
        "preparer": voucher.preparer,
        "total_debit": voucher.total_debit,
        "total_credit": voucher.total_credit,
        "lines": [
            {
                "line_no": n,
                "summary": line.summary,
                "account_code": line.account_code,
                "account_name": line.account_name,
                "debit": line.debit,
                "credit": line.credit,
                "auxiliary": [
                    {"kind": a.kind.value, "label": a.label, "code": a.code, "name": a.name} for a in line.auxiliary
                ],
            }
            for n, line in enumerate(voucher.lines)
        ],
    }


def _rules_out(rules: list[MappingRule]) -> dict[str, Any]:
    return {
        "rules": [
            {
                "role": r.role,
                "shop": r.shop,
                "channel": r.channel,
                "account_code": r.account.code,
                "account_name": r.account.name,
                "auxiliary": list(r.auxiliary),
            }
            for r in rules
        ]
    }


@router.post("/vouchers/generate", response_model=GenerateOut, summary="Vouchers for finished Beijing days")
def generate(body: GenerateIn, db: DbDep, actor: WriteFinance, when: NowDep) -> dict[str, Any]:
    return vouchers.generate(db, actor, day_from=body.day_from, day_to=body.day_to, now=when).__dict__


@router.get("/vouchers", response_model=CursorPageOut[VoucherOut], summary="Vouchers in id order, for pulling")
def list_vouchers(
    db: DbDep,
    actor: ReadFinance,
    after: Annotated[Cursor | None, Query(description="next_cursor of the previous page (a voucher id)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    shop: ShopCode = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> dict[str, Any]:
    found = vouchers.list_vouchers(
        db, actor, after_id=int(after) if after else None, limit=limit, shop=shop, day_from=day_from, day_to=day_to
    )
    return {"items": [_out(v) for v in found], "next_cursor": str(found[-1].id) if len(found) == limit else None}


@router.get("/vouchers/export", summary="An import file: k3wise (Excel), k3cloud (JSON) or u8 (XML)")
def export(
    db: DbDep,
    actor: ReadFinance,
    day_from: date,
    day_to: date,
    format: Annotated[Literal["k3wise", "k3cloud", "u8"], Query(description="Import layout")],
    shop: ShopCode = None,
    account_book: Annotated[str, Query(min_length=1, max_length=40, description="K/3 Cloud 账簿编码")] = "001",
    sender: Annotated[str, Query(min_length=1, max_length=40, description="U8 EAI 系统编码")] = "presale-erp",
) -> Response:
    file = vouchers.export(
        db,
        actor,
        layout=format,
        day_from=day_from,
        day_to=day_to,
        shop=shop,
        options=ExportOptions(account_book=account_book, sender=sender),
    )
    return Response(
        file.content,
        media_type=file.media_type,
        headers={"Content-Disposition": f'attachment; filename="{file.filename}"'},
    )


@router.get("/vouchers/account-mapping", response_model=MappingIO, summary="The chart-of-accounts mapping in force")
def get_mapping(db: DbDep, actor: ReadFinance) -> dict[str, Any]:
    return _rules_out(vouchers.mapping(db, actor))


@router.put("/vouchers/account-mapping", response_model=MappingIO, summary="Replace the chart-of-accounts mapping")
def put_mapping(body: MappingIO, db: DbDep, actor: WriteFinance, when: NowDep) -> dict[str, Any]:
    rules = [
        MappingRule(
            r.role,
            Account(r.account_code, r.account_name),
            shop=r.shop,
            channel=r.channel,
            auxiliary=tuple(r.auxiliary),
        )
        for r in body.rules
    ]
    return _rules_out(vouchers.save_mapping(db, actor, rules, now=when))


@router.get("/vouchers/{voucher_id}", response_model=VoucherOut, summary="One voucher with its lines")
def get(voucher_id: Annotated[int, Path(ge=1, le=2**62)], db: DbDep, actor: ReadFinance) -> dict[str, Any]:
    return _out(vouchers.get(db, actor, voucher_id))
