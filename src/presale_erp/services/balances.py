"""Deposits whose balance never came (尾款逾期): once the balance window has passed, the order's stock goes
back on sale. The platform closes such orders itself, often hours later; until it does, the order stays in
the awaiting-balance view, marked as expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from presale_erp.adapters.db import audit_repo, balance_repo
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.orders import PlatformStatus
from presale_erp.services import order_locks


@dataclass
class ExpiryReport:
    expired: int = 0
    released: int = 0


def expire_unpaid_balances(db: Database, actor: Actor, *, now: datetime, grace_minutes: int = 0) -> ExpiryReport:
    report = ExpiryReport()
    with db.uow() as uow:
        conn = uow.conn
        overdue = balance_repo.overdue(conn, before=now - timedelta(minutes=grace_minutes))
        if not overdue:
            return report
        lines = balance_repo.lines_of(conn, [o["id"] for o in overdue])
        by_shop: dict[int, list[dict]] = {}
        for order in overdue:
            by_shop.setdefault(order["shop_id"], []).append(order)
        for shop_id, shop_orders in by_shop.items():
            outcome = order_locks.lock_and_release(
                conn,
                repo.shop_by_id(conn, shop_id),
                [
                    order_locks.LockCandidate(
                        o["id"],
                        o["platform_order_id"],
                        PlatformStatus.CANCELLED,
                        o["paid_at"],
                        [order_locks.LockLine(n, sku, qty, presale) for n, sku, qty, presale in lines[o["id"]]],
                    )
                    for o in shop_orders
                ],
                actor=actor.label,
                now=now,
            )
            report.released += len(outcome)
        balance_repo.mark_expired(conn, [o["id"] for o in overdue], now)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="orders.balance_expired",
            entity="orders",
            entity_id=f"{len(overdue)} orders",
            at=now,
            details={"ids": [o["id"] for o in overdue][:1000]},
        )
        uow.commit()
    report.expired = len(overdue)
    return report
