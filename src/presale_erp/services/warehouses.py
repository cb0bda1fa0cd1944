"""Warehouses (own and 3PL), their zones (库区) and bins (货位)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from presale_erp.adapters.db import audit_repo
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.tables import bins, warehouses, zones
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.catalog import check_code
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.warehouse import WarehouseKind, ZoneKind


def create_warehouse(
    db: Database,
    actor: Actor,
    *,
    code: str,
    name: str,
    kind: WarehouseKind,
    provider: str | None,
    province: str | None,
    city: str | None,
    address: str | None,
    now: datetime,
) -> dict[str, Any]:
    check_code("Warehouse", code)
    if not name.strip():
        raise InvalidRequest("Warehouse name cannot be empty.")
    if kind is WarehouseKind.THIRD_PARTY and not (provider and provider.strip()):
        raise InvalidRequest("A 3PL warehouse needs its provider (the logistics company running it).")
    with db.uow() as uow:
        if repo.exists(uow.conn, warehouses, code=code):
            raise Conflict(f"A warehouse with code {code} already exists.")
        row = {
            "code": code,
            "name": name.strip(),
            "kind": kind.value,
            "provider": provider,
            "province": province,
            "city": city,
            "address": address,
            "active": True,
            "created_at": now,
            "created_by": actor.label,
        }
        row["id"] = repo.insert(uow.conn, warehouses, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="warehouse.create",
            entity="warehouse",
            entity_id=code,
            at=now,
            details={"kind": kind.value},
        )
        uow.commit()
        return row


def create_zone(
    db: Database, actor: Actor, *, warehouse: str, code: str, name: str, kind: ZoneKind, now: datetime
) -> dict[str, Any]:
    check_code("Zone", code)
    with db.uow() as uow:
        wh = _warehouse(uow.conn, warehouse)
        if repo.exists(uow.conn, zones, warehouse_id=wh["id"], code=code):
            raise Conflict(f"Warehouse {warehouse} already has a zone {code}.")
        row = {
            "warehouse_id": wh["id"],
            "code": code,
            "name": name.strip() or code,
            "kind": kind.value,
            "created_at": now,
            "created_by": actor.label,
        }
        row["id"] = repo.insert(uow.conn, zones, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="zone.create",
            entity="zone",
            entity_id=f"{warehouse}/{code}",
            at=now,
        )
        uow.commit()
        return {**row, "warehouse": warehouse}


def create_bins(
    db: Database,
    actor: Actor,
    *,
    warehouse: str,
    zone: str,
    codes: list[str],
    now: datetime,
    sellable: bool | None = None,
) -> list[dict[str, Any]]:
    """Add bins to a zone in one go (a shelf's worth at a time is the usual case). A non-sellable bin
    (sellable=False) holds damaged or quarantined goods (残次品区); left out, bins in a defective zone are
    non-sellable and all others sellable."""
    if not codes:
        raise InvalidRequest("Give at least one bin code.")
    for code in codes:
        check_code("Bin", code)
    if len(set(codes)) != len(codes):
        raise InvalidRequest("Bin codes repeat in the request.")
    with db.uow() as uow:
        conn = uow.conn
        wh = _warehouse(conn, warehouse)
        zone_row = next((z for z in repo.zones_of(conn, wh["id"]) if z["code"] == zone), None)
        if zone_row is None:
            raise NotFound(f"Warehouse {warehouse} has no zone {zone}.")
        if sellable is None:
            sellable = zone_row["kind"] != ZoneKind.DEFECTIVE.value
        taken = repo.existing_bin_codes(conn, wh["id"], codes)
        if taken:
            raise Conflict(f"Warehouse {warehouse} already has bin(s) {', '.join(taken)}.")
        rows = [
            {
                "warehouse_id": wh["id"],
                "zone_id": zone_row["id"],
                "code": code,
                "sellable": sellable,
                "created_at": now,
                "created_by": actor.label,
            }
            for code in codes
        ]
        repo.insert_many(conn, bins, rows)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="bin.create",
            entity="zone",
            entity_id=f"{warehouse}/{zone}",
            at=now,
            details={"bins": codes, "sellable": sellable},
        )
        uow.commit()
        return [{"code": code, "zone": zone, "warehouse": warehouse, "sellable": sellable} for code in codes]


def update_bin(
    db: Database, actor: Actor, *, warehouse: str, code: str, sellable: bool, now: datetime
) -> dict[str, Any]:
    """Make a bin sellable or not (残次品区). Only an empty bin may change: units already in it count in the
    bucket of what the bin was, so they are moved out first (a transfer moves them between the buckets)."""
    with db.uow() as uow:
        conn = uow.conn
        wh = _warehouse(conn, warehouse)
        found = repo.bin_by_code(conn, wh["id"], code)
        if found is None:
            raise NotFound(f"Warehouse {warehouse} has no bin {code}.")
        if found["sellable"] != sellable:
            held = repo.bin_units(conn, found["id"])
            if held:
                raise Conflict(
                    f"Bin {code} of {warehouse} still holds {held} units; transfer them to another bin before "
                    f"making it {'sellable' if sellable else 'non-sellable'}."
                )
            repo.set_bin_sellable(conn, found["id"], sellable)
            audit_repo.record(
                conn,
                actor=actor.label,
                action="bin.update",
                entity="bin",
                entity_id=f"{warehouse}/{code}",
                at=now,
                details={"sellable": sellable},
            )
            uow.commit()
        return {"code": code, "zone": found["zone"], "warehouse": warehouse, "sellable": sellable}


def _warehouse(conn, code: str) -> dict[str, Any]:
    row = repo.warehouse_by_code(conn, code)
    if row is None:
        raise NotFound(f"No warehouse with code {code}.")
    return row


def list_warehouses(db: Database, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    with db.uow(write=False) as uow:
        return repo.page(uow.conn, warehouses, limit=limit, offset=offset)


def get_warehouse(db: Database, code: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        row = _warehouse(uow.conn, code)
        row["zones"] = repo.zones_of(uow.conn, row["id"])
        return row


def list_bins(db: Database, *, warehouse: str, zone: str | None, limit: int, offset: int):
    with db.uow(write=False) as uow:
        wh = _warehouse(uow.conn, warehouse)
        return repo.bins_of(uow.conn, wh["id"], zone, limit, offset)
