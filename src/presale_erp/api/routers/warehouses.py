"""Warehouses (own and 3PL), zones (库区) and bins (货位)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, PageDep, actor_with
from presale_erp.api.schemas import PageOut
from presale_erp.domain.access import Permission
from presale_erp.domain.warehouse import WarehouseKind, ZoneKind
from presale_erp.services import warehouses

router = APIRouter(prefix="/api/v1/warehouses", tags=["warehouses"])
Read = actor_with(Permission.WAREHOUSES_READ)
Write = actor_with(Permission.WAREHOUSES_WRITE)


class WarehouseIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["HZ"])
    name: str = Field(min_length=1, max_length=200, examples=["杭州主仓"])
    kind: WarehouseKind = WarehouseKind.OWN
    provider: str | None = Field(default=None, max_length=120, description="3PL operator")
    province: str | None = Field(default=None, max_length=40, examples=["浙江省"])
    city: str | None = Field(default=None, max_length=40, examples=["杭州市"])
    address: str | None = Field(default=None, max_length=300)


class ZoneOut(BaseModel):
    code: str
    name: str
    kind: str


class WarehouseOut(BaseModel):
    code: str
    name: str
    kind: str
    provider: str | None
    province: str | None
    city: str | None
    address: str | None
    active: bool
    created_at: datetime
    created_by: str


class WarehouseDetailOut(WarehouseOut):
    zones: list[ZoneOut]


class ZoneIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["A"])
    name: str = Field(default="", max_length=120, examples=["A 区 存储"])
    kind: ZoneKind = ZoneKind.STORAGE


class BinsIn(BaseModel):
    zone: str = Field(min_length=1, max_length=64)
    codes: list[str] = Field(min_length=1, max_length=5000, examples=[["A-01-01", "A-01-02"]])
    sellable: bool | None = Field(
        default=None,
        description="False: a damaged/quarantine bin (残次品区) whose units are not sellable; "
        "default: false in a defective zone, else true",
    )


class BinUpdateIn(BaseModel):
    sellable: bool = Field(description="False: damaged/quarantine bin (残次品区); only an empty bin may change")


class BinOut(BaseModel):
    code: str
    zone: str
    sellable: bool


@router.get("", response_model=PageOut[WarehouseOut], summary="List warehouses")
def list_warehouses(actor: Read, db: DbDep, page: PageDep) -> dict:
    rows, total = warehouses.list_warehouses(db, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


@router.post("", response_model=WarehouseOut, status_code=201, summary="Create a warehouse")
def create_warehouse(body: WarehouseIn, actor: Write, db: DbDep, now: NowDep) -> dict:
    return warehouses.create_warehouse(db, actor, **body.model_dump(), now=now)


@router.get("/{code}", response_model=WarehouseDetailOut, summary="One warehouse with its zones")
def get_warehouse(code: str, actor: Read, db: DbDep) -> dict:
    return warehouses.get_warehouse(db, code)


@router.post("/{code}/zones", response_model=ZoneOut, status_code=201, summary="Add a zone")
def create_zone(code: str, body: ZoneIn, actor: Write, db: DbDep, now: NowDep) -> dict:
    return warehouses.create_zone(db, actor, warehouse=code, code=body.code, name=body.name, kind=body.kind, now=now)


@router.get("/{code}/bins", response_model=PageOut[BinOut], summary="List bins")
def list_bins(code: str, actor: Read, db: DbDep, page: PageDep, zone: str | None = None) -> dict:
    rows, total = warehouses.list_bins(db, warehouse=code, zone=zone, limit=page.limit, offset=page.offset)
    return page.of(rows, total)


@router.post("/{code}/bins", response_model=list[BinOut], status_code=201, summary="Add bins to a zone")
def create_bins(code: str, body: BinsIn, actor: Write, db: DbDep, now: NowDep) -> list[dict]:
    return warehouses.create_bins(
        db, actor, warehouse=code, zone=body.zone, codes=body.codes, sellable=body.sellable, now=now
    )


@router.patch("/{code}/bins/{bin_code}", response_model=BinOut, summary="Make a bin sellable or not (残次品区)")
def update_bin(code: str, bin_code: str, body: BinUpdateIn, actor: Write, db: DbDep, now: NowDep) -> dict:
    return warehouses.update_bin(db, actor, warehouse=code, code=bin_code, sellable=body.sellable, now=now)
