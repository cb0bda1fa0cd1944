"""What a supplier's own key may do (供应商协同): see its placed purchase orders, confirm them, report milestones
and send shipping notices. Every call is bound to the key's supplier: another supplier's order, or a draft, is
"not found", and nothing here reads orders, stock or money beyond the supplier's own purchase orders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.errors import Forbidden
from presale_erp.services import purchase_orders
from presale_erp.services.purchase_orders import NewAsn

# What the supplier sees of its order: no merchant notes on risk, no presale orders, no revenue.
_LINE_FIELDS = ("line_no", "sku", "quantity", "unit_cost", "promised_on", "received_quantity")
_ORDER_FIELDS = ("code", "status", "supplier", "warehouse", "created_at")


def _supplier(actor: Actor) -> str:
    if actor.supplier is None or not actor.may(Permission.SUPPLIER_PORTAL):
        raise Forbidden(f"{actor.label} is not a supplier's key; the supplier portal answers suppliers only.")
    return actor.supplier


def my_orders(db: Database, actor: Actor) -> list[dict[str, Any]]:
    return purchase_orders.list_for_supplier(db, _supplier(actor))


def my_order(db: Database, actor: Actor, code: str) -> dict[str, Any]:
    return _public(purchase_orders.detail(db, code, supplier=_supplier(actor)))


def confirm(
    db: Database, actor: Actor, code: str, *, promised: dict[int, date] | None, note: str, now: datetime
) -> dict[str, Any]:
    found = purchase_orders.confirm(db, actor, code, promised=promised, note=note, supplier=_supplier(actor), now=now)
    return _public(found)


def report_milestone(
    db: Database, actor: Actor, code: str, milestone: str, *, line_no: int | None, note: str, now: datetime
) -> dict[str, Any]:
    found = purchase_orders.report_milestone(
        db, actor, code, milestone, line_no=line_no, note=note, supplier=_supplier(actor), now=now
    )
    return _public(found)


def send_asn(db: Database, actor: Actor, code: str, asn: NewAsn, *, now: datetime) -> dict[str, Any]:
    return _public(purchase_orders.add_asn(db, actor, code, asn, supplier=_supplier(actor), now=now))


def _public(po: dict[str, Any]) -> dict[str, Any]:
    return {
        **{k: po[k] for k in _ORDER_FIELDS},
        "lines": [{k: line[k] for k in _LINE_FIELDS} for line in po["lines"]],
        "asns": po["asns"],
        "history": po["history"],
    }
