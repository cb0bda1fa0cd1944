"""发货确认: parcels leave the warehouse. Each parcel line posts a shipment movement through the stock ledger that
consumes its reservation (from the fullest sellable bin that holds the whole line), and one sales posting: the
line's paid amount share for the units shipped, and their cost at the moving average of that moment. The parcel
becomes shipped; an order whose lines are all out in full becomes shipped for fulfilment (its platform status is
intake's: the platform reports the shipment when it learns of the tracking number).

One movement per reservation: a line split over parcels by weight shares one reservation, and the ledger
consumes a reservation whole, so such parcels are confirmed together (one alone is refused, saying which to add).
The movements of a call go through the stock ledger in one transaction (stock.post_movements; one by one only
when one of them is refused, to refuse just its parcels), keyed ship:<first parcel>:<order>:<line>; the postings
(ship:<parcel>:<order>:<line>), parcel and fulfilment statuses are then written in one unit of work. A retry
after a failure in between replays the movements from the bins they used (no second shipment) and writes what
is missing; a parcel already shipped is a no-op."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from presale_erp.adapters.db import audit_repo, dispatch_repo, sales_posting_repo
from presale_erp.adapters.db import fulfilment_repo as parcel_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain import dispatch
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import DomainError, InvalidRequest
from presale_erp.domain.finance import ZERO, PostingKind, cost_of, revenue_of_units
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import stock
from presale_erp.services.shipping_plan import ShipReport, StockLock, plan, posting_key

MAX_BATCH = 500


def ship_parcels(
    db: Database,
    actor: Actor,
    *,
    codes: Sequence[str] = (),
    tracking_numbers: Sequence[str] = (),
    now: datetime,
) -> ShipReport:
    """Confirm parcels shipped, named by code or by tracking number. A parcel that cannot ship (cancelled, no
    bin holds its goods, its reservation is gone, its order has an open refund request, it shares a split line
    with a parcel not confirmed with it) is refused with the reason; the others ship."""
    if not codes and not tracking_numbers:
        raise InvalidRequest("Name at least one parcel, by code or by tracking number.")
    if len(codes) + len(tracking_numbers) > MAX_BATCH:
        raise InvalidRequest(f"Confirm at most {MAX_BATCH} parcels in one call.")
    report = ShipReport()
    parcels, locks = plan(db, list(codes), list(tracking_numbers), report)
    shipping = [
        lk for lk in sorted(locks.values(), key=lambda lk: lk.movement_id) if not lk.codes & report.refused.keys()
    ]
    try:
        stock.post_movements(db, actor, [_movement(lock) for lock in shipping], now=now)
    except DomainError:  # one of them cannot go: post them one by one, so only its parcels are refused
        for lock in shipping:
            try:
                stock.post_movements(db, actor, [_movement(lock)], now=now)
            except DomainError as refused:
                for code in lock.codes:
                    report.refused[code] = refused.detail
    ready = {code: parcel for code, parcel in parcels.items() if code not in report.refused}
    if ready:
        _book(db, actor, ready, locks, now, report)
    return report


def _movement(lock: StockLock) -> stock.MovementItem:
    request = MovementRequest(
        MovementKind.SHIPMENT,
        lock.sku,
        lock.warehouse,
        lock.quantity,
        bin=lock.bin,
        reservation_id=lock.reservation_id,
    )
    return stock.MovementItem(lock.movement_id, request, ",".join(sorted(lock.codes))[:120])


def _book(
    db: Database,
    actor: Actor,
    ready: dict[str, dict[str, Any]],
    locks: dict[str, StockLock],
    now: datetime,
    report: ShipReport,
) -> None:
    """Postings, parcel and order statuses in one unit of work, under the parcels' row locks."""
    with db.uow() as uow:
        conn = uow.conn
        current = {p["code"]: p for p in parcel_repo.parcels_by_code(conn, sorted(ready))}
        codes = [c for c in sorted(ready) if current[c]["status"] != dispatch.SHIPPED]  # a concurrent confirm won
        report.already_shipped += [c for c in sorted(ready) if c not in codes]
        lines = [(current[c], line) for c in codes for line in current[c]["lines"]]
        warehouses = {lk.reservation_id: lk.warehouse for lk in locks.values()}
        rows = _postings(conn, actor, lines, warehouses, now, report)
        report.postings = len(sales_posting_repo.insert_new(conn, rows))
        parcel_repo.set_parcel_status(conn, codes, dispatch.SHIPPED, now)
        _update_orders(conn, {line["order_id"] for _, line in lines}, now)
        audit_repo.record_many(
            conn,
            [
                {
                    "actor": actor.label,
                    "action": "parcel.shipped",
                    "entity": "parcel",
                    "entity_id": code,
                    "at": now,
                    "details": {
                        "lines": len(current[code]["lines"]),
                        "bins": sorted({locks[line["reservation_id"]].bin or "" for line in current[code]["lines"]}),
                    },
                }
                for code in codes
            ],
        )
        uow.commit()
    report.shipped += codes


def _postings(conn, actor: Actor, lines, warehouses: dict[str, str], now: datetime, report: ShipReport):
    sold = [(line["order_id"], line["line_no"]) for _, line in lines if not dispatch.is_gift(line["line_no"])]
    facts = dispatch_repo.line_facts(conn, sold)
    already = sales_posting_repo.units_by_kind(conn, sold, PostingKind.SHIPMENT.value)
    costs = dispatch_repo.average_costs(conn, {(line["sku_id"], p["warehouse_id"]) for p, line in lines})
    rows = []
    for parcel, line in lines:
        key = (line["order_id"], line["line_no"])
        revenue = ZERO
        if key in facts:
            fact = facts[key]
            revenue = revenue_of_units(fact["paid_amount"], fact["quantity"], already.get(key, 0), line["quantity"])
            already[key] = already.get(key, 0) + line["quantity"]
        unit_cost, known = dispatch.unit_cost_or_zero(costs.get((line["sku_id"], parcel["warehouse_id"])))
        if not known:
            report.uncosted.append(f"{line['sku']}@{warehouses.get(line['reservation_id'], parcel['warehouse_id'])}")
        rows.append(
            {
                "posting_key": posting_key(parcel["code"], *key),
                "kind": PostingKind.SHIPMENT.value,
                "shop_id": line["shop_id"],
                "order_id": line["order_id"],
                "line_no": line["line_no"],
                "sku_id": line["sku_id"],
                "warehouse_id": parcel["warehouse_id"],
                "quantity": line["quantity"],
                "revenue": revenue,
                "unit_cost": unit_cost,
                "cost": cost_of(line["quantity"], unit_cost),
                "occurred_at": now,
                "recorded_by": actor.label,
            }
        )
    return rows


def _update_orders(conn, order_ids: set[int], now: datetime) -> None:
    found = dispatch_repo.orders_with_lines(conn, order_ids)
    shipped = sales_posting_repo.units_by_kind(
        conn, [(o, n) for o, facts in found.items() for n in facts["lines"]], PostingKind.SHIPMENT.value
    )
    changes: list[int] = []
    for order_id, facts in found.items():
        units = {n: shipped.get((order_id, n), 0) for n in facts["lines"]}
        if dispatch.fulfilment_after(facts["fulfilment_status"], facts["lines"], units):
            changes.append(order_id)
    dispatch_repo.mark_orders_shipped(conn, changes)
