"""Per-shop automatic order fetching (自动抓单) settings and status."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.services import fetch

router = APIRouter(prefix="/api/v1/shops", tags=["orders"])
Read = actor_with(Permission.SHOPS_READ)
Write = actor_with(Permission.SHOPS_WRITE)


class FetchSettingsIn(BaseModel):
    base_url: str = Field(min_length=8, max_length=300, examples=["https://eco.taobao.com"])
    app_key: str = Field(min_length=1, max_length=120)
    app_secret: str = Field(min_length=1, max_length=200, description="Stored encrypted; never shown again")
    access_token: str = Field(min_length=1, max_length=800, description="Stored encrypted; never shown again")
    enabled: bool = True
    overlap_seconds: int = Field(default=300, ge=0, le=86_400, description="Each run starts this far back")
    lag_seconds: int = Field(default=180, ge=0, le=3_600, description="Windows end this far behind now")
    backfill_hours: int = Field(default=24, ge=1, le=2_160, description="How far back the first run reaches")


class FetchStatusOut(BaseModel):
    shop: str
    platform: str
    enabled: bool
    base_url: str
    app_key: str
    watermark: datetime | None = Field(description="Everything modified before this has been fetched")
    overlap_seconds: int
    lag_seconds: int
    backfill_hours: int
    last_run_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    last_report: dict[str, Any] | None
    updated_at: datetime
    updated_by: str


@router.put("/{shop}/fetch", response_model=FetchStatusOut, summary="Set up automatic order fetching")
def configure_fetch(shop: str, body: FetchSettingsIn, request: Request, actor: Write, db: DbDep, now: NowDep) -> dict:
    return fetch.configure(db, request.app.state.cipher, actor, shop, **body.model_dump(), now=now)


@router.get("/{shop}/fetch", response_model=FetchStatusOut, summary="Fetching status: watermark, last error")
def fetch_status(shop: str, actor: Read, db: DbDep) -> dict:
    return fetch.status(db, shop)
