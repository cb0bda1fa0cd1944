"""Suppliers, their terms per SKU, and draft purchase orders made from replenishment suggestions in one action.
(The rest of a purchase order's life, from sending to receiving, belongs to the supply-chain work.)"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update

from presale_erp.adapters.db import audit_repo, lookups, planning_repo
from presale_erp.adapters.db import supplier_contact_repo as contact_repo
from presale_erp.adapters.db.tables import (
    purchase_order_lines,
    purchase_orders,
    replenishment_settings,
    skus,
    supplier_skus,
    suppliers,
    warehouses,
)
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.db.upsert import upsert
from presale_erp.domain.access import Actor
from presale_erp.domain.catalog import check_code
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.money import fen_to_yuan
from presale_erp.domain.supplier_contacts import Contact, primary_of_new
from presale_erp.services import webhooks
from presale_erp.services.demand_history import beijing_day


@dataclass(frozen=True)
class NewSupplier:
    code: str
    name: str
    lead_time_days: Decimal = Decimal("14")
    lead_time_std_days: Decimal = Decimal("3")
    contacts: tuple[Contact, ...] = ()  # 联系人; the first is primary unless another is marked
    payment_terms_days: int = 0  # 账期: received goods are paid this many days later (0: on receipt)


def create_supplier(db: Database, actor: Actor, new: NewSupplier, *, now: datetime) -> dict[str, Any]:
    check_code("Supplier", new.code)
    if new.lead_time_days < 0 or new.lead_time_std_days < 0:
        raise InvalidRequest("Lead time and its spread cannot be negative.")
    if not 0 <= new.payment_terms_days <= 365:
        raise InvalidRequest("Payment terms (账期) are 0 to 365 days.")
    contacts = primary_of_new([c.checked() for c in new.contacts], existing=0)
    row = {**{k: v for k, v in asdict(new).items() if k != "contacts"}, "created_at": now, "created_by": actor.label}
    with db.uow() as uow:
        if uow.conn.execute(select(suppliers.c.id).where(suppliers.c.code == new.code)).first():
            raise Conflict(f"Supplier {new.code} already exists.")
        supplier_id = uow.conn.execute(suppliers.insert().values(**row).returning(suppliers.c.id)).scalar_one()
        ids = contact_repo.insert_contacts(uow.conn, [_contact_row(supplier_id, c, actor, now) for c in contacts])
        row["contacts"] = [{"id": i, **asdict(c)} for i, c in zip(ids, contacts, strict=True)]
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="supplier.create",
            entity="supplier",
            entity_id=new.code,
            at=now,
            details={"name": new.name},
        )
        uow.commit()
    return row


def set_supplier_terms(
    db: Database,
    actor: Actor,
    supplier: str,
    sku: str,
    *,
    unit_cost: Decimal,
    min_order: int,
    lead_time_days: Decimal,
    now: datetime,
) -> None:
    """What a supplier charges for a SKU, its minimum order, and its lead time for it."""
    if unit_cost < 0 or min_order < 1 or lead_time_days < 0:
        raise InvalidRequest("Unit cost and lead time cannot be negative, and the minimum order is at least 1.")
    with db.uow() as uow:
        supplier_id = _supplier_id(uow.conn, supplier)
        sku_id = lookups.sku_ids(uow.conn, [sku])[sku]
        upsert(
            uow.conn,
            supplier_skus,
            [
                {
                    "supplier_id": supplier_id,
                    "sku_id": sku_id,
                    "unit_cost": unit_cost,
                    "min_order": min_order,
                    "lead_time_days": lead_time_days,
                }
            ],
            ["supplier_id", "sku_id"],
            ["unit_cost", "min_order", "lead_time_days"],
        )
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="supplier.terms",
            entity="supplier",
            entity_id=supplier,
            at=now,
            details={"sku": sku, "unit_cost": str(unit_cost), "min_order": min_order},
        )
        uow.commit()


@dataclass(frozen=True)
class ReplenishmentSettings:
    sku: str
    warehouse: str
    service_level: Decimal = Decimal("0.95")
    lead_time_days: Decimal = Decimal("14")
    lead_time_std_days: Decimal = Decimal("3")
    review_days: int = 7
    min_order: int = 1
    salvage_value: Decimal = Decimal("0")
    supplier: str | None = None

    def __post_init__(self) -> None:
        if not Decimal("0.5") <= self.service_level < 1:
            raise InvalidRequest("The service level must be at least 50% and below 100%.")
        if self.lead_time_days < 0 or self.lead_time_std_days < 0 or self.review_days < 1 or self.min_order < 1:
            raise InvalidRequest("Lead times cannot be negative; review days and minimum order are at least 1.")
        if self.salvage_value < 0:
            raise InvalidRequest("Salvage value cannot be negative.")


def set_replenishment_settings(db: Database, actor: Actor, settings: ReplenishmentSettings, *, now: datetime) -> None:
    with db.uow() as uow:
        conn = uow.conn
        row = {
            "sku_id": lookups.sku_ids(conn, [settings.sku])[settings.sku],
            "warehouse_id": lookups.warehouse_ids(conn, [settings.warehouse])[settings.warehouse],
            "service_level": settings.service_level,
            "lead_time_days": settings.lead_time_days,
            "lead_time_std_days": settings.lead_time_std_days,
            "review_days": settings.review_days,
            "min_order": settings.min_order,
            "salvage_value": settings.salvage_value,
            "supplier_id": _supplier_id(conn, settings.supplier) if settings.supplier else None,
            "updated_at": now,
        }
        changeable = [k for k in row if k not in ("sku_id", "warehouse_id")]
        upsert(conn, replenishment_settings, [row], ["sku_id", "warehouse_id"], changeable)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="replenishment.settings",
            entity="sku",
            entity_id=settings.sku,
            at=now,
            details={"warehouse": settings.warehouse, "service_level": str(settings.service_level)},
        )
        uow.commit()


def _contact_row(supplier_id: int, contact: Contact, actor: Actor, now: datetime) -> dict[str, Any]:
    return {"supplier_id": supplier_id, **asdict(contact), "created_at": now, "created_by": actor.label}


def _supplier_view(row: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "code": row["code"],
        "name": row["name"],
        "lead_time_days": row["lead_time_days"],
        "lead_time_std_days": row["lead_time_std_days"],
        "payment_terms_days": row["payment_terms_days"],
        "contacts": contacts,
    }


def list_suppliers(db: Database, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Suppliers in code order, each with its contacts (the primary first)."""
    with db.uow(write=False) as uow:
        rows, total = contact_repo.suppliers_page(uow.conn, limit=limit, offset=offset)
        contacts = contact_repo.contacts_of(uow.conn, [r["id"] for r in rows])
    return [_supplier_view(r, contacts[r["id"]]) for r in rows], total


def get_supplier(db: Database, code: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        row = _supplier_row(uow.conn, code)
        return _supplier_view(row, contact_repo.contacts_of(uow.conn, [row["id"]])[row["id"]])


def add_contact(db: Database, actor: Actor, supplier: str, contact: Contact, *, now: datetime) -> dict[str, Any]:
    """Add a contact; marked primary (or the supplier's first), it becomes the primary contact."""
    contact = contact.checked()
    with db.uow() as uow:
        conn = uow.conn
        row = _supplier_row(conn, supplier, lock=True)
        existing = contact_repo.contacts_of(conn, [row["id"]])[row["id"]]
        (contact,) = primary_of_new([contact], existing=len(existing))
        if contact.is_primary:
            contact_repo.clear_primary(conn, row["id"])
        (contact_id,) = contact_repo.insert_contacts(conn, [_contact_row(row["id"], contact, actor, now)])
        _audit_contact(conn, actor, supplier, "supplier.contact.add", {"id": contact_id, **asdict(contact)}, now)
        uow.commit()
    return get_supplier(db, supplier)


def update_contact(
    db: Database, actor: Actor, supplier: str, contact_id: int, changes: dict[str, Any], *, now: datetime
) -> dict[str, Any]:
    """Change some fields of a contact. Making it primary takes the mark from the old primary; the primary
    itself cannot be unmarked (mark another one instead), so a supplier keeps exactly one."""
    unknown = set(changes) - set(contact_repo.FIELDS)
    if unknown:
        raise InvalidRequest(f"A contact has no field {', '.join(sorted(unknown))}.")
    with db.uow() as uow:
        conn = uow.conn
        row = _supplier_row(conn, supplier, lock=True)
        current = _contact_of(conn, row, contact_id)
        contact = Contact(**{**{k: current[k] for k in contact_repo.FIELDS}, **changes}).checked()
        if current["is_primary"] and not contact.is_primary:
            raise InvalidRequest(
                f"Contact {contact_id} is the primary contact of {supplier}: make another contact primary instead."
            )
        if contact.is_primary and not current["is_primary"]:
            contact_repo.clear_primary(conn, row["id"], except_id=contact_id)
        contact_repo.update_contact(conn, contact_id, asdict(contact))
        _audit_contact(conn, actor, supplier, "supplier.contact.update", {"id": contact_id, **changes}, now)
        uow.commit()
    return get_supplier(db, supplier)


def remove_contact(db: Database, actor: Actor, supplier: str, contact_id: int, *, now: datetime) -> dict[str, Any]:
    """Remove a contact; if it was the primary, the earliest remaining contact becomes primary."""
    with db.uow() as uow:
        conn = uow.conn
        row = _supplier_row(conn, supplier, lock=True)
        current = _contact_of(conn, row, contact_id)
        contact_repo.delete_contact(conn, contact_id)
        remaining = contact_repo.contacts_of(conn, [row["id"]])[row["id"]]
        if current["is_primary"] and remaining:
            contact_repo.update_contact(conn, min(c["id"] for c in remaining), {"is_primary": True})
        _audit_contact(
            conn, actor, supplier, "supplier.contact.remove", {"id": contact_id, "name": current["name"]}, now
        )
        uow.commit()
    return get_supplier(db, supplier)


def _supplier_row(conn, code: str, *, lock: bool = False) -> dict[str, Any]:
    row = contact_repo.supplier(conn, code, lock=lock)
    if row is None:
        raise NotFound(f"No supplier with code {code}.")
    return row


def _contact_of(conn, supplier_row: dict[str, Any], contact_id: int) -> dict[str, Any]:
    found = next(
        (c for c in contact_repo.contacts_of(conn, [supplier_row["id"]])[supplier_row["id"]] if c["id"] == contact_id),
        None,
    )
    if found is None:
        raise NotFound(f"Supplier {supplier_row['code']} has no contact {contact_id}.")
    return found


def _audit_contact(conn, actor: Actor, supplier: str, action: str, details: dict[str, Any], now: datetime) -> None:
    audit_repo.record(
        conn, actor=actor.label, action=action, entity="supplier", entity_id=supplier, at=now, details=details
    )


def _supplier_id(conn, code: str) -> int:
    found = conn.execute(select(suppliers.c.id).where(suppliers.c.code == code)).scalar()
    if found is None:
        raise NotFound(f"No supplier with code {code}.")
    return found


def draft_from_suggestions(db: Database, actor: Actor, suggestion_ids: list[int], *, now: datetime) -> list[dict]:
    """Turn open suggestions into draft purchase orders: one per supplier and warehouse, a line per suggestion,
    promised by the supplier's lead time. All or nothing."""
    if not suggestion_ids:
        raise InvalidRequest("Choose at least one suggestion.")
    with db.uow() as uow:
        conn = uow.conn
        found = planning_repo.suggestion_rows(conn, status=None, ids=suggestion_ids, lock=True)
        _check_orderable(found, suggestion_ids)
        groups: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
        for s in found:
            groups[(s["supplier_id"], s["warehouse_id"])].append(s)
        lead_times = _lead_times(conn, {s["supplier_id"] for s in found})
        drafted, ids_by_po = [], {}
        for (supplier_id, warehouse_id), lines in sorted(groups.items()):
            po = _insert_draft(conn, actor, supplier_id, warehouse_id, lines, lead_times[supplier_id], now)
            ids_by_po[po["id"]] = [s["id"] for s in lines]
            drafted.append(po)
        planning_repo.mark_suggestions_ordered(conn, ids_by_po)
        for po in drafted:
            webhooks.enqueue(conn, "purchase_order.drafted", _plain_po(po), now)
        uow.commit()
    return drafted


def _check_orderable(found: list[dict[str, Any]], wanted: list[int]) -> None:
    missing = sorted(set(wanted) - {s["id"] for s in found})
    if missing:
        raise NotFound(f"No replenishment suggestion {', '.join(map(str, missing))}.")
    taken = [f"{s['id']} ({s['status']})" for s in found if s["status"] != "open"]
    if taken:
        raise Conflict(f"Only open suggestions can be ordered; not {', '.join(taken)}.")
    no_supplier = [f"{s['sku']} @ {s['warehouse']}" for s in found if s["supplier_id"] is None]
    if no_supplier:
        raise InvalidRequest(
            f"No supplier is known for {', '.join(no_supplier)}: add the supplier's terms for the SKU first."
        )


def _lead_times(conn, supplier_ids: set[int]) -> dict[int, Decimal]:
    rows = conn.execute(select(suppliers.c.id, suppliers.c.lead_time_days).where(suppliers.c.id.in_(supplier_ids)))
    return {supplier_id: days for supplier_id, days in rows}


def _insert_draft(conn, actor, supplier_id, warehouse_id, lines, lead_days: Decimal, now) -> dict[str, Any]:
    provisional = f"PO-DRAFT-{now:%Y%m%d%H%M%S%f}-{supplier_id}-{warehouse_id}"
    po_id = conn.execute(
        purchase_orders.insert()
        .values(
            code=provisional,
            supplier_id=supplier_id,
            warehouse_id=warehouse_id,
            status="draft",
            note="From replenishment suggestions",
            created_at=now,
            created_by=actor.label,
        )
        .returning(purchase_orders.c.id)
    ).scalar_one()
    code = f"PO{beijing_day(now):%Y%m%d}-{po_id:05d}"  # readable, and unique because the id is
    conn.execute(update(purchase_orders).where(purchase_orders.c.id == po_id).values(code=code))
    promised = beijing_day(now) + timedelta(days=float(lead_days))
    rows = [
        {
            "purchase_order_id": po_id,
            "line_no": n,
            "sku_id": s["sku_id"],
            "quantity": s["quantity"],
            "unit_cost": s["unit_cost"],
            "promised_on": promised,
            "received_quantity": 0,
            "suggestion_id": s["id"],
        }
        for n, s in enumerate(lines, start=1)
    ]
    conn.execute(purchase_order_lines.insert(), rows)
    total = sum((s["unit_cost"] * s["quantity"] for s in lines), Decimal("0"))
    audit_repo.record(
        conn,
        actor=actor.label,
        action="purchase_order.draft",
        entity="purchase_order",
        entity_id=code,
        at=now,
        details={"lines": len(rows), "total": str(total)},
    )
    return {
        "id": po_id,
        "code": code,
        "status": "draft",
        "supplier": lines[0]["supplier"],
        "warehouse": lines[0]["warehouse"],
        "total": total,
        "promised_on": promised,
        "lines": [
            {"sku": s["sku"], "quantity": s["quantity"], "unit_cost": s["unit_cost"], "suggestion_id": s["id"]}
            for s in lines
        ],
    }


def _plain_po(po: dict[str, Any]) -> dict[str, Any]:
    return {
        **po,
        "total": str(po["total"]),
        "promised_on": po["promised_on"].isoformat(),
        "lines": [{**line, "unit_cost": str(line["unit_cost"])} for line in po["lines"]],
    }


def list_purchase_orders(db: Database, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    total = func.sum(purchase_order_lines.c.unit_cost * purchase_order_lines.c.quantity)
    query = (
        select(
            purchase_orders.c.id,
            purchase_orders.c.code,
            purchase_orders.c.status,
            purchase_orders.c.created_at,
            suppliers.c.code.label("supplier"),
            warehouses.c.code.label("warehouse"),
            func.count().label("lines"),
            total.label("total_fen"),
        )
        .join(suppliers, suppliers.c.id == purchase_orders.c.supplier_id)
        .join(warehouses, warehouses.c.id == purchase_orders.c.warehouse_id)
        .join(purchase_order_lines, purchase_order_lines.c.purchase_order_id == purchase_orders.c.id)
        .group_by(
            purchase_orders.c.id,
            purchase_orders.c.code,
            purchase_orders.c.status,
            purchase_orders.c.created_at,
            suppliers.c.code,
            warehouses.c.code,
        )
        .order_by(purchase_orders.c.id.desc())
        .limit(limit)
    )
    if status:
        query = query.where(purchase_orders.c.status == status)
    with db.uow(write=False) as uow:
        rows = [dict(r) for r in uow.conn.execute(query).mappings()]
    return [{**r, "total": fen_to_yuan(int(r.pop("total_fen") or 0))} for r in rows]


def purchase_order_lines_of(db: Database, code: str) -> list[dict[str, Any]]:
    query = (
        select(
            purchase_order_lines.c.line_no,
            skus.c.code.label("sku"),
            purchase_order_lines.c.quantity,
            purchase_order_lines.c.unit_cost,
            purchase_order_lines.c.promised_on,
            purchase_order_lines.c.received_quantity,
            purchase_order_lines.c.suggestion_id,
        )
        .join(purchase_orders, purchase_orders.c.id == purchase_order_lines.c.purchase_order_id)
        .join(skus, skus.c.id == purchase_order_lines.c.sku_id)
        .where(purchase_orders.c.code == code)
        .order_by(purchase_order_lines.c.line_no)
    )
    with db.uow(write=False) as uow:
        rows = [dict(r) for r in uow.conn.execute(query).mappings()]
    if not rows:
        raise NotFound(f"No purchase order {code}.")
    return rows
