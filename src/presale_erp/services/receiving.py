"""Receiving (收货入库) against a purchase order or one of its ASNs, in one unit of work: the receipt and its lines,
the stock movements into bins, landed costs, moving average costs, the order's received quantities and status,
its history, the audit trail and the `purchase_order.received` webhook event.

Damaged units are written on the receipt line and go through the stock ledger into the warehouse's damaged bin,
where they count as damaged stock, apart from the sellable on_hand, so they are never promised to a buyer (see
domain/receiving.py for why they stay outstanding on the order, and domain/costing.py for what they cost)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import audit_repo, costing_repo, lookups, receiving_repo, stock_repo
from presale_erp.adapters.db.stock_repo import LockedStock
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.costing import (
    AllocationBasis,
    CostLine,
    LandedCost,
    LandedCostKind,
    allocate_landed_costs,
    inbound_value,
    moving_average,
)
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.ledger import MovementKind, MovementLine
from presale_erp.domain.money import yuan
from presale_erp.domain.movements import MovementRequest, plan_lines
from presale_erp.domain.receiving import (
    DEFAULT_OVER_RECEIPT_TOLERANCE,
    Arrival,
    CheckedArrival,
    OrderLine,
    check_arrivals,
    damaged_bin_for,
    received_after,
    require_receivable,
    status_after,
)
from presale_erp.services import purchase_orders, webhooks

RECEIVED_EVENT = "purchase_order.received"
webhooks.register_event(
    RECEIVED_EVENT, "Goods were received against a purchase order (partly or in full), with the receipt's lines."
)

ArrivalLike = Arrival | tuple[int, int, int, str | None]
LandedCostLike = LandedCost | tuple[str, Decimal | str, str]


@dataclass
class _Posting:
    """The stock movements of one receipt, planned against one locked book."""

    locked: LockedStock
    bin_ids: dict[tuple[str, str], int]
    on_hand_before: dict[str, int] = field(default_factory=dict)
    movements: list[tuple[str, MovementRequest, list[MovementLine]]] = field(default_factory=list)

    def post(self, movement_id: str, request: MovementRequest) -> None:
        lines = plan_lines(request, self.locked.book)
        self.locked.book.post(lines)
        self.movements.append((movement_id, request, lines))


def receive(
    db: Database,
    actor: Actor,
    purchase_order_code: str,
    lines: Sequence[ArrivalLike],
    *,
    asn_code: str | None = None,
    landed_costs: Sequence[LandedCostLike] = (),
    receipt_code: str | None = None,
    damaged_bin: str | None = None,
    tolerance: Decimal = DEFAULT_OVER_RECEIPT_TOLERANCE,
    now: datetime,
) -> dict[str, Any]:
    """Receive goods against `purchase_order_code`: all of it is booked, or nothing. Damaged units go into
    `damaged_bin`, else the warehouse's first non-sellable bin. Retried with the same `receipt_code` and the
    same content, it books nothing and answers with the receipt booked first (`replayed`); the same code with
    other content is refused."""
    arrivals = [_arrival(x) for x in lines]
    costs = [_landed_cost(x) for x in landed_costs]
    with db.uow() as uow:
        conn = uow.conn
        po = receiving_repo.lock_purchase_order(conn, purchase_order_code)
        code = _receipt_code(conn, po, receipt_code)
        stored = receiving_repo.receipt(conn, code) if receipt_code is not None else None
        if stored is not None:  # first: a retried receipt answers with what it booked, whatever happened since
            _require_same_receipt(stored, po, arrivals, costs, asn_code, damaged_bin)
            return _replayed(conn, po, stored)
        require_receivable(po["code"], po["status"])
        rows = {r["line_no"]: r for r in receiving_repo.order_lines(conn, po["id"])}
        order = [OrderLine(n, r["sku"], r["quantity"], r["received_quantity"]) for n, r in rows.items()]
        checked = check_arrivals(po["code"], order, arrivals, tolerance)
        into_damaged = damaged_bin_for(
            po["code"],
            po["warehouse"],
            checked,
            damaged_bin,
            receiving_repo.non_sellable_bins(conn, po["warehouse_id"]),
        )
        shares = allocate_landed_costs(
            costs, [CostLine(c.arrival.accepted, rows[c.line.line_no]["unit_cost"], _grams(rows, c)) for c in checked]
        )
        asn, announced = _asn(conn, asn_code, po)
        posting = _post_stock(conn, actor, code, po, checked, announced, into_damaged, now)
        averages = _update_averages(conn, po, rows, checked, shares, posting, now)
        header = {
            "code": code,
            "purchase_order_id": po["id"],
            "asn_id": asn["id"] if asn else None,
            "warehouse_id": po["warehouse_id"],
            "received_at": now,
            "received_by": actor.label,
        }
        cost_rows = [{"kind": c.kind.value, "amount": c.amount, "basis": c.basis.value} for c in costs]
        receiving_repo.insert_receipt(conn, header, _receipt_lines(rows, checked, shares, posting), cost_rows)
        received = received_after(order, checked)
        status = status_after(po["code"], po["status"], order, received)
        receiving_repo.save_received(conn, po["id"], received, status)
        if asn:
            receiving_repo.mark_asn_received(conn, asn["id"])
        # A line received in full is on track again: its late or at-risk alert resolves in this transaction.
        purchase_orders.check_risks_in(conn, now, po_ids=[po["id"]])
        view = _view(code, po, asn_code, status, rows, checked, shares, received, averages, costs, now, actor)
        view |= {"damaged_bin": into_damaged, "replayed": False}
        _tell(conn, actor, po, checked, view, now)
        uow.commit()
    return view


def _tell(conn, actor: Actor, po: dict[str, Any], checked: Sequence[CheckedArrival], view: dict, now: datetime) -> None:
    """The order's history, the audit trail and subscribers hear of the receipt, in its transaction."""
    receiving_repo.add_events(conn, _events(po, checked, view, now, actor))
    audit_repo.record(
        conn,
        actor=actor.label,
        action="purchase_order.receive",
        entity="receipt",
        entity_id=view["code"],
        at=now,
        details={"purchase_order": po["code"], "status": view["status"], "asn": view["asn"]},
    )
    webhooks.enqueue(conn, RECEIVED_EVENT, view, now)


def _arrival(value: ArrivalLike) -> Arrival:
    if isinstance(value, Arrival):
        return value
    line_no, accepted, damaged, bin_code = value
    return Arrival(int(line_no), int(accepted), int(damaged), bin_code)


def _landed_cost(value: LandedCostLike) -> LandedCost:
    if isinstance(value, LandedCost):
        return value
    kind, amount, basis = value
    try:
        return LandedCost(LandedCostKind(kind), yuan(amount), AllocationBasis(basis))
    except ValueError as exc:
        raise InvalidRequest(
            f"A landed cost needs a kind ({', '.join(LandedCostKind)}) and a basis ({', '.join(AllocationBasis)}); "
            f"got {kind!r} by {basis!r}."
        ) from exc


def _asn(conn, asn_code: str | None, po: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[int, int]]:
    if asn_code is None:
        return None, {}
    asn, announced = receiving_repo.asn_of(conn, asn_code)
    if asn["purchase_order_id"] != po["id"]:
        raise InvalidRequest(f"ASN {asn_code} ships another purchase order, not {po['code']}.")
    if asn["status"] != "in_transit":
        raise Conflict(f"ASN {asn_code} was already received ({asn['status']}).")
    return asn, announced


def _receipt_code(conn, po: dict[str, Any], wanted: str | None) -> str:
    if wanted is not None:
        if not wanted.strip() or len(wanted) > 64:
            raise InvalidRequest("A receipt code is 1 to 64 characters.")
        return wanted
    # Readable and unique per order: receipts of one order are serialised by the order's row lock.
    return f"{po['code']}-R{receiving_repo.receipt_count(conn, po['id']) + 1:02d}"


def _require_same_receipt(
    stored: dict[str, Any],
    po: dict[str, Any],
    arrivals: Sequence[Arrival],
    costs: Sequence[LandedCost],
    asn_code: str | None,
    damaged_bin: str | None,
) -> None:
    """A retry must ask for exactly what was booked under its code; anything else is a new receipt."""
    booked = sorted((x["line_no"], x["accepted"], x["damaged"], x["bin"]) for x in stored["lines"])
    asked = sorted((a.line_no, a.accepted, a.damaged, a.bin if a.accepted else None) for a in arrivals)
    booked_costs = sorted((c["kind"], c["amount"], c["basis"]) for c in stored["landed_costs"])
    asked_costs = sorted((c.kind.value, c.amount, c.basis.value) for c in costs)
    same = (
        stored["purchase_order"] == po["code"]
        and stored["asn"] == asn_code
        and booked == asked
        and booked_costs == asked_costs
        and damaged_bin in (None, stored["damaged_bin"])
    )
    if not same:
        raise Conflict(
            f"Receipt {stored['code']} is already booked with other content; a new receipt needs a new code."
        )


def _replayed(conn, po: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """The receipt as booked, with the order's status and the average costs as they stand now (a later
    receipt may have moved them on, as a retried reservation shows its stage now)."""
    rows = {r["line_no"]: r for r in receiving_repo.order_lines(conn, po["id"])}
    before = receiving_repo.accepted_before(conn, po["id"], stored["id"])
    lines = []
    for x in stored["lines"]:
        ordered, earlier = rows[x["line_no"]]["quantity"], before.get(x["line_no"], 0)
        over = max(x["accepted"] - max(ordered - earlier, 0), 0)
        lines.append({**x, "over_receipt": over, "ordered": ordered, "received": earlier + x["accepted"]})
    accepted_skus = {rows[x["line_no"]]["sku_id"]: x["sku"] for x in stored["lines"] if x["accepted"]}
    averages = receiving_repo.average_costs(conn, po["warehouse_id"], list(accepted_skus))
    return {
        **_receipt_view(stored),
        "status": po["status"],
        "lines": lines,
        "damaged_bin": stored["damaged_bin"],
        "average_costs": {accepted_skus[i]: a for i, a in sorted(averages.items())},
        "replayed": True,
    }


def _post_stock(
    conn,
    actor: Actor,
    code: str,
    po: dict[str, Any],
    checked: Sequence[CheckedArrival],
    announced: dict[int, int],
    damaged_bin: str | None,
    now: datetime,
) -> _Posting:
    """Accepted units into their bins and damaged ones into the damaged bin (RECEIPT); with an ASN, what arrived
    no longer counts as in transit."""
    warehouse = po["warehouse"]
    sku_codes = sorted({c.line.sku for c in checked})
    bin_keys = sorted({(warehouse, c.arrival.bin) for c in checked if c.arrival.accepted > 0 and c.arrival.bin})
    if damaged_bin:
        bin_keys = sorted({*bin_keys, (warehouse, damaged_bin)})
    sku_ids = lookups.sku_ids(conn, sku_codes)
    warehouse_ids = {warehouse: po["warehouse_id"]}
    bin_ids = lookups.bin_ids(conn, bin_keys)
    locked = stock_repo.lock_positions(
        conn, [(s, warehouse) for s in sku_codes], sku_ids, warehouse_ids, create_missing=True, now=now
    )
    stock_repo.load_bins(
        conn,
        locked,
        [(c.line.sku, warehouse, c.arrival.bin or "") for c in checked if c.arrival.accepted]
        + [(c.line.sku, warehouse, damaged_bin or "") for c in checked if c.arrival.damaged],
    )
    posting = _Posting(locked, bin_ids)
    for c in checked:
        base = f"receipt:{code}:{c.line.line_no}"
        sku = c.line.sku
        posting.on_hand_before.setdefault(sku, locked.book.position(sku, warehouse).on_hand)
        if c.arrival.accepted > 0:
            posting.post(base, MovementRequest(MovementKind.RECEIPT, sku, warehouse, c.arrival.accepted, c.arrival.bin))
        if c.arrival.damaged > 0:
            damaged = MovementRequest(MovementKind.RECEIPT, sku, warehouse, c.arrival.damaged, damaged_bin)
            posting.post(f"{base}:damaged", damaged)
        arrived = c.arrival.accepted + c.arrival.damaged
        # Only what the ASN announced (and the ledger still counts as on its way) stops being in transit.
        clears = min(
            arrived, announced.get(c.line.line_no, 0), locked.book.position(sku, warehouse).in_transit_purchase
        )
        if clears > 0:
            reason = f"arrived on receipt {code}"
            posting.post(
                f"{base}:in-transit",
                MovementRequest(MovementKind.INBOUND_NOTICE, sku, warehouse, -clears, reason=reason),
            )
    stock_repo.save(conn, locked, bin_ids, now)
    for movement_id, request, lines in posting.movements:
        header = {
            "id": movement_id,
            "kind": request.kind.value,
            # The same shape post_movement stores, so the ledger's history reads alike whoever posted.
            "payload": {**asdict(request), "kind": request.kind.value, "reference": po["code"]},
            "reference": po["code"],
            "reason": request.reason,
            "at": now,
            "actor": actor.label,
        }
        stock_repo.insert_movement(
            conn, header=header, lines=lines, locked=locked, bin_ids=bin_ids, reservation_id=None
        )
    return posting


def _grams(rows: dict[int, dict[str, Any]], c: CheckedArrival) -> int:
    return int(rows[c.line.line_no]["weight_grams"] or 0)


def _update_averages(
    conn,
    po: dict[str, Any],
    rows: dict[int, dict[str, Any]],
    checked: Sequence[CheckedArrival],
    shares: list[Decimal],
    posting: _Posting,
    now: datetime,
) -> dict[str, Decimal]:
    """New moving averages per SKU in the receiving warehouse, read and written under a lock."""
    accepted: dict[str, int] = defaultdict(int)
    value: dict[str, Decimal] = defaultdict(Decimal)
    sku_id: dict[str, int] = {}
    catalogue: dict[str, Decimal | None] = {}
    for c, share in zip(checked, shares, strict=True):
        row = rows[c.line.line_no]
        if c.arrival.accepted == 0:
            continue
        sku = c.line.sku
        accepted[sku] += c.arrival.accepted
        value[sku] += inbound_value(c.arrival.accepted, row["unit_cost"], share)
        sku_id[sku], catalogue[sku] = row["sku_id"], row["sku_cost"]
    warehouse_id = po["warehouse_id"]
    current = costing_repo.lock_costs(conn, [(sku_id[s], warehouse_id) for s in accepted])
    averages = {}
    for sku in sorted(accepted):
        # Stock booked before costing kept an average (opening stock) is taken at the catalogue cost.
        before = current.get((sku_id[sku], warehouse_id), catalogue[sku])
        averages[sku] = moving_average(posting.on_hand_before[sku], before, accepted[sku], value[sku])
    costing_repo.save_costs(conn, {(sku_id[s], warehouse_id): a for s, a in averages.items()}, now)
    return averages


def _receipt_lines(
    rows: dict[int, dict[str, Any]], checked: Sequence[CheckedArrival], shares: list[Decimal], posting: _Posting
) -> list[dict[str, Any]]:
    warehouse = next(iter(posting.locked.warehouse_ids))
    return [
        {
            "line_no": c.line.line_no,
            "sku_id": rows[c.line.line_no]["sku_id"],
            "accepted": c.arrival.accepted,
            "damaged": c.arrival.damaged,
            "bin_id": posting.bin_ids[(warehouse, c.arrival.bin)] if c.arrival.accepted > 0 else None,
            "unit_cost": rows[c.line.line_no]["unit_cost"],
            "landed_cost": share,
        }
        for c, share in zip(checked, shares, strict=True)
    ]


def _events(
    po: dict[str, Any], checked: Sequence[CheckedArrival], view: dict[str, Any], now: datetime, actor: Actor
) -> list[dict[str, Any]]:
    code, status = view["code"], view["status"]

    def event(line_no: int | None, note: str) -> dict[str, Any]:
        return {
            "purchase_order_id": po["id"],
            "line_no": line_no,
            "kind": "received",
            "note": note,
            "at": now,
            "actor": actor.label,
        }

    rows = []
    for c in checked:
        note = f"Receipt {code}: {c.arrival.accepted} accepted"
        if c.arrival.accepted:
            note += f" into {c.arrival.bin}"
        if c.arrival.damaged:
            note += f", {c.arrival.damaged} damaged into {view['damaged_bin']} (still owed by the supplier)"
        if c.over:
            note += f"; {c.over} over the ordered quantity, within tolerance"
        rows.append(event(c.line.line_no, note))
    rows.append(event(None, f"Receipt {code}: purchase order now {status}"))
    return rows


def _view(
    code: str,
    po: dict[str, Any],
    asn_code: str | None,
    status: str,
    rows: dict[int, dict[str, Any]],
    checked: Sequence[CheckedArrival],
    shares: list[Decimal],
    received: dict[int, int],
    averages: dict[str, Decimal],
    costs: Sequence[LandedCost],
    now: datetime,
    actor: Actor,
) -> dict[str, Any]:
    return {
        "code": code,
        "purchase_order": po["code"],
        "asn": asn_code,
        "warehouse": po["warehouse"],
        "status": status,
        "received_at": now,
        "received_by": actor.label,
        "lines": [
            {
                "line_no": c.line.line_no,
                "sku": c.line.sku,
                "accepted": c.arrival.accepted,
                "damaged": c.arrival.damaged,
                "bin": c.arrival.bin if c.arrival.accepted else None,
                "over_receipt": c.over,
                "unit_cost": rows[c.line.line_no]["unit_cost"],
                "landed_cost": share,
                "ordered": c.line.ordered,
                "received": received[c.line.line_no],
            }
            for c, share in zip(checked, shares, strict=True)
        ],
        "landed_costs": [{"kind": c.kind.value, "amount": c.amount, "basis": c.basis.value} for c in costs],
        "average_costs": dict(averages),
    }


def get_receipt(db: Database, code: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        found = receiving_repo.receipt(uow.conn, code)
    if found is None:
        raise NotFound(f"No receipt {code}.")
    return _receipt_view(found)


def _receipt_view(found: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": found["code"],
        "purchase_order": found["purchase_order"],
        "asn": found["asn"],
        "warehouse": found["warehouse"],
        "received_at": found["received_at"],
        "received_by": found["received_by"],
        "lines": found["lines"],
        "landed_costs": found["landed_costs"],
        "damaged_bin": found["damaged_bin"],
    }
