"""售后 cases: opened against an order (before shipment: the whole order; after: lines, in parts), approved,
rejected or cancelled. Receiving returned goods and paying refunds are in services/aftersales_settlement.py.
Every step is audited; a step not allowed from the case's state is refused (IllegalTransition)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters.db import aftersales_repo as repo
from presale_erp.adapters.db import audit_repo, lookups, sales_posting_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain import aftersales as rules
from presale_erp.domain.access import Actor
from presale_erp.domain.aftersales import CaseKind, CaseState, DepositPolicy, RefundCause
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.finance import deposit_shares, revenue_of_units

CLAIMING = {s.value for s in rules.OPEN_STATES} | {CaseState.REFUNDED.value}


@dataclass(frozen=True)
class CaseLine:
    line_no: int
    quantity: int = 0  # units coming back (return and refund); 0 for a refund only
    amount: Decimal | None = None  # the refund; for a return, None means the units' share of the line


def open_case(
    db: Database,
    actor: Actor,
    *,
    case_key: str,
    order_id: int,
    kind: CaseKind,
    cause: RefundCause,
    reason: str,
    lines: list[CaseLine],
    now: datetime,
) -> dict[str, Any]:
    """Open a case (requested). Nothing shipped yet: a refund-only case for the whole order (leave `lines`
    empty), its amount set by the deposit rule. Goods shipped: the lines and amounts being refunded or returned.
    The same key again with the same order, kind and lines returns the case; with other content: Conflict."""
    with db.uow() as uow:
        conn = uow.conn
        order = repo.order_facts(conn, order_id, lock=True)
        if order is None:
            raise NotFound(f"No order {order_id}.")
        existing = repo.case_id_by_key(conn, case_key)
        if existing is not None:
            return _replay(conn, existing, order_id, kind, lines)
        shipped = sales_posting_repo.units_by_kind(conn, [(order_id, n) for n in order["lines"]], "shipment")
        if not any(shipped.values()):
            before, case_lines = True, _whole_order(conn, order, kind, cause, lines)
        else:
            before, case_lines = False, _after_shipment(conn, order, kind, lines, shipped)
        row = {
            "case_key": case_key,
            "shop_id": order["shop_id"],
            "order_id": order_id,
            "kind": kind.value,
            "state": CaseState.REQUESTED.value,
            "cause": cause.value,
            "reason": reason,
            "before_shipment": before,
            "refund_amount": sum((line["amount"] for line in case_lines), Decimal("0.00")),
            "refund_ref": "",
            "created_at": now,
            "created_by": actor.label,
            "updated_at": now,
        }
        case_id = repo.insert_case(conn, row, case_lines)
        audit_case(conn, actor, case_id, "aftersales.open", now, {"order_id": order_id, "kind": kind.value})
        uow.commit()
    return case_view(db, case_id)


def _replay(conn: Connection, case_id: int, order_id: int, kind: CaseKind, lines: list[CaseLine]) -> dict[str, Any]:
    found = repo.case(conn, case_id)
    assert found is not None
    asked = sorted((line.line_no, line.quantity) for line in lines)
    stored = sorted((line["line_no"], line["quantity"]) for line in found["lines"])
    if found["order_id"] != order_id or found["kind"] != kind.value or (lines and asked != stored):
        raise Conflict(f"Case key {found['case_key']} was already used for another case; use a new key.")
    return _view(found)


def _whole_order(
    conn: Connection, order: dict[str, Any], kind: CaseKind, cause: RefundCause, lines: list[CaseLine]
) -> list[dict[str, Any]]:
    if kind is not CaseKind.REFUND_ONLY:
        raise InvalidRequest("Nothing of this order has shipped: there is nothing to return; open a refund_only case.")
    if lines:
        raise InvalidRequest("Before shipment a case refunds the whole order: leave out the lines.")
    if repo.claimed(conn, order["id"], CLAIMING):
        raise Conflict(f"Order {order['id']} already has an open or refunded case.")
    amount = rules.refund_before_shipment(
        deposit_trade=order["presale_type"] in ("deposit", "stepped") and order["deposit_amount"] > 0,
        paid=order["paid_amount"],
        deposit=order["deposit_amount"],
        balance=order["balance_amount"],
        balance_paid=order["balance_paid"],
        policy=repo.deposit_policy(conn, order["shop_id"]),
        cause=cause,
    )
    numbers = sorted(order["lines"])
    shares = deposit_shares(amount, [order["lines"][n]["paid_amount"] for n in numbers])
    return [{"line_no": n, "quantity": 0, "amount": share} for n, share in zip(numbers, shares, strict=True)]


def _after_shipment(
    conn: Connection, order: dict[str, Any], kind: CaseKind, lines: list[CaseLine], shipped: dict
) -> list[dict[str, Any]]:
    if not lines:
        raise InvalidRequest("Name the lines to refund or return, with their amounts or units.")
    if len({line.line_no for line in lines}) != len(lines):
        raise InvalidRequest("Each order line may appear once in a case.")
    claimed = repo.claimed(conn, order["id"], CLAIMING)
    rows = []
    for line in lines:
        facts = order["lines"].get(line.line_no)
        if facts is None:
            raise InvalidRequest(f"Order {order['id']} has no line {line.line_no}.")
        amount_claimed, units_claimed = claimed.get(line.line_no, (Decimal("0.00"), 0))
        amount = line.amount
        if kind is CaseKind.RETURN_AND_REFUND:
            rules.check_return(line.line_no, line.quantity, shipped.get((order["id"], line.line_no), 0), units_claimed)
            if amount is None:
                amount = revenue_of_units(facts["paid_amount"], facts["quantity"], units_claimed, line.quantity)
        elif line.quantity:
            raise InvalidRequest(f"Line {line.line_no}: a refund-only case keeps the goods; give no units.")
        elif not shipped.get((order["id"], line.line_no)):
            raise InvalidRequest(
                f"Line {line.line_no} has not shipped yet while others have: stop its parcel and refund it once "
                "the rest has shipped, or refund the shipped lines now."
            )
        if amount is None:
            raise InvalidRequest(f"Line {line.line_no}: give the amount to refund.")
        rules.check_refund(line.line_no, amount, facts["paid_amount"], amount_claimed)
        rows.append({"line_no": line.line_no, "quantity": line.quantity, "amount": amount})
    return rows


def approve(db: Database, actor: Actor, case_id: int, *, now: datetime) -> dict[str, Any]:
    """同意: a refund-only case waits for its refund; a return waits for the goods (awaiting_return)."""
    steps = [CaseState.APPROVED]

    def then(found: dict[str, Any]) -> list[CaseState]:
        return steps + ([CaseState.AWAITING_RETURN] if found["kind"] == CaseKind.RETURN_AND_REFUND.value else [])

    return _move(db, actor, case_id, then, now)


def reject(db: Database, actor: Actor, case_id: int, *, now: datetime) -> dict[str, Any]:
    return _move(db, actor, case_id, lambda _: [CaseState.REJECTED], now)


def cancel(db: Database, actor: Actor, case_id: int, *, now: datetime) -> dict[str, Any]:
    return _move(db, actor, case_id, lambda _: [CaseState.CANCELLED], now)


def _move(db: Database, actor: Actor, case_id: int, steps, now: datetime) -> dict[str, Any]:
    with db.uow() as uow:
        found = locked_case(uow.conn, case_id)
        state = found["state"]
        for step in steps(found):
            rules.guard(case_id, CaseKind(found["kind"]), state, step)
            audit_case(uow.conn, actor, case_id, f"aftersales.{step.value}", now, {"from": state})
            state = step.value
        repo.set_state(uow.conn, case_id, state, now=now)
        uow.commit()
    return case_view(db, case_id)


def cases_of_order(db: Database, order_id: int) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        found = [repo.case(uow.conn, case_id) for case_id in repo.cases_of_order(uow.conn, order_id)]
    return [_view(case) for case in found if case is not None]


def locked_case(conn: Connection, case_id: int) -> dict[str, Any]:
    found = repo.case(conn, case_id, lock=True)
    if found is None:
        raise NotFound(f"No after-sales case {case_id}.")
    return found


def case_view(db: Database, case_id: int) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        found = repo.case(uow.conn, case_id)
    if found is None:
        raise NotFound(f"No after-sales case {case_id}.")
    return _view(found)


def _view(found: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "case_key", "order_id", "kind", "state", "cause", "reason", "before_shipment", "refund_amount")
    return {k: found[k] for k in keys} | {
        "refund_ref": found["refund_ref"],
        "return_warehouse": found["return_warehouse"],
        "return_bin": found["return_bin"],
        "lines": [{k: line[k] for k in ("line_no", "quantity", "amount")} for line in found["lines"]],
    }


def set_deposit_policy(db: Database, actor: Actor, shop: str, policy: DepositPolicy, *, now: datetime) -> dict:
    """定金不退 (keep, the default) or 定金可退 (refund) for a shop's buyers who walk away."""
    with db.uow() as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        repo.set_deposit_policy(uow.conn, shop_id, policy, now=now, actor=actor.label)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="aftersales.deposit_policy",
            entity="shop",
            entity_id=shop,
            at=now,
            details={"deposit_policy": policy.value},
        )
        uow.commit()
    return {"shop": shop, "deposit_policy": policy.value}


def audit_case(conn: Connection, actor: Actor, case_id: int, action: str, now: datetime, details: dict) -> None:
    audit_repo.record(
        conn,
        actor=actor.label,
        action=action,
        entity="aftersales_case",
        entity_id=str(case_id),
        at=now,
        details=details,
    )
