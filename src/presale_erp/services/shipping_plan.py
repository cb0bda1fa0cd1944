"""发货确认, step one: which of the named parcels may ship, and the movements that take their goods out (one per
reservation, from the bin a retry already used or else the fullest sellable bin that holds it all). Read before
anything is posted; services/shipping_confirmation.py posts and books."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from presale_erp.adapters.db import dispatch_repo
from presale_erp.adapters.db import fulfilment_repo as parcel_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain import dispatch
from presale_erp.domain.errors import Conflict, DomainError, InvalidRequest


@dataclass
class ShipReport:
    shipped: list[str] = field(default_factory=list)
    already_shipped: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # parcel code (or tracking number) -> why
    postings: int = 0
    uncosted: list[str] = field(default_factory=list)  # "sku@warehouse" shipped at unit cost 0 (no cost known)


@dataclass
class StockLock:
    """One reservation and the movement that consumes it: a line split over parcels by weight shares one
    reservation, so its parcels leave together, in one movement, from one bin."""

    reservation_id: str
    movement_id: str
    sku: str
    warehouse: str
    quantity: int
    bin: str | None
    codes: set[str]


def posting_key(code: str, order_id: int, line_no: int) -> str:
    return f"ship:{code}:{order_id}:{line_no}"


def plan(
    db: Database, codes: list[str], tracking: list[str], report: ShipReport
) -> tuple[dict[str, dict[str, Any]], dict[str, StockLock]]:
    """Which parcels ship, and the movements that take their goods out, read before anything is posted."""
    with db.uow(write=False) as uow:
        conn = uow.conn
        by_tracking = dispatch_repo.codes_of_tracking(conn, tracking)
        for number in sorted(set(tracking) - by_tracking.keys()):
            report.refused[number] = f"No parcel with tracking number {number}."
        wanted = sorted(set(codes) | set(by_tracking.values()))
        found = {p["code"]: p for p in parcel_repo.parcels_by_code(conn, wanted)}
        for code in sorted(set(wanted) - found.keys()):
            report.refused[code] = f"No parcel {code}."
        held = dispatch_repo.orders_with_open_refunds(
            conn, {line["order_id"] for p in found.values() for line in p["lines"]}
        )
        parcels = _shippable(found, held, report)
        sharing = dispatch_repo.parcels_sharing(
            conn, {line["reservation_id"] for p in parcels.values() for line in p["lines"]}
        )
        _refuse_split_siblings(parcels, sharing, report)
        locks = _locks(conn, parcels, sharing, report)
    return {c: p for c, p in parcels.items() if c not in report.refused}, locks


def _shippable(found: dict[str, dict[str, Any]], held: set[int], report: ShipReport) -> dict[str, dict[str, Any]]:
    parcels = {}
    for code, parcel in sorted(found.items()):
        if parcel["status"] == dispatch.SHIPPED:
            report.already_shipped.append(code)
            continue
        try:
            dispatch.guard_ship(code, parcel["status"])
            if not parcel["lines"]:
                raise InvalidRequest(f"Parcel {code} holds no lines.")
            refunding = sorted({line["order_id"] for line in parcel["lines"]} & held)
            if refunding:
                raise Conflict(f"Order {refunding[0]} has an open refund request (售后中); settle it before shipping.")
            parcels[code] = parcel
        except DomainError as refused:
            report.refused[code] = refused.detail
    return parcels


def _refuse_split_siblings(parcels: dict[str, dict[str, Any]], sharing, report: ShipReport) -> None:
    """Parcels sharing a reservation leave together: refuse any whose open siblings are not all confirmed now
    (repeated, since refusing one may leave another's sibling out)."""
    changed = True
    while changed:
        changed = False
        for code, parcel in parcels.items():
            if code in report.refused:
                continue
            siblings = {
                row["parcel_code"]
                for line in parcel["lines"]
                for row in sharing.get(line["reservation_id"], [])
                if row["status"] != dispatch.SHIPPED
            } - {code}
            missing = sorted(c for c in siblings if c not in parcels or c in report.refused)
            if missing:
                report.refused[code] = (
                    f"Parcel {code} holds part of a line split over parcels {', '.join(missing)}; "
                    "they share one stock lock, so confirm them together."
                )
                changed = True


def _locks(conn, parcels: dict[str, dict[str, Any]], sharing, report: ShipReport) -> dict[str, StockLock]:
    """One movement per reservation, its quantity the reservation's, from the bin a retry already used or else
    the fullest sellable bin holding it all."""
    live = {c: p for c, p in parcels.items() if c not in report.refused}
    ids = {line["reservation_id"] for p in live.values() for line in p["lines"]}
    quantities = dispatch_repo.reservation_quantities(conn, ids)
    warehouses = dispatch_repo.warehouse_codes(conn, {p["warehouse_id"] for p in live.values()})
    locks: dict[str, StockLock] = {}
    for code, parcel in sorted(live.items()):
        for line in parcel["lines"]:
            rid = line["reservation_id"]
            if rid not in locks:
                first = sharing[rid][0]
                movement_id = posting_key(first["parcel_code"], first["order_id"], first["line_no"])
                wh = warehouses[parcel["warehouse_id"]]
                locks[rid] = StockLock(rid, movement_id, line["sku"], wh, quantities.get(rid, 0), None, set())
            locks[rid].codes.add(code)
    for lock in locks.values():
        if sum(row["quantity"] for row in sharing[lock.reservation_id]) != lock.quantity:
            for code in lock.codes:
                report.refused[code] = (
                    f"Stock lock {lock.reservation_id} holds {lock.quantity} units but its parcel lines "
                    f"{sum(row['quantity'] for row in sharing[lock.reservation_id])}; allocate the order again."
                )
    _choose_bins(conn, [lk for lk in locks.values() if not lk.codes & report.refused.keys()], parcels, report)
    return locks


def _choose_bins(conn, locks: list[StockLock], parcels: dict[str, dict[str, Any]], report: ShipReport) -> None:
    posted = dispatch_repo.posted_bins(conn, [lk.movement_id for lk in locks])
    keys = {
        lk.reservation_id: (line["sku_id"], parcels[code]["warehouse_id"])
        for lk in locks
        for code in lk.codes
        for line in parcels[code]["lines"]
        if line["reservation_id"] == lk.reservation_id
    }
    bins = dispatch_repo.sellable_bins(conn, set(keys.values()))
    taken: dict[tuple[int, int], dict[str, int]] = {}
    for lock in sorted(locks, key=lambda lk: lk.movement_id):
        if lock.movement_id in posted:
            lock.bin = posted[lock.movement_id]
            continue
        used = taken.setdefault(keys[lock.reservation_id], {})
        try:
            lock.bin = dispatch.choose_bin(
                lock.sku, lock.warehouse, lock.quantity, bins.get(keys[lock.reservation_id], []), used
            )
        except DomainError as refused:
            for code in lock.codes:
                report.refused[code] = refused.detail
            continue
        used[lock.bin] = used.get(lock.bin, 0) + lock.quantity
