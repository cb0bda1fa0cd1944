"""Locking stock for orders as they arrive (锁库存: 下单锁 / 付定金锁 / 付款锁), per the shop's choice, in the same
transaction as the orders themselves; releasing it when an order is cancelled or refunded.

Reservations go through the stock ledger like any other (ids shop:order:line, so a redelivered order never
locks twice); presale lines lock as 预订单量 against the presale quota. Orders lock in payment order; one that
does not fit keeps its place in the list with the shortage as its reason, and never takes stock from another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from presale_erp.adapters.db import audit_repo, order_lock_repo, stock_repo
from presale_erp.domain.catalog import StockLockPolicy
from presale_erp.domain.errors import InsufficientStock
from presale_erp.domain.ledger import Reservation, ReservationRequest, ReservationStage, ReservationStatus
from presale_erp.domain.orders import PlatformStatus

S = PlatformStatus
LOCK_AT = {
    StockLockPolicy.ON_ORDER: {S.AWAITING_PAYMENT, S.DEPOSIT_PAID, S.PAID, S.HOLD},
    StockLockPolicy.ON_DEPOSIT: {S.DEPOSIT_PAID, S.PAID, S.HOLD},
    StockLockPolicy.ON_PAYMENT: {S.PAID, S.HOLD},
}
RELEASE_AT = {S.CANCELLED, S.REFUNDED}


@dataclass(frozen=True)
class LockLine:
    line_no: int
    sku_id: int
    quantity: int
    presale: bool
    refunded: bool = False


@dataclass(frozen=True)
class LockCandidate:
    order_id: int
    platform_order_id: str
    status: PlatformStatus
    paid_at: datetime | None
    lines: list[LockLine]


def reservation_id(shop: str, platform_order_id: str, line_no: int) -> str:
    return f"{shop}:{platform_order_id}:{line_no}"


def allocation_reservation_id(shop: str, platform_order_id: str, line_no: int, round_no: int) -> str:
    """What an allocation reserves for a line: the lock's id plus the allocation round (a re-allocation after
    a change reserves afresh, and never reuses an id)."""
    return f"{reservation_id(shop, platform_order_id, line_no)}:a{round_no}"


def is_allocation(reservation: str) -> bool:
    return reservation.rsplit(":", 1)[-1].startswith("a")


def lock_and_release(
    conn,
    shop: dict[str, Any],
    candidates: list[LockCandidate],
    *,
    actor: str,
    now: datetime,
    withdrawn: set[int] | None = None,
) -> dict[int, str]:
    """Returns order id -> "" when its stock is locked, or the reason it is not. Orders whose allocated stock
    was given back (cancelled, refunded, or a refunded line) are added to `withdrawn`, for their parcels.

    An order locks once: if it ever had reservations (even ones since released, e.g. when its balance window
    passed), it does not lock again by itself. Cancelled or refunded orders release everything they hold;
    a refunded line releases its own lock."""
    withdrawn = set() if withdrawn is None else withdrawn
    if not candidates:
        return {}
    policy = StockLockPolicy(shop["stock_lock_policy"])
    held = order_lock_repo.reservations_of_orders(conn, shop["id"], [c.platform_order_id for c in candidates])
    release_rows = []
    for c in candidates:
        pending = [r for r in held.get(c.platform_order_id, []) if r["status"] == ReservationStatus.PENDING.value]
        refunded_ids = {
            reservation_id(shop["code"], c.platform_order_id, line.line_no) for line in c.lines if line.refunded
        }
        # A refunded line gives back its lock, and the reservation an allocation made for it (id + ":a<n>").
        release_rows += [
            r
            for r in pending
            if c.status in RELEASE_AT or r["id"] in refunded_ids or r["id"].rsplit(":", 1)[0] in refunded_ids
        ]
    released_orders = {r["order_ref"] for r in release_rows}
    to_lock = [
        c
        for c in candidates
        if shop["lock_warehouse_id"] is not None  # no lock warehouse: stock is taken at allocation
        and c.status in LOCK_AT[policy]
        and c.platform_order_id not in held
        and any(not line.refunded for line in c.lines)
    ]
    if not release_rows and not to_lock:
        return {}
    warehouse = order_lock_repo.warehouse_code(conn, shop["lock_warehouse_id"]) if to_lock else ""
    codes = order_lock_repo.sku_codes(
        conn, {line.sku_id for c in to_lock for line in c.lines} | {r["sku_id"] for r in release_rows}
    )
    sku_ids = {code: sku_id for sku_id, code in codes.items()}
    warehouse_ids = {warehouse: shop["lock_warehouse_id"]} if to_lock else {}
    warehouse_ids |= order_lock_repo.warehouse_codes(conn, {r["warehouse_id"] for r in release_rows})
    code_of_warehouse = {v: k for k, v in warehouse_ids.items()}
    keys = {(codes[line.sku_id], warehouse) for c in to_lock for line in c.lines}
    keys |= {(codes[r["sku_id"]], code_of_warehouse[r["warehouse_id"]]) for r in release_rows}
    locked = stock_repo.lock_positions(conn, keys, sku_ids, warehouse_ids, create_missing=True, now=now)
    outcome: dict[int, str] = {}
    released = _release(
        locked,
        [r | {"sku": codes[r["sku_id"]], "warehouse": code_of_warehouse[r["warehouse_id"]]} for r in release_rows],
    )
    allocated_refs = {r["order_ref"] for r in release_rows if is_allocation(r["id"])}
    for c in candidates:
        if c.platform_order_id in released_orders and c.status in RELEASE_AT:
            outcome[c.order_id] = "已取消/退款, 库存已释放 (released)"
        if c.platform_order_id in allocated_refs:
            withdrawn.add(c.order_id)
    made: list[tuple[Reservation, LockCandidate]] = []
    far_past = datetime.min.replace(tzinfo=UTC)
    for c in sorted(to_lock, key=lambda c: (c.paid_at or far_past, c.order_id)):
        requests = [
            ReservationRequest(
                reservation_id(shop["code"], c.platform_order_id, line.line_no),
                codes[line.sku_id],
                warehouse,
                line.quantity,
                ReservationStage.PRESALE_BOOKED if line.presale else ReservationStage.AWAITING_REVIEW,
            )
            for line in c.lines
            if not line.refunded
        ]
        try:
            made += [(r, c) for r in locked.book.reserve_all(requests)]
            outcome[c.order_id] = ""
        except InsufficientStock as short:
            outcome[c.order_id] = "缺货, 未锁库存 (stock short): " + "; ".join(
                f"{s.sku} wanted {s.wanted}, {s.available} available" for s in short.lines
            )
    stock_repo.save(conn, locked, {}, now)
    stock_repo.insert_reservations(
        conn,
        [
            {
                "id": r.id,
                "sku_id": sku_ids[r.sku],
                "warehouse_id": shop["lock_warehouse_id"],
                "shop_id": shop["id"],
                "order_ref": c.platform_order_id,
                "quantity": r.quantity,
                "from_quota": r.from_quota,
                "stage": r.stage.value,
                "status": r.status.value,
                "expires_at": None,
                "created_at": now,
                "created_by": actor,
                "ended_at": None,
                "ended_by": None,
            }
            for r, c in made
        ],
    )
    stock_repo.update_reservations(
        conn,
        [
            {"id": r.id, "status": r.status.value, "stage": r.stage.value, "ended_at": now, "ended_by": actor}
            for r in released
        ],
    )
    order_lock_repo.mark_orders(conn, outcome)
    audit_repo.record(
        conn,
        actor=actor,
        action="orders.lock_stock",
        entity="shop",
        entity_id=shop["code"],
        at=now,
        details={
            "locked": len({c.order_id for _, c in made}),
            "released": len(released),
            "short": sum(1 for reason in outcome.values() if reason.startswith("缺货")),
        },
    )
    return outcome


def _release(locked, rows: list[dict[str, Any]]) -> list[Reservation]:
    released = []
    for row in rows:
        reservation = stock_repo.to_domain_reservation(row)
        locked.book.release(reservation, ReservationStatus.VOIDED)
        released.append(reservation)
    return released
