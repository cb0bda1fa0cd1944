"""Tracking data: trace nodes (each stored once, keyed by trace_key), the parcels they belong to, and the
shipment alerts (stuck, exception) kept per parcel."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, literal, or_, select, tuple_, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import (
    alerts,
    job_runs,
    order_lines,
    orders,
    parcel_lines,
    parcels,
    shops,
    tracking_traces,
)
from presale_erp.adapters.db.upsert import insert_ignoring_existing

TRACE_COLUMNS = (
    tracking_traces.c.carrier,
    tracking_traces.c.tracking_no,
    tracking_traces.c.parcel_code,
    tracking_traces.c.at,
    tracking_traces.c.state,
    tracking_traces.c.state_code,
    tracking_traces.c.location,
    tracking_traces.c.description,
    tracking_traces.c.source,
    tracking_traces.c.received_at,
)
PARCEL_COLUMNS = (
    parcels.c.code,
    parcels.c.warehouse_id,
    parcels.c.carrier,
    parcels.c.tracking_no,
    parcels.c.status,
    parcels.c.tracking_state,
    parcels.c.tracking_updated_at,
)


# --- parcels ------------------------------------------------------------------------------------------------------


def parcels_to_poll(conn: Connection, *, finished: Sequence[str], after: str, limit: int) -> list[dict[str, Any]]:
    """Parcels with a tracking number whose journey is not over, by code from `after` (a cursor, not an offset,
    so parcels finishing during a run do not make it skip others)."""
    query = (
        select(parcels.c.code, parcels.c.carrier, parcels.c.tracking_no)
        .where(
            parcels.c.tracking_no.is_not(None),
            parcels.c.carrier.is_not(None),
            parcels.c.status != "cancelled",
            or_(parcels.c.tracking_state.is_(None), parcels.c.tracking_state.not_in(list(finished))),
            parcels.c.code > after,
        )
        .order_by(parcels.c.code)
        .limit(limit)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def buyer_phones(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    """One (encrypted) buyer phone per parcel: SF answers traces only with the phone's last 4 digits."""
    if not codes:
        return {}
    query = (
        select(parcel_lines.c.parcel_code, orders.c.buyer_phone)
        .join(orders, orders.c.id == parcel_lines.c.order_id)
        .where(parcel_lines.c.parcel_code.in_(list(codes)))
        .order_by(parcel_lines.c.parcel_code, parcel_lines.c.order_id)
    )
    phones: dict[str, str] = {}
    for code, phone in conn.execute(query):
        phones.setdefault(code, phone)
    return phones


def parcel_codes_by_number(conn: Connection, numbers: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(carrier, tracking number) → parcel code. A number on a cancelled parcel and a live one goes to the live one."""
    if not numbers:
        return {}
    query = (
        select(parcels.c.carrier, parcels.c.tracking_no, parcels.c.code)
        .where(tuple_(parcels.c.carrier, parcels.c.tracking_no).in_(sorted(set(numbers))))
        .order_by(parcels.c.status == "cancelled", parcels.c.created_at.desc())  # live first, then the newest
    )
    found: dict[tuple[str, str], str] = {}
    for carrier, number, code in conn.execute(query):
        found.setdefault((carrier, number), code)
    return found


def set_tracking_state(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """rows: {code, state, at}: the parcel's newest node."""
    for row in rows:
        conn.execute(
            update(parcels)
            .where(parcels.c.code == row["code"])
            .values(tracking_state=row["state"], tracking_updated_at=row["at"])
        )


def moving_parcels(conn: Connection, *, states: Sequence[str], quiet_since: datetime) -> list[dict[str, Any]]:
    """Parcels still on their way whose newest node is older than `quiet_since`: candidates for 'stuck'."""
    query = select(*PARCEL_COLUMNS).where(
        parcels.c.status != "cancelled",
        parcels.c.tracking_state.in_(list(states)),
        parcels.c.tracking_updated_at <= quiet_since,
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def parcel_rows(conn: Connection, codes: Sequence[str]) -> list[dict[str, Any]]:
    if not codes:
        return []
    query = select(*PARCEL_COLUMNS).where(parcels.c.code.in_(list(codes))).order_by(parcels.c.code)
    return [dict(row) for row in conn.execute(query).mappings()]


def parcels_with_number(conn: Connection, tracking_no: str) -> list[str]:
    query = select(parcels.c.code).where(parcels.c.tracking_no == tracking_no).order_by(parcels.c.code)
    return list(conn.execute(query).scalars())


def parcels_of_order(conn: Connection, order_id: int) -> list[str]:
    query = select(parcel_lines.c.parcel_code).where(parcel_lines.c.order_id == order_id).distinct()
    return sorted(conn.execute(query).scalars())


def order_exists(conn: Connection, order_id: int) -> bool:
    return conn.execute(select(orders.c.id).where(orders.c.id == order_id)).first() is not None


def order_id_of(conn: Connection, shop: str, platform_order_id: str) -> int | None:
    query = (
        select(orders.c.id)
        .join(shops, shops.c.id == orders.c.shop_id)
        .where(shops.c.code == shop, orders.c.platform_order_id == platform_order_id)
    )
    return conn.execute(query).scalar_one_or_none()


def orders_of_parcels(conn: Connection, codes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    if not codes:
        return {}
    query = (
        select(parcel_lines.c.parcel_code, orders.c.id, orders.c.platform_order_id, shops.c.code.label("shop"))
        .join(orders, orders.c.id == parcel_lines.c.order_id)
        .join(shops, shops.c.id == orders.c.shop_id)
        .where(parcel_lines.c.parcel_code.in_(list(codes)))
        .distinct()
        .order_by(parcel_lines.c.parcel_code, orders.c.id)
    )
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(query).mappings():
        found[row["parcel_code"]].append(
            {"order_id": row["id"], "shop": row["shop"], "platform_order_id": row["platform_order_id"]}
        )
    return dict(found)


def parcel_values(conn: Connection, codes: Sequence[str]) -> dict[str, Decimal]:
    """What the buyer paid for the goods in each parcel (its lines' share of their order lines); gifts are free."""
    if not codes:
        return {}
    query = (
        select(parcel_lines.c.parcel_code, parcel_lines.c.quantity, order_lines.c.quantity, order_lines.c.paid_amount)
        .join(
            order_lines,
            and_(order_lines.c.order_id == parcel_lines.c.order_id, order_lines.c.line_no == parcel_lines.c.line_no),
        )
        .where(parcel_lines.c.parcel_code.in_(list(codes)))
    )
    values: dict[str, Decimal] = defaultdict(Decimal)
    for code, packed, ordered, paid in conn.execute(query):
        values[code] += Decimal(paid) * packed / max(ordered, 1)
    return {code: value.quantize(Decimal("0.01")) for code, value in values.items()}


# --- traces -------------------------------------------------------------------------------------------------------


def existing_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    query = select(tracking_traces.c.trace_key).where(tracking_traces.c.trace_key.in_(list(keys)))
    return set(conn.execute(query).scalars())


def insert_traces(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Each node once: a node already stored (pulled before, pushed by the other aggregator) is left as it is."""
    insert_ignoring_existing(conn, tracking_traces, rows)


def attach_unattached(conn: Connection, codes: dict[tuple[str, str], str]) -> None:
    """Nodes stored before their parcel was known (a push that beat our waybill's commit) join their parcel."""
    for (carrier, number), code in sorted(codes.items()):
        conn.execute(
            update(tracking_traces)
            .where(
                tracking_traces.c.carrier == carrier,
                tracking_traces.c.tracking_no == number,
                tracking_traces.c.parcel_code.is_(None),
            )
            .values(parcel_code=code)
        )


def traces_of_parcels(conn: Connection, codes: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each parcel's nodes, oldest first."""
    if not codes:
        return {}
    query = (
        select(*TRACE_COLUMNS)
        .where(tracking_traces.c.parcel_code.in_(list(codes)))
        .order_by(tracking_traces.c.parcel_code, tracking_traces.c.at, tracking_traces.c.id)
    )
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.execute(query).mappings():
        found[row["parcel_code"]].append(dict(row))
    return dict(found)


def unattached_traces(conn: Connection, tracking_no: str) -> list[dict[str, Any]]:
    query = (
        select(*TRACE_COLUMNS)
        .where(tracking_traces.c.tracking_no == tracking_no, tracking_traces.c.parcel_code.is_(None))
        .order_by(tracking_traces.c.carrier, tracking_traces.c.at, tracking_traces.c.id)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


# --- push subscriptions (kept as finished job runs: one subscription per number, done once) ---------------------


def done_keys(conn: Connection, keys: Sequence[str]) -> set[str]:
    if not keys:
        return set()
    return set(conn.execute(select(job_runs.c.key).where(job_runs.c.key.in_(list(keys)))).scalars())


def record_done(conn: Connection, keys: Sequence[str], *, name: str, at: datetime) -> None:
    rows = [{"key": key, "name": name, "finished_at": at, "result": {}, "attempts": 1} for key in keys]
    insert_ignoring_existing(conn, job_runs, rows)


# --- alerts -------------------------------------------------------------------------------------------------------


def open_alerts(conn: Connection, kinds: Sequence[str], codes: Sequence[str]) -> list[dict[str, Any]]:
    """Open shipment alerts of these parcels (their keys are kind:parcel_code)."""
    keys = [f"{kind}:{code}" for kind in kinds for code in codes]
    if not keys:
        return []
    query = select(alerts).where(alerts.c.key.in_(keys), alerts.c.status == literal("open")).order_by(alerts.c.id)
    return [dict(row) for row in conn.execute(query).mappings()]
