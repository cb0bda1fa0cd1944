"""Presale campaigns (预售活动) and their quotas."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, PageDep, actor_with
from presale_erp.api.schemas import PageOut, Timestamp
from presale_erp.domain.access import Permission
from presale_erp.domain.presale import CampaignSku, CampaignStatus, PresaleMode
from presale_erp.services import presale

router = APIRouter(prefix="/api/v1/presale-campaigns", tags=["presale"])
Read = actor_with(Permission.PRESALE_READ)
Write = actor_with(Permission.PRESALE_WRITE)
MoneyIn = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class CampaignSkuIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    warehouse: str = Field(min_length=1, max_length=64)
    presale_quota: int = Field(ge=0, le=10_000_000, description="Units that may be sold ahead of stock")
    price: MoneyIn
    deposit: MoneyIn = Field(description="定金; 0 for full-payment presale")


class CampaignIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["DOUBLE11-2026"])
    name: str = Field(min_length=1, max_length=200, examples=["双11 预售"])
    mode: PresaleMode = PresaleMode.DEPOSIT
    shop: str | None = Field(default=None, max_length=64)
    deposit_starts_at: Timestamp
    deposit_ends_at: Timestamp
    balance_starts_at: Timestamp | None = None
    balance_ends_at: Timestamp | None = None
    ships_from: Timestamp
    skus: list[CampaignSkuIn] = Field(min_length=1, max_length=5000)


class CampaignSkuOut(BaseModel):
    sku: str
    warehouse: str
    presale_quota: int
    price: Decimal
    deposit: Decimal


class CampaignOut(BaseModel):
    code: str
    name: str
    mode: str
    shop: str | None
    status: str
    deposit_starts_at: datetime
    deposit_ends_at: datetime
    balance_starts_at: datetime | None
    balance_ends_at: datetime | None
    ships_from: datetime
    created_at: datetime
    created_by: str
    skus: list[CampaignSkuOut]


@router.get("", response_model=PageOut[CampaignOut], summary="List presale campaigns")
def list_campaigns(
    actor: Read, db: DbDep, page: PageDep, status: Annotated[CampaignStatus | None, Query()] = None
) -> dict:
    rows, total = presale.list_campaigns(db, status=status, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


@router.get("/{code}", response_model=CampaignOut, summary="One presale campaign")
def get_campaign(code: str, actor: Read, db: DbDep) -> dict:
    return presale.get_campaign(db, code)


@router.post("", response_model=CampaignOut, status_code=201, summary="Set up a presale campaign (draft)")
def create_campaign(body: CampaignIn, actor: Write, db: DbDep, now: NowDep) -> dict:
    new = presale.NewCampaign(
        code=body.code,
        name=body.name,
        mode=body.mode,
        shop=body.shop,
        deposit_starts_at=body.deposit_starts_at,
        deposit_ends_at=body.deposit_ends_at,
        balance_starts_at=body.balance_starts_at,
        balance_ends_at=body.balance_ends_at,
        ships_from=body.ships_from,
        skus=[CampaignSku(s.sku, s.warehouse, s.presale_quota, s.price, s.deposit) for s in body.skus],
    )
    return presale.create_campaign(db, actor, new, now=now)


@router.post("/{code}/open", response_model=CampaignOut, summary="Open: quotas go live on stock positions")
def open_campaign(code: str, actor: Write, db: DbDep, now: NowDep) -> dict:
    return presale.open_campaign(db, actor, code, now=now)


@router.post("/{code}/close", response_model=CampaignOut, summary="Close: no more selling ahead of stock")
def close_campaign(code: str, actor: Write, db: DbDep, now: NowDep) -> dict:
    return presale.close_campaign(db, actor, code, now=now)
