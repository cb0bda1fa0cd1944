"""The pre-order queue (预订单): paid presale orders wait until their planned ship date has come and their
goods are on the shelves, then are activated (and go to review). Every waiting order shows why it waits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from presale_erp.adapters.db import audit_repo, preorder_repo, review_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.orders import PreOrder, activate


@dataclass
class ActivationReport:
    checked: int = 0
    activated: int = 0
    still_waiting: int = 0


def activate_due(db: Database, actor: Actor, *, now: datetime, batch: int = 5000) -> ActivationReport:
    """One pass over the queue. Stock is counted once for the whole queue, so two orders never both count on
    the same free unit; activation does not reserve (allocation does), it opens the gate to review."""
    report = ActivationReport()
    with db.uow() as uow:
        conn = uow.conn
        rows, after_id = [], 0
        while True:
            page = preorder_repo.waiting(conn, limit=batch, after_id=after_id)
            if not page:
                break
            rows += page
            after_id = page[-1]["id"]
        if not rows:
            return report
        wanted = preorder_repo.presale_units(conn, [r["id"] for r in rows])
        free, codes = preorder_repo.free_stock(conn, {sku for units in wanted.values() for sku in units})
        locks = review_repo.own_locks(conn, {(r["shop_id"], r["platform_order_id"]): r["id"] for r in rows})
        outcomes = activate(
            [
                PreOrder(r["id"], r["planned_ship_at"], r["paid_at"], wanted[r["id"]], locks.get(r["id"], {}))
                for r in rows
            ],
            free,
            now,
            codes,
        )
        preorder_repo.record(conn, outcomes, now)
        activated = [i for i, reason in outcomes.items() if not reason]
        if activated:
            audit_repo.record(
                conn,
                actor=actor.label,
                action="pre_order.activate",
                entity="orders",
                entity_id=f"{len(activated)} orders",
                at=now,
                details={"ids": activated[:1000]},
            )
        uow.commit()
    report.checked, report.activated = len(rows), len(activated)
    report.still_waiting = report.checked - report.activated
    return report


def queue(db: Database, *, shop: str | None, limit: int) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return preorder_repo.waiting(uow.conn, limit=limit, shop=shop)
