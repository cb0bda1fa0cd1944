"""Imported bills on disk: the import, its lines, its findings; and the ledger facts reconciliation reads (one
query for a period's payment entries, one for the orders a bill's charges belong to)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db import bulk
from presale_erp.adapters.db.tables import (
    orders,
    payment_entries,
    reconciliation_findings,
    settlement_imports,
    settlement_lines,
    shops,
)
from presale_erp.domain.errors import NotFound


def import_by_sha256(conn: Connection, sha256: str) -> dict[str, Any] | None:
    row = conn.execute(select(settlement_imports).where(settlement_imports.c.sha256 == sha256)).mappings().first()
    return dict(row) if row else None


def get_import(conn: Connection, import_id: int) -> dict[str, Any]:
    row = conn.execute(select(settlement_imports).where(settlement_imports.c.id == import_id)).mappings().first()
    if row is None:
        raise NotFound(f"There is no bill import {import_id}.")
    return dict(row)


def add_import(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(insert(settlement_imports).returning(settlement_imports.c.id), [row]).scalar_one()


def add_lines(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk.insert(conn, settlement_lines, rows)


def add_findings(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk.insert(conn, reconciliation_findings, rows)


def shop_codes(conn: Connection, shop_ids: Sequence[int]) -> dict[int, str]:
    rows = conn.execute(select(shops.c.id, shops.c.code).where(shops.c.id.in_(list(shop_ids))))
    return {row.id: row.code for row in rows}


def shop_platforms(conn: Connection, shop_ids: Sequence[int]) -> dict[int, str]:
    rows = conn.execute(select(shops.c.id, shops.c.platform).where(shops.c.id.in_(list(shop_ids))))
    return {row.id: row.platform for row in rows}


def finding_counts(conn: Connection, import_id: int) -> dict[str, int]:
    return finding_counts_of(conn, [import_id]).get(import_id, {})


def finding_counts_of(conn: Connection, import_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Open and resolved findings alike, per import and kind."""
    if not import_ids:
        return {}
    f = reconciliation_findings.c
    query = (
        select(f.import_id, f.kind, func.count()).where(f.import_id.in_(list(import_ids))).group_by(f.import_id, f.kind)
    )
    counts: dict[int, dict[str, int]] = {}
    for import_id, kind, count in conn.execute(query):
        counts.setdefault(import_id, {})[kind] = count
    return counts


def ledger(
    conn: Connection, *, shop_ids: Sequence[int], channel: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The channel's payment entries of the shops in [start, end), with their order's platform number."""
    return _entries(
        conn,
        bulk.among(conn, payment_entries.c.shop_id, list(shop_ids)),
        payment_entries.c.channel == channel,
        payment_entries.c.occurred_at >= start,
        payment_entries.c.occurred_at < end,
    )


def entries_by_keys(conn: Connection, keys: Sequence[str]) -> list[dict[str, Any]]:
    """Entries by key, shaped as `ledger` gives them."""
    return _entries(conn, bulk.among(conn, payment_entries.c.entry_key, list(keys))) if keys else []


def _entries(conn: Connection, *where) -> list[dict[str, Any]]:
    query = (
        select(
            payment_entries.c.id,
            payment_entries.c.entry_key,
            payment_entries.c.kind,
            payment_entries.c.external_ref,
            payment_entries.c.amount,
            payment_entries.c.occurred_at,
            payment_entries.c.source,
            func.coalesce(orders.c.platform_order_id, "").label("order_ref"),
        )
        .select_from(payment_entries.outerjoin(orders, orders.c.id == payment_entries.c.order_id))
        .where(*where)
        .order_by(payment_entries.c.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def orders_by_ref(conn: Connection, shop_ids: Sequence[int], refs: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Platform order number -> (order id, shop id), among the shops."""
    if not refs:
        return {}
    query = select(orders.c.platform_order_id, orders.c.id, orders.c.shop_id).where(
        bulk.among(conn, orders.c.shop_id, list(shop_ids)),
        bulk.among(conn, orders.c.platform_order_id, sorted(set(refs))),
    )
    return {row.platform_order_id: (row.id, row.shop_id) for row in conn.execute(query)}


def existing_entry_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    query = select(payment_entries.c.entry_key).where(bulk.among(conn, payment_entries.c.entry_key, list(keys)))
    return set(conn.execute(query).scalars())


def add_entries(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    bulk.insert(conn, payment_entries, rows, ignore_conflicts=True)  # a charge already recorded stays as it was


def imports(conn: Connection, *, channel: str | None, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    where = [settlement_imports.c.channel == channel] if channel else []
    total = conn.execute(select(func.count()).select_from(settlement_imports).where(*where)).scalar_one()
    query = select(settlement_imports).where(*where).order_by(settlement_imports.c.id.desc()).limit(limit)
    return [dict(row) for row in conn.execute(query.offset(offset)).mappings()], total


def findings(
    conn: Connection,
    *,
    import_id: int | None,
    kind: str | None,
    resolved: bool | None,
    ref: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    f = reconciliation_findings.c
    where = []
    if import_id is not None:
        where.append(f.import_id == import_id)
    if kind:
        where.append(f.kind == kind)
    if resolved is not None:
        where.append(f.resolved_at.is_not(None) if resolved else f.resolved_at.is_(None))
    if ref:
        where.append((f.external_ref == ref) | (f.order_ref == ref))
    total = conn.execute(select(func.count()).select_from(reconciliation_findings).where(*where)).scalar_one()
    query = select(reconciliation_findings).where(*where).order_by(f.id).limit(limit).offset(offset)
    return [dict(row) for row in conn.execute(query).mappings()], total


def finding(conn: Connection, finding_id: int) -> dict[str, Any]:
    row = conn.execute(select(reconciliation_findings).where(reconciliation_findings.c.id == finding_id)).mappings()
    found = row.first()
    if found is None:
        raise NotFound(f"There is no reconciliation finding {finding_id}.")
    return dict(found)


def resolve(conn: Connection, finding_id: int, *, at: datetime, by: str, note: str) -> None:
    conn.execute(
        update(reconciliation_findings)
        .where(reconciliation_findings.c.id == finding_id)
        .values(resolved_at=at, resolved_by=by, resolution_note=note)
    )
