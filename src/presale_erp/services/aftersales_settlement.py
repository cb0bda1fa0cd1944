"""售后 money and goods: returned goods received through the stock ledger, and refunds paid.

- receive_return (awaiting_return -> returned): each returned line is a return_receipt movement into the bin
  staff choose (a sellable bin: back on hand; a 残次品区 bin: damaged stock), keyed return:<case>:<line>. The
  units re-enter the moving average at the cost booked when they shipped, and a `return` posting reverses
  revenue (the refund for those units) and cost (units x that shipment cost, not today's average).
- refund (approved -> refunded for refund only, returned -> refunded for a return): the refund entry in the
  payments ledger (aftersales:<case>:refund, negative). Before shipment the order's stock is released and its
  parcels withdrawn (the same path as a platform cancellation), and a deposit the shop keeps is booked as
  income (deposit_forfeited). After shipment, a refund-only case books a refund_allowance per line.

Movements are posted in the stock ledger's own transactions before the case's unit of work, as shipment
confirmation does; their keys make a retry after a failure in between harmless."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters.db import aftersales_repo as repo
from presale_erp.adapters.db import costing_repo, lookups, sales_posting_repo
from presale_erp.adapters.db import master_data_repo as shops_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain import aftersales as rules
from presale_erp.domain.access import Actor
from presale_erp.domain.aftersales import CaseKind, CaseState
from presale_erp.domain.catalog import Platform
from presale_erp.domain.costing import moving_average
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.finance import (
    CHANNEL_OF_PLATFORM,
    ZERO,
    PaymentEntry,
    PaymentKind,
    PaymentSource,
    PostingKind,
)
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.domain.orders import PlatformStatus
from presale_erp.services import aftersales, forfeited_deposits, order_locks, parcels, payments, stock
from presale_erp.services.aftersales import audit_case, locked_case


def receive_return(
    db: Database, actor: Actor, case_id: int, *, warehouse: str, bin: str, now: datetime
) -> dict[str, Any]:
    found = aftersales.case_view(db, case_id)
    rules.guard(case_id, CaseKind(found["kind"]), found["state"], CaseState.RETURNED)
    with db.uow(write=False) as uow:
        order = repo.order_facts(uow.conn, found["order_id"])
        assert order is not None
        lookups.bin_ids(uow.conn, [(warehouse, bin)])  # NotFound before anything moves
        skus = {n: line["sku"] for n, line in order["lines"].items()}
    returned = [
        stock.MovementItem(
            f"return:{case_id}:{line['line_no']}",
            MovementRequest(MovementKind.RETURN_RECEIPT, skus[line["line_no"]], warehouse, line["quantity"], bin=bin),
            f"aftersales:{case_id}",
        )
        for line in found["lines"]
        if line["quantity"] > 0
    ]
    stock.post_movements(db, actor, returned, now=now)  # the case's goods come back together, in one transaction
    with db.uow() as uow:
        conn = uow.conn
        case = locked_case(conn, case_id)
        rules.guard(case_id, CaseKind(case["kind"]), case["state"], CaseState.RETURNED)
        warehouse_id = lookups.warehouse_ids(conn, [warehouse])[warehouse]
        rows = _return_postings(conn, actor, case, order, warehouse_id, now)
        sales_posting_repo.insert_new(conn, rows)
        _restore_costs(conn, rows, now)
        repo.set_state(
            conn, case_id, CaseState.RETURNED.value, now=now, return_warehouse_id=warehouse_id, return_bin=bin
        )
        audit_case(conn, actor, case_id, "aftersales.returned", now, {"warehouse": warehouse, "bin": bin})
        uow.commit()
    return aftersales.case_view(db, case_id)


def _return_postings(conn: Connection, actor: Actor, case: dict, order: dict, warehouse_id: int, now: datetime):
    returned = repo.claimed(conn, case["order_id"], {CaseState.RETURNED.value, CaseState.REFUNDED.value})
    rows = []
    for line in case["lines"]:
        if line["quantity"] <= 0:
            continue
        shipments = sales_posting_repo.shipment_costs(conn, case["order_id"], line["line_no"])
        already = returned.get(line["line_no"], (ZERO, 0))[1]
        cost, unit_cost = rules.returned_cost([(q, c) for q, c, _ in shipments], already, line["quantity"])
        rows.append(
            {
                "posting_key": f"return:{case['id']}:{line['line_no']}",
                "kind": PostingKind.RETURN.value,
                "shop_id": case["shop_id"],
                "order_id": case["order_id"],
                "line_no": line["line_no"],
                "sku_id": order["lines"][line["line_no"]]["sku_id"],
                "warehouse_id": warehouse_id,
                "quantity": -line["quantity"],
                "revenue": -line["amount"],
                "unit_cost": unit_cost,
                "cost": -cost,
                "occurred_at": now,
                "recorded_by": actor.label,
            }
        )
    return rows


def _restore_costs(conn: Connection, rows: list[dict[str, Any]], now: datetime) -> None:
    """The returned units join the moving average at the unit cost they left with (unrounded, so a return
    leaves an unchanged average unchanged). Damaged units are stock valued at the same average
    (services/costing.py), so the units before are on hand plus damaged, less those just returned."""
    keys = {(r["sku_id"], r["warehouse_id"]) for r in rows}
    averages = costing_repo.lock_costs(conn, keys)
    units = repo.units_in_stock(conn, keys)
    for row in rows:
        key = (row["sku_id"], row["warehouse_id"])
        back = -row["quantity"]
        before = units.get(key, 0) - back
        averages[key] = moving_average(before, averages.get(key), back, back * row["unit_cost"])
        units[key] = before + back
    costing_repo.save_costs(conn, averages, now)


def refund(db: Database, actor: Actor, case_id: int, *, refund_ref: str, now: datetime) -> dict[str, Any]:
    """退款: pay the case's refund (the channel's refund number in `refund_ref`, if it has one)."""
    with db.uow() as uow:
        conn = uow.conn
        case = locked_case(conn, case_id)
        rules.guard(case_id, CaseKind(case["kind"]), case["state"], CaseState.REFUNDED)
        order = repo.order_facts(conn, case["order_id"], lock=True)
        assert order is not None
        if case["before_shipment"]:
            shipped = sales_posting_repo.units_by_kind(conn, [(order["id"], n) for n in order["lines"]], "shipment")
            if any(shipped.values()):
                raise InvalidRequest(
                    f"Order {order['id']} shipped after case {case_id} was opened: cancel this case and open one "
                    "for the shipped lines."
                )
            _release_order(conn, actor, order, now)
        elif case["kind"] == CaseKind.REFUND_ONLY.value:
            sales_posting_repo.insert_new(conn, _allowances(conn, actor, case, order, now))
        if case["refund_amount"] > 0:
            payments.record_in(conn, actor, [_refund_entry(case, order, refund_ref, now)], now=now)
        repo.set_state(conn, case_id, CaseState.REFUNDED.value, now=now, refund_ref=refund_ref, refunded_at=now)
        if case["before_shipment"]:
            forfeited_deposits.forfeit_order(conn, actor, order["id"], now)  # the deposit kept, if any
        audit_case(conn, actor, case_id, "aftersales.refunded", now, {"amount": str(case["refund_amount"])})
        uow.commit()
    return aftersales.case_view(db, case_id)


def _release_order(conn: Connection, actor: Actor, order: dict[str, Any], now: datetime) -> None:
    """The order's stock goes back and its parcels are withdrawn, as when the platform reports it refunded."""
    shop = shops_repo.shop_by_id(conn, order["shop_id"])
    candidate = order_locks.LockCandidate(
        order["id"],
        order["platform_order_id"],
        PlatformStatus.REFUNDED,
        order["paid_at"],
        [
            order_locks.LockLine(n, line["sku_id"], line["quantity"], line["presale"], line["refunded"])
            for n, line in order["lines"].items()
            if line["sku_id"] is not None
        ],
    )
    order_locks.lock_and_release(conn, shop, [candidate], actor=actor.label, now=now)
    parcels.withdraw(conn, [order["id"]], cancelled=True, now=now)


def _allowances(conn: Connection, actor: Actor, case: dict, order: dict, now: datetime) -> list[dict[str, Any]]:
    rows = []
    for line in case["lines"]:
        shipments = sales_posting_repo.shipment_costs(conn, case["order_id"], line["line_no"])
        rows.append(
            {
                "posting_key": f"allowance:{case['id']}:{line['line_no']}",
                "kind": PostingKind.REFUND_ALLOWANCE.value,
                "shop_id": case["shop_id"],
                "order_id": case["order_id"],
                "line_no": line["line_no"],
                "sku_id": order["lines"][line["line_no"]]["sku_id"],
                "warehouse_id": shipments[-1][2],  # where the goods left from
                "quantity": 0,
                "revenue": -line["amount"],
                "unit_cost": Decimal("0"),
                "cost": ZERO,
                "occurred_at": now,
                "recorded_by": actor.label,
            }
        )
    return rows


def _refund_entry(case: dict, order: dict, refund_ref: str, now: datetime) -> PaymentEntry:
    return PaymentEntry(
        entry_key=f"aftersales:{case['id']}:refund",
        shop_id=case["shop_id"],
        order_id=case["order_id"],
        kind=PaymentKind.REFUND,
        amount=-case["refund_amount"],
        channel=CHANNEL_OF_PLATFORM[Platform(order["platform"])],
        external_ref=refund_ref or order["platform_order_id"],
        occurred_at=now,
        source=PaymentSource.AFTERSALES,
        note=f"售后单 {case['id']} {case['kind']}",
    )
