"""定金不退: when a deposit order's balance never came (the balance window passed, services/balances.py), the
deposit the shop keeps is income. It is booked as sales postings of kind deposit_forfeited, one per order line
(the deposit spread over the lines by what they cost, to the fen): quantity 0, revenue = the line's share, cost 0.

Run by the finance job every few minutes over the orders whose balance expired (set-based, keyed
forfeit:<order>:<line>, so a rerun books nothing twice), and by after-sales for one order when a buyer walks
away before the window closes. Shops whose rule refunds deposits (aftersales_settings) book nothing here: the
deposit stays owed to the buyer until a case refunds it. Lines without a matched SKU take no share (the deposit
is spread over the matched lines); orders with no matched line or no warehouse to book against (stock never
locked, no lock warehouse) are not booked and stay deposits received."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters.db import aftersales_repo, audit_repo, sales_posting_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.finance import ZERO, PostingKind, deposit_shares


@dataclass
class ForfeitReport:
    orders: int = 0
    postings: int = 0
    skipped: int = 0  # orders with no matched line or no warehouse to book against


def record_forfeited_deposits(db: Database, actor: Actor, *, now: datetime, batch: int = 1000) -> ForfeitReport:
    report = ForfeitReport()
    with db.uow() as uow:
        candidates = aftersales_repo.forfeit_candidates(uow.conn, limit=batch)
        book(uow.conn, actor, candidates, now, report)
        uow.commit()
    return report


def forfeit_order(conn: Connection, actor: Actor, order_id: int, now: datetime) -> ForfeitReport:
    """Book one order's kept deposit inside the caller's transaction (after-sales, buyer walked away)."""
    report = ForfeitReport()
    book(conn, actor, aftersales_repo.forfeit_candidates(conn, order_id=order_id), now, report)
    return report


def book(
    conn: Connection, actor: Actor, candidates: list[dict[str, Any]], now: datetime, report: ForfeitReport
) -> None:
    rows = []
    for order in candidates:
        if not order["lines"] or order["warehouse_id"] is None:
            report.skipped += 1
            continue
        shares = deposit_shares(order["deposit_amount"], [line["paid_amount"] for line in order["lines"]])
        rows += [
            {
                "posting_key": f"forfeit:{order['id']}:{line['line_no']}",
                "kind": PostingKind.DEPOSIT_FORFEITED.value,
                "shop_id": order["shop_id"],
                "order_id": order["id"],
                "line_no": line["line_no"],
                "sku_id": line["sku_id"],
                "warehouse_id": order["warehouse_id"],
                "quantity": 0,
                "revenue": share,
                "unit_cost": ZERO,
                "cost": ZERO,
                "occurred_at": now,
                "recorded_by": actor.label,
            }
            for line, share in zip(order["lines"], shares, strict=True)
        ]
        report.orders += 1
    report.postings += len(sales_posting_repo.insert_new(conn, rows))
    if report.postings:
        audit_repo.record(
            conn,
            actor=actor.label,
            action="sales_postings.deposit_forfeited",
            entity="orders",
            entity_id=f"{report.orders} orders",
            at=now,
            details={"orders": [o["id"] for o in candidates][:1000], "postings": report.postings},
        )
