"""Parcels after allocation: staff undo a merge or a split before picking, orders that change take their lines
back out, and waybills (电子面单) are requested from the carrier for parcels due to leave."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import fulfilment_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.domain.shipping import CarrierError, Waybill, WaybillRefused, WaybillRequest


class WaybillIssuer(Protocol):
    def request_waybills(self, requests: list[WaybillRequest]) -> tuple[list[Waybill], list[WaybillRefused]]: ...


def withdraw(conn, order_ids: list[int], *, cancelled: bool, now: datetime) -> None:
    """Orders that were cancelled, refunded, or sent back to review leave their open parcels (a parcel left
    empty is cancelled); a cancelled order is done, the others go back to be allocated again. Their stock
    reservations are handled by the caller (released on cancel; kept with the order otherwise)."""
    if not order_ids:
        return
    wanted = set(order_ids)
    parcels = repo.parcels_of_orders(conn, order_ids, open_only=True)
    repo.delete_parcel_lines(
        conn,
        [
            (p["code"], line["order_id"], line["line_no"])
            for p in parcels
            for line in p["lines"]
            if line["order_id"] in wanted
        ],
    )
    emptied = [p["code"] for p in parcels if all(line["order_id"] in wanted for line in p["lines"])]
    repo.set_parcel_status(conn, emptied, "cancelled", now)
    status = "cancelled" if cancelled else "pending"
    reason = (
        "订单已取消/退款 (cancelled or refunded)"
        if cancelled
        else "订单有变化, 待重新配货 (changed: to allocate again)"
    )
    repo.reset_fulfilment(conn, sorted(wanted), status=status, reason=reason)


def unmerge(db: Database, actor: Actor, code: str, *, now: datetime) -> list[str]:
    """取消合单: each order of a merged parcel gets its own parcel again, and they are not merged again."""
    with db.uow() as uow:
        parcel = _open_parcel(uow.conn, code)
        by_order: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for line in parcel["lines"]:
            by_order[line["order_id"]].append(line)
        if len(by_order) < 2:
            raise InvalidRequest(f"Parcel {code} holds one order only; there is nothing to unmerge.")
        weights = repo.sku_facts(uow.conn, {line["sku_id"] for line in parcel["lines"]})
        first, *others = sorted(by_order)
        codes = [code]
        for n, order_id in enumerate(others, start=1):
            new_code = f"{code}-u{n}"
            codes.append(new_code)
            _move_lines(uow.conn, parcel, by_order[order_id], new_code, weights, now)
        _reweigh(uow.conn, parcel, by_order[first], weights, now, reason="取消合单 (unmerged)")
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="parcel.unmerge",
            entity="parcel",
            entity_id=code,
            at=now,
            details={"parcels": codes},
        )
        uow.commit()
    return codes


def unsplit(db: Database, actor: Actor, order_id: int, *, now: datetime) -> list[str]:
    """取消拆单: an order's open parcels from one warehouse become one parcel again (parcels from different
    warehouses stay apart: their stock is reserved where it is)."""
    with db.uow() as uow:
        parcels = repo.parcels_of_orders(uow.conn, [order_id], open_only=False)
        if not parcels:
            raise NotFound(f"Order {order_id} has no parcels.")
        kept: list[str] = []
        by_wh: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for p in parcels:
            if p["status"] == repo.OPEN:
                by_wh[p["warehouse_id"]].append(p)
        if not any(len(group) > 1 for group in by_wh.values()):
            raise InvalidRequest(f"Order {order_id} has no split parcels in one warehouse that are still open.")
        for group in by_wh.values():
            if any({line["order_id"] for line in p["lines"]} != {order_id} for p in group):
                raise InvalidRequest("Unmerge the parcels first: one of them also holds another order.")
            home, *rest = sorted(group, key=lambda p: p["code"])
            lines = [line for p in group for line in p["lines"]]
            weights = repo.sku_facts(uow.conn, {line["sku_id"] for line in lines})
            for p in rest:
                _move_lines(uow.conn, p, p["lines"], home["code"], weights, now, into_existing=True)
                repo.set_parcel_status(uow.conn, [p["code"]], "cancelled", now)
            _reweigh(uow.conn, home, _summed(lines), weights, now, reason="取消拆单 (split undone)")
            kept.append(home["code"])
        audit_repo.record(
            uow.conn, actor=actor.label, action="parcel.unsplit", entity="order", entity_id=str(order_id), at=now
        )
        uow.commit()
    return kept


@dataclass
class WaybillReport:
    issued: int = 0
    refused: int = 0


def request_waybills(
    db: Database, cipher: PiiCipher, carrier: WaybillIssuer, actor: Actor, *, now: datetime, batch: int = 500
) -> WaybillReport:
    """面单: tracking numbers for open parcels due to leave, a batch per transaction; a refused parcel keeps
    the carrier's reason and is asked again next run."""
    report = WaybillReport()
    while True:
        with db.uow() as uow:
            due = repo.due_for_waybill(uow.conn, now=now, limit=batch)
            if not due:
                return report
            requests = [_waybill_request(p, cipher) for p in due]
            try:
                issued, refused = carrier.request_waybills(requests)
            except CarrierError as down:
                repo.note_carrier_reason(uow.conn, {p["code"]: f"面单失败: {down}"[:300] for p in due}, now)
                uow.commit()
                report.refused += len(due)
                return report
            repo.set_tracking(uow.conn, {w.parcel_ref: w.tracking_no for w in issued}, now)
            repo.note_carrier_reason(uow.conn, {r.parcel_ref: f"面单失败: {r.reason}"[:300] for r in refused}, now)
            audit_repo.record(
                uow.conn,
                actor=actor.label,
                action="parcel.waybills",
                entity="parcels",
                entity_id=due[0]["code"],
                at=now,
                details={"issued": len(issued), "refused": len(refused)},
            )
            uow.commit()
            report.issued += len(issued)
            report.refused += len(refused)
            if refused:
                return report  # the refused ones stay due: asking again at once would only be refused again


def parcels(db: Database, *, status: str | None, shop: str | None, after: str, limit: int) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop] if shop else None
        rows = repo.parcel_list(uow.conn, status=status, shop_id=shop_id, after=after, limit=limit)
    return [_view(r) for r in rows]


def parcels_of_order(db: Database, order_id: int) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        codes = [p["code"] for p in repo.parcels_of_orders(uow.conn, [order_id], open_only=False)]
        rows = repo.parcel_list(uow.conn, status=None, shop_id=None, after="", limit=len(codes), codes=codes)
    return [_view(r) for r in rows]


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "shop": row["shop"],
        "warehouse": row["warehouse"],
        "status": row["status"],
        "province": row["province"],
        "ship_after": row["ship_after"],
        "weight_grams": row["weight_grams"],
        "reason": row["reason"],
        "carrier": row["carrier"],
        "shipping_cost": row["shipping_cost"],
        "carrier_reason": row["carrier_reason"],
        "tracking_no": row["tracking_no"],
        "lines": [
            {
                "order_id": line["order_id"],
                "line_no": line["line_no"],
                "sku": line["sku"],
                "quantity": line["quantity"],
                "gift": line["gift_rule_id"] is not None,
            }
            for line in row["lines"]
        ],
    }


def _open_parcel(conn, code: str) -> dict[str, Any]:
    found = repo.parcels_by_code(conn, [code])
    if not found:
        raise NotFound(f"No parcel {code}.")
    parcel = found[0]
    if parcel["status"] != repo.OPEN:
        raise InvalidRequest(f"Parcel {code} is {parcel['status']}: only parcels not yet picked can change.")
    return parcel


def _move_lines(conn, parcel, lines, new_code: str, weights, now: datetime, *, into_existing: bool = False) -> None:
    repo.delete_parcel_lines(conn, [(parcel["code"], line["order_id"], line["line_no"]) for line in lines])
    if not into_existing:
        grams = sum(weights[line["sku_id"]][1] * line["quantity"] for line in lines)
        volume = sum(weights[line["sku_id"]][2] * line["quantity"] for line in lines)
        repo.insert_parcels(
            conn,
            [
                {
                    **{k: parcel[k] for k in repo.PARCEL_COPY},
                    "code": new_code,
                    "weight_grams": grams,
                    "volume_cm3": volume,
                    "mergeable": False,
                    "reason": "取消合单 (unmerged)",
                    "tracking_no": None,
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        repo.insert_parcel_lines(conn, [_line_row(line, new_code) for line in lines])
    else:
        repo.add_parcel_lines(conn, [_line_row(line, new_code) for line in lines])


def _line_row(line: dict[str, Any], code: str) -> dict[str, Any]:
    return {k: line[k] for k in repo.LINE_COLUMNS} | {"parcel_code": code}


def _summed(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    total: dict[tuple[int, int], dict[str, Any]] = {}
    for line in lines:
        key = (line["order_id"], line["line_no"])
        total[key] = (
            total[key] | {"quantity": total[key]["quantity"] + line["quantity"]} if key in total else dict(line)
        )
    return list(total.values())


def _reweigh(conn, parcel, lines, weights, now: datetime, *, reason: str) -> None:
    repo.update_parcels(
        conn,
        [
            {
                "code": parcel["code"],
                "weight_grams": sum(weights[line["sku_id"]][1] * line["quantity"] for line in lines),
                "volume_cm3": sum(weights[line["sku_id"]][2] * line["quantity"] for line in lines),
                "mergeable": False,
                "reason": reason,
                "updated_at": now,
            }
        ],
    )


def _waybill_request(parcel: dict[str, Any], cipher: PiiCipher) -> WaybillRequest:
    return WaybillRequest(
        parcel_ref=parcel["code"],
        carrier=parcel["carrier"],
        receiver_name=cipher.decrypt(parcel["buyer_name"]),
        receiver_phone=cipher.decrypt(parcel["buyer_phone"]),
        province=parcel["province"],
        city=parcel["city"],
        district=parcel["district"],
        street=cipher.decrypt(parcel["street"]),
        weight_grams=parcel["weight_grams"],
    )
