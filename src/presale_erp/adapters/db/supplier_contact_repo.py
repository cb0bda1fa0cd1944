"""Suppliers' contacts (联系人): several per supplier, one of them primary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import supplier_contacts, suppliers

FIELDS = ("name", "role", "phone", "email", "is_primary")


def supplier(conn: Connection, code: str, *, lock: bool = False) -> dict[str, Any] | None:
    """The supplier row; locked, contact changes of one supplier queue behind each other (one primary)."""
    query = select(suppliers).where(suppliers.c.code == code)
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    return dict(row) if row else None


def suppliers_page(conn: Connection, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    total = conn.execute(select(func.count()).select_from(suppliers)).scalar_one()
    rows = conn.execute(select(suppliers).order_by(suppliers.c.code).limit(limit).offset(offset)).mappings()
    return [dict(r) for r in rows], int(total)


def contacts_of(conn: Connection, supplier_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """Each supplier's contacts, the primary first, then in the order they were added."""
    found: dict[int, list[dict[str, Any]]] = {i: [] for i in supplier_ids}
    if not supplier_ids:
        return found
    c = supplier_contacts.c
    rows = conn.execute(
        select(c.id, c.supplier_id, *[c[f] for f in FIELDS])
        .where(c.supplier_id.in_(sorted(set(supplier_ids))))
        .order_by(c.supplier_id, c.is_primary.desc(), c.id)
    ).mappings()
    for row in rows:
        found[row["supplier_id"]].append({k: row[k] for k in ("id", *FIELDS)})
    return found


def insert_contacts(conn: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return [
        conn.execute(supplier_contacts.insert().values(**row).returning(supplier_contacts.c.id)).scalar_one()
        for row in rows
    ]


def update_contact(conn: Connection, contact_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(supplier_contacts).where(supplier_contacts.c.id == contact_id).values(**values))


def delete_contact(conn: Connection, contact_id: int) -> None:
    conn.execute(supplier_contacts.delete().where(supplier_contacts.c.id == contact_id))


def clear_primary(conn: Connection, supplier_id: int, *, except_id: int | None = None) -> None:
    query = update(supplier_contacts).where(supplier_contacts.c.supplier_id == supplier_id)
    if except_id is not None:
        query = query.where(supplier_contacts.c.id != except_id)
    conn.execute(query.values(is_primary=False))
