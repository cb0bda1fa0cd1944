"""Stock rows: positions, bin balances, movements and reservations. All stock writers lock through here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import psycopg
from sqlalchemy import and_, bindparam, case, func, select, tuple_, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from presale_erp.adapters.db import audit_repo, bulk
from presale_erp.adapters.db.tables import (
    audit_log,
    bin_stock,
    bins,
    movement_requests,
    movements,
    reservations,
    shops,
    skus,
    stock_positions,
    warehouses,
)
from presale_erp.adapters.db.unit_of_work import UnitOfWork
from presale_erp.adapters.db.upsert import insert_ignoring_existing, upsert
from presale_erp.domain.ledger import (
    BIN_BUCKETS,
    Bucket,
    MovementLine,
    PositionKey,
    Reservation,
    ReservationStage,
    ReservationStatus,
    StockBook,
    StockPosition,
)

COUNTERS = [f.name for f in fields(StockPosition) if f.name not in ("sku", "warehouse")]


@dataclass
class LockedStock:
    """A StockBook over locked rows, with the ids to write it back and a snapshot to see what changed."""

    book: StockBook
    sku_ids: dict[str, int]
    warehouse_ids: dict[str, int]
    before: dict[PositionKey, tuple[int, ...]]
    bins_before: dict[tuple[str, str, str], int]


def _counters(position: StockPosition) -> tuple[int, ...]:
    return tuple(getattr(position, name) for name in COUNTERS)


def lock_positions(
    conn: Connection,
    keys: Iterable[PositionKey],
    sku_ids: dict[str, int],
    warehouse_ids: dict[str, int],
    *,
    create_missing: bool,
    now: datetime,
) -> LockedStock:
    """Lock the position rows for `keys` in one fixed order (sku id, warehouse id), so that two
    transactions locking overlapping sets always queue behind each other instead of deadlocking.
    SQLite has a single writer (BEGIN IMMEDIATE), so there the lock is the transaction itself."""
    id_keys = sorted({(sku_ids[s], warehouse_ids[w]) for s, w in keys})
    if create_missing:
        insert_ignoring_existing(
            conn,
            stock_positions,
            [{"sku_id": s, "warehouse_id": w, **dict.fromkeys(COUNTERS, 0), "updated_at": now} for s, w in id_keys],
        )
    positions = _read_positions(conn, id_keys, sku_ids, warehouse_ids, for_update=True)
    book = StockBook(positions=positions)
    return LockedStock(
        book=book,
        sku_ids=dict(sku_ids),
        warehouse_ids=dict(warehouse_ids),
        before={k: _counters(p) for k, p in positions.items()},
        bins_before={},
    )


def _read_positions(
    conn: Connection,
    id_keys: Sequence[tuple[int, int]],
    sku_ids: dict[str, int],
    warehouse_ids: dict[str, int],
    *,
    for_update: bool,
) -> dict[PositionKey, StockPosition]:
    if not id_keys:
        return {}
    code_of_sku = {v: k for k, v in sku_ids.items()}
    code_of_wh = {v: k for k, v in warehouse_ids.items()}
    query = (
        select(stock_positions)
        .where(tuple_(stock_positions.c.sku_id, stock_positions.c.warehouse_id).in_(id_keys))
        .order_by(stock_positions.c.sku_id, stock_positions.c.warehouse_id)
    )
    positions: dict[PositionKey, StockPosition] = {}
    # FOR NO KEY UPDATE: writers exclude each other as with FOR UPDATE, but a reservation's insert (its foreign
    # key's KEY SHARE lock on the position) does not wait for it, nor it for the insert.
    for row in conn.execute(query.with_for_update(key_share=True) if for_update else query).mappings():
        key = (code_of_sku[row["sku_id"]], code_of_wh[row["warehouse_id"]])
        positions[key] = StockPosition(sku=key[0], warehouse=key[1], **{c: row[c] for c in COUNTERS})
    return positions


def load_bins(conn: Connection, locked: LockedStock, bin_keys: Iterable[tuple[str, str, str]]) -> None:
    """Bring the bin balances (sku, warehouse, bin code) a movement touches into the book, and which of those
    bins are non-sellable (their units count as damaged)."""
    wanted = sorted(set(bin_keys))
    if not wanted:
        return
    places = sorted({(wh, code) for _, wh, code in wanted})
    damaged_bins = conn.execute(
        select(warehouses.c.code, bins.c.code)
        .join(bins, bins.c.warehouse_id == warehouses.c.id)
        .where(tuple_(warehouses.c.code, bins.c.code).in_(places), bins.c.sellable.is_(False))
    ).all()
    locked.book.non_sellable_bins |= {(wh, code) for wh, code in damaged_bins}
    rows = conn.execute(
        select(skus.c.code, warehouses.c.code, bins.c.code, bin_stock.c.on_hand)
        .select_from(bin_stock)
        .join(skus, skus.c.id == bin_stock.c.sku_id)
        .join(warehouses, warehouses.c.id == bin_stock.c.warehouse_id)
        .join(bins, bins.c.id == bin_stock.c.bin_id)
        .where(tuple_(skus.c.code, warehouses.c.code, bins.c.code).in_(wanted))
    ).all()
    for sku, wh, bin_code, on_hand in rows:
        locked.book.bins[(sku, wh, bin_code)] = on_hand
    locked.bins_before = dict(locked.book.bins)


def save(conn: Connection, locked: LockedStock, bin_ids: dict[tuple[str, str], int], now: datetime) -> None:
    """Write back every position and bin balance the book changed, in one statement each."""
    changed = [p for k, p in locked.book.positions.items() if locked.before.get(k) != _counters(p)]
    new_rows = [p for p in changed if p.key not in locked.before]
    existing = [p for p in changed if p.key in locked.before]
    if new_rows:
        conn.execute(stock_positions.insert(), [_position_row(locked, p, now) for p in new_rows])
    if existing:
        statement = (
            update(stock_positions)
            .where(
                and_(
                    stock_positions.c.sku_id == bindparam("k_sku"),
                    stock_positions.c.warehouse_id == bindparam("k_wh"),
                )
            )
            .values({c: bindparam(f"v_{c}") for c in [*COUNTERS, "updated_at"]})
        )
        conn.execute(
            statement,
            [
                {
                    "k_sku": locked.sku_ids[p.sku],
                    "k_wh": locked.warehouse_ids[p.warehouse],
                    **{f"v_{c}": getattr(p, c) for c in COUNTERS},
                    "v_updated_at": now,
                }
                for p in existing
            ],
        )
    bin_rows = [
        {
            "sku_id": locked.sku_ids[sku],
            "warehouse_id": locked.warehouse_ids[wh],
            "bin_id": bin_ids[(wh, bin_code)],
            "on_hand": qty,
        }
        for (sku, wh, bin_code), qty in locked.book.bins.items()
        if locked.bins_before.get((sku, wh, bin_code)) != qty
    ]
    upsert(conn, bin_stock, bin_rows, key=["sku_id", "warehouse_id", "bin_id"], update=["on_hand"])


def save_reservations(
    conn: Connection,
    locked: LockedStock,
    reservation_rows: Sequence[dict[str, Any]],
    audit_rows: Sequence[dict[str, Any]],
    now: datetime,
) -> None:
    """Write what a reservation batch changed: the positions, the new reservations and their audit rows. On
    PostgreSQL all three go as one statement (data-modifying CTEs), one round trip where a flash sale's group
    commit would otherwise spend three while it holds the hot position's lock."""
    changed = [p for k, p in locked.book.positions.items() if locked.before.get(k) != _counters(p)]
    if conn.dialect.name != "postgresql" or not changed or not reservation_rows or not audit_rows:
        save(conn, locked, {}, now)
        insert_reservations(conn, reservation_rows)
        audit_repo.record_many(conn, list(audit_rows))
        return
    made_sql, made_rows = bulk.json_insert(reservations, reservation_rows)
    audit_sql, audit_rows_json = bulk.json_insert(audit_log, audit_repo.uniform(audit_rows))
    moved = [(locked.sku_ids[p.sku], locked.warehouse_ids[p.warehouse], *_counters(p)) for p in changed]
    moved_sql = (
        f"UPDATE stock_positions AS p SET {', '.join(f'{c} = v.{c}' for c in COUNTERS)}, updated_at = %s"
        f" FROM json_to_recordset(%s) AS v(sku_id int, warehouse_id int, {', '.join(f'{c} int' for c in COUNTERS)})"
        " WHERE p.sku_id = v.sku_id AND p.warehouse_id = v.warehouse_id"
    )
    moved_json = json.dumps([dict(zip(["sku_id", "warehouse_id", *COUNTERS], row, strict=True)) for row in moved])
    conn.exec_driver_sql(
        f"WITH moved AS ({moved_sql}), made AS ({made_sql}) {audit_sql}",
        (now, moved_json, made_rows, audit_rows_json),
    )


class RememberedPositions:
    """The counters of positions as this process last committed them, for one committer thread (a group-commit
    desk). A batch may be decided on them without reading the row first: the write then checks, in the same
    statement, that the row still holds exactly these counters (compare and set), and changes nothing otherwise."""

    def __init__(self) -> None:
        self._counters: dict[tuple[int, int], tuple[int, ...]] = {}

    def stock_for(
        self, keys: Iterable[PositionKey], sku_ids: dict[str, int], warehouse_ids: dict[str, int]
    ) -> LockedStock | None:
        """A book over the remembered counters of `keys`, or None if any of them is not remembered."""
        positions: dict[PositionKey, StockPosition] = {}
        for sku, warehouse in set(keys):
            counters = self._counters.get((sku_ids[sku], warehouse_ids[warehouse]))
            if counters is None:
                return None
            positions[(sku, warehouse)] = StockPosition(sku, warehouse, *counters)
        return LockedStock(
            book=StockBook(positions=positions),
            sku_ids=sku_ids,
            warehouse_ids=warehouse_ids,
            before={k: _counters(p) for k, p in positions.items()},
            bins_before={},
        )

    def stock_ahead(
        self, conn: Connection, keys: Iterable[PositionKey], sku_ids: dict[str, int], warehouse_ids: dict[str, int]
    ) -> LockedStock:
        """A book for a batch decided while the batch before it is still being written: the counters that batch
        will leave where it changes them (`remember_changes`), the rest as committed, read without a lock (the
        batch in flight does not write them, and locking them would queue behind it). Written back with
        `save_if_unchanged`, so that a position someone else changed meanwhile fails the write instead of
        being overwritten."""
        positions: dict[PositionKey, StockPosition] = {}
        unknown: list[tuple[int, int]] = []
        for sku, warehouse in set(keys):
            id_key = (sku_ids[sku], warehouse_ids[warehouse])
            counters = self._counters.get(id_key)
            if counters is None:
                unknown.append(id_key)
            else:
                positions[(sku, warehouse)] = StockPosition(sku, warehouse, *counters)
        positions |= _read_positions(conn, sorted(unknown), sku_ids, warehouse_ids, for_update=False)
        return LockedStock(
            book=StockBook(positions=positions),
            sku_ids=dict(sku_ids),
            warehouse_ids=dict(warehouse_ids),
            before={k: _counters(p) for k, p in positions.items()},
            bins_before={},
        )

    def clear(self) -> None:
        self._counters.clear()

    def remember_changes(self, stock: LockedStock) -> None:
        """Only the positions the book changed, as it leaves them: what a write in flight is about to commit.
        Any other position is read as committed when next needed, so a receipt posted meanwhile is seen."""
        for key, position in stock.book.positions.items():
            if stock.before.get(key) != _counters(position):
                self._counters[(stock.sku_ids[key[0]], stock.warehouse_ids[key[1]])] = _counters(position)

    def remember(self, stock: LockedStock) -> None:
        """After a commit: the book's positions are what the database now holds."""
        for (sku, warehouse), position in stock.book.positions.items():
            self._counters[(stock.sku_ids[sku], stock.warehouse_ids[warehouse])] = _counters(position)

    def forget(self, stock: LockedStock) -> None:
        for sku, warehouse in stock.book.positions:
            self._counters.pop((stock.sku_ids[sku], stock.warehouse_ids[warehouse]), None)


@dataclass(frozen=True)
class ConditionalWrite:
    """A reservation batch decided on remembered counters, as the statements `commit_conditional_write` runs and
    commits in one round trip (see `conditional_reservation_write`)."""

    statements: list[tuple[str, tuple[Any, ...]]]


def conditional_reservation_write(
    stock: LockedStock,
    reservation_rows: Sequence[dict[str, Any]],
    audit_rows: Sequence[dict[str, Any]],
    now: datetime,
) -> ConditionalWrite:
    """PostgreSQL: the statements writing a batch decided on remembered counters: first the reservations and their
    audit rows (most of the work, done while another batch may still hold the positions: the foreign key's lock
    does not conflict with a writer's), then each position set only where it still holds the counters the batch
    was decided on (compare and set). If any does not, that statement fails as a serialization failure and the
    transaction writes nothing at all. Built apart from running it, so that a desk can build the next batch
    while the last one is on its way."""
    moved = _moved(stock)
    # In position order: each row's foreign-key check locks its position (KEY SHARE), and a writer on locked rows
    # takes positions in key order too, so the two can never each hold one the other waits for.
    in_key_order = sorted(reservation_rows, key=lambda row: (row["sku_id"], row["warehouse_id"]))
    made_sql, made_json = bulk.json_insert(reservations, in_key_order)
    audit_sql, audit_json = bulk.json_insert(audit_log, audit_repo.uniform(audit_rows))
    return ConditionalWrite(
        [
            (f"WITH made AS ({made_sql}) {audit_sql}", (made_json, audit_json)),
            (_COMPARE_AND_SET_SQL, (now, *moved)),
        ]
    )


def save_if_unchanged(conn: Connection, stock: LockedStock, now: datetime) -> None:
    """PostgreSQL: write back the positions a book decided on remembered counters changed (see `stock_ahead`),
    each only where it still holds the counters the book started from. If any does not, raise a serialization
    failure: the transaction must then write nothing, and the batch be decided again on locked rows."""
    moved_json, count = _moved(stock)
    if not count:
        return
    # Locked first in key order, as every writer on locked rows takes them, so that two writers wanting the same
    # positions queue instead of each holding one the other waits for (the UPDATE's own order is the plan's).
    changed = sorted((stock.sku_ids[sku], stock.warehouse_ids[wh]) for (sku, wh) in _changed_keys(stock))
    conn.execute(
        select(stock_positions.c.sku_id)
        .where(tuple_(stock_positions.c.sku_id, stock_positions.c.warehouse_id).in_(changed))
        .order_by(stock_positions.c.sku_id, stock_positions.c.warehouse_id)
        .with_for_update(key_share=True)  # as _read_positions locks them
    )
    conn.exec_driver_sql(_COMPARE_AND_SET_SQL, (now, moved_json, count))


def _changed_keys(stock: LockedStock) -> list[PositionKey]:
    return [k for k, p in stock.book.positions.items() if stock.before[k] != _counters(p)]


def _moved(stock: LockedStock) -> tuple[str, int]:
    """The changed positions as compare-and-set rows (JSON) and how many there are."""
    changed = [stock.book.positions[k] for k in _changed_keys(stock)]
    moved = [
        (stock.sku_ids[p.sku], stock.warehouse_ids[p.warehouse], *_counters(p), *stock.before[p.key]) for p in changed
    ]
    return json.dumps([dict(zip(_CONDITIONAL_NAMES, row, strict=True)) for row in moved]), len(moved)


_CONDITIONAL_NAMES = ["sku_id", "warehouse_id", *COUNTERS, *(f"was_{c}" for c in COUNTERS)]
_COMPARE_AND_SET_SQL = (
    f"WITH moved AS (UPDATE stock_positions AS p SET {', '.join(f'{c} = v.{c}' for c in COUNTERS)}, updated_at = %s"
    f" FROM json_to_recordset(%s) AS v({', '.join(f'{name} int' for name in _CONDITIONAL_NAMES)})"
    " WHERE p.sku_id = v.sku_id AND p.warehouse_id = v.warehouse_id"
    f" AND ({', '.join(f'p.{c}' for c in COUNTERS)}) = ({', '.join(f'v.was_{c}' for c in COUNTERS)})"
    " RETURNING p.sku_id)"
    " SELECT presale_erp_require((SELECT count(*) FROM moved) = %s, 'a stock position changed meanwhile')"
)


@dataclass(frozen=True)
class Turn:
    """A desk's place for a write it sends while the write before it may still be committing: its own number,
    taken at once, and the number of the one before, whose end it waits for before its compare and set (whose
    snapshot must then show that write). Two lanes are two connections, and either may reach the database first."""

    desk: int  # the desk's own key: another process's desk numbers its writes apart
    number: int

    def statements(self) -> tuple[tuple[str, tuple[int, int]], tuple[str, tuple[int, int]]]:
        here, before = self.number % 2**31, (self.number - 1) % 2**31
        return (
            ("SELECT pg_advisory_xact_lock(%s, %s)", (self.desk, here)),
            ("SELECT pg_advisory_xact_lock_shared(%s, %s)", (self.desk, before)),
        )


def commit_conditional_write(uow: UnitOfWork, write: ConditionalWrite, turn: Turn | None = None) -> bool:
    """Run a conditional write and commit, in one round trip: True if every position still held the counters the
    batch was decided on, so that all of it is saved; False if nothing was saved (decide again on locked rows).
    A reservation id already taken raises Conflict, also with nothing saved. With a `turn`, the write waits for
    the desk's write before it to end before its compare and set."""
    statements = write.statements
    if turn is not None:
        take_mine, wait_for_before = turn.statements()
        rows, compare_and_set = statements
        statements = [take_mine, rows, wait_for_before, compare_and_set]
    try:
        uow.commit_with(statements, prepare=True)
    except psycopg.Error:  # a position changed (serialization failure), or on locked rows the caller decides
        return False  # again, finds a lost answer's commit as a replay, and reports any error that persists
    return True


def _position_row(locked: LockedStock, position: StockPosition, now: datetime) -> dict[str, Any]:
    return {
        "sku_id": locked.sku_ids[position.sku],
        "warehouse_id": locked.warehouse_ids[position.warehouse],
        **{c: getattr(position, c) for c in COUNTERS},
        "updated_at": now,
    }


def find_movement_request(conn: Connection, request_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(movement_requests).where(movement_requests.c.id == request_id)).mappings().first()
    return dict(row) if row else None


def find_movement_requests(conn: Connection, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not request_ids:
        return {}
    rows = conn.execute(select(movement_requests).where(bulk.among(conn, movement_requests.c.id, request_ids)))
    return {row["id"]: dict(row) for row in rows.mappings()}


def insert_movements(
    conn: Connection,
    posted: Sequence[tuple[dict[str, Any], Sequence[MovementLine], str | None]],
    locked: LockedStock,
    bin_ids: dict[tuple[str, str], int],
) -> None:
    """Many movements (header, lines, reservation id) in two statements."""
    if not posted:
        return
    conn.execute(movement_requests.insert(), [header for header, _, _ in posted])
    conn.execute(
        movements.insert(),
        [
            _movement_row(header, seq, line, locked, bin_ids, reservation_id)
            for header, lines, reservation_id in posted
            for seq, line in enumerate(lines, start=1)
        ],
    )


def _movement_row(
    header: dict[str, Any],
    seq: int,
    line: MovementLine,
    locked: LockedStock,
    bin_ids: dict[tuple[str, str], int],
    reservation_id: str | None,
) -> dict[str, Any]:
    return {
        "request_id": header["id"],
        "seq": seq,
        "kind": header["kind"],
        "sku_id": locked.sku_ids[line.sku],
        "warehouse_id": locked.warehouse_ids[line.warehouse],
        "bin_id": bin_ids[(line.warehouse, line.bin)] if line.bin else None,
        "bucket": line.bucket.value,
        "quantity": line.quantity,
        "reservation_id": reservation_id,
        "at": header["at"],
        "actor": header["actor"],
    }


def insert_movement(
    conn: Connection,
    *,
    header: dict[str, Any],
    lines: Sequence[MovementLine],
    locked: LockedStock,
    bin_ids: dict[tuple[str, str], int],
    reservation_id: str | None,
) -> None:
    insert_movements(conn, [(header, lines, reservation_id)], locked, bin_ids)


def find_reservations(conn: Connection, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    if not ids or not _any_reservation_exists(conn, ids):
        return {}
    rows = conn.execute(
        select(reservations, skus.c.code.label("sku"), warehouses.c.code.label("warehouse"), shops.c.code.label("shop"))
        .join(skus, skus.c.id == reservations.c.sku_id)
        .join(warehouses, warehouses.c.id == reservations.c.warehouse_id)
        .outerjoin(shops, shops.c.id == reservations.c.shop_id)
        .where(_id_among(conn, sorted(set(ids))))
    ).mappings()
    return {row["id"]: dict(row) for row in rows}


def _any_reservation_exists(conn: Connection, ids: Sequence[str]) -> bool:
    """PostgreSQL: a cheap first look by primary key, one array parameter. New ids (nearly every call of a
    flash sale) need nothing more; only replays read the full rows."""
    if conn.dialect.name != "postgresql":
        return True
    cursor = conn.connection.cursor()
    try:
        # Never a prepared (generic) plan: one made while the table was small keeps scanning it as it grows.
        cursor.execute("SELECT EXISTS (SELECT 1 FROM reservations WHERE id = ANY(%b))", (list(ids),), prepare=False)
        return bool(cursor.fetchone()[0])
    finally:
        cursor.close()


def _id_among(conn: Connection, ids: list[str]) -> ColumnElement[bool]:
    """On PostgreSQL the ids go into the SQL as quoted literals, so the server plans each lookup for its own
    values: once the driver prepares a repeated statement, the server may switch to a generic plan, which on the
    reservation path's long-lived connection costs several times more (measured by bench/hot_sku.py).
    An id with a NUL byte stays a parameter, so the driver refuses it as bad data, as for any other value."""
    if conn.dialect.name == "postgresql" and not any("\x00" in i for i in ids):
        return reservations.c.id.in_(bindparam("ids", ids, expanding=True, literal_execute=True))
    return reservations.c.id.in_(ids)


def to_domain_reservation(row: dict[str, Any]) -> Reservation:
    return Reservation(
        id=row["id"],
        sku=row["sku"],
        warehouse=row["warehouse"],
        quantity=row["quantity"],
        stage=ReservationStage(row["stage"]),
        from_quota=row["from_quota"],
        status=ReservationStatus(row["status"]),
    )


def insert_reservations(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), 5000):  # thousands at a time on allocation runs: straight to the driver
        bulk.insert(conn, reservations, rows[start : start + 5000])


def update_reservations(conn: Connection, changes: Sequence[dict[str, Any]]) -> None:
    """Each change: id plus the new status, stage, ended_at and ended_by."""
    if not changes:
        return
    statement = (
        update(reservations)
        .where(reservations.c.id == bindparam("k_id"))
        .values(
            status=bindparam("v_status"),
            stage=bindparam("v_stage"),
            ended_at=bindparam("v_ended_at"),
            ended_by=bindparam("v_ended_by"),
        )
    )
    conn.execute(
        statement,
        [
            {
                "k_id": c["id"],
                "v_status": c["status"],
                "v_stage": c["stage"],
                "v_ended_at": c["ended_at"],
                "v_ended_by": c["ended_by"],
            }
            for c in changes
        ],
    )


def expired_reservation_ids(conn: Connection, now: datetime, limit: int) -> list[str]:
    rows = conn.execute(
        select(reservations.c.id)
        .where(reservations.c.status == ReservationStatus.PENDING.value, reservations.c.expires_at < now)
        .order_by(reservations.c.expires_at, reservations.c.id)
        .limit(limit)
    ).scalars()
    return list(rows)


def ledger_discrepancies(conn: Connection) -> list[dict[str, Any]]:
    """Positions whose counters disagree with the sum of their movements or pending reservations."""
    moved = (
        select(
            movements.c.sku_id,
            movements.c.warehouse_id,
            func.sum(_bucket_sum("on_hand")).label("on_hand"),
            func.sum(_bucket_sum("damaged")).label("damaged"),
            func.sum(_bucket_sum("in_transit_purchase")).label("in_transit_purchase"),
            func.sum(_bucket_sum("in_transit_transfer")).label("in_transit_transfer"),
        )
        .group_by(movements.c.sku_id, movements.c.warehouse_id)
        .subquery()
    )
    held = (
        select(
            reservations.c.sku_id,
            reservations.c.warehouse_id,
            func.sum(reservations.c.quantity).label("reserved"),
        )
        .where(reservations.c.status == ReservationStatus.PENDING.value)
        .group_by(reservations.c.sku_id, reservations.c.warehouse_id)
        .subquery()
    )
    p = stock_positions.c
    rows = conn.execute(
        select(
            skus.c.code.label("sku"),
            warehouses.c.code.label("warehouse"),
            p.on_hand,
            p.damaged,
            p.reserved,
            p.in_transit_purchase,
            p.in_transit_transfer,
            p.presale_booked,
            p.awaiting_review,
            p.awaiting_shipment,
            func.coalesce(moved.c.on_hand, 0).label("moved_on_hand"),
            func.coalesce(moved.c.damaged, 0).label("moved_damaged"),
            func.coalesce(moved.c.in_transit_purchase, 0).label("moved_in_transit_purchase"),
            func.coalesce(moved.c.in_transit_transfer, 0).label("moved_in_transit_transfer"),
            func.coalesce(held.c.reserved, 0).label("held"),
        )
        .select_from(stock_positions)
        .join(skus, skus.c.id == p.sku_id)
        .join(warehouses, warehouses.c.id == p.warehouse_id)
        .outerjoin(moved, and_(moved.c.sku_id == p.sku_id, moved.c.warehouse_id == p.warehouse_id))
        .outerjoin(held, and_(held.c.sku_id == p.sku_id, held.c.warehouse_id == p.warehouse_id))
    ).mappings()
    problems = []
    for row in rows:
        checks = {
            "on_hand": (row["on_hand"], row["moved_on_hand"]),
            "damaged": (row["damaged"], row["moved_damaged"]),
            "in_transit_purchase": (row["in_transit_purchase"], row["moved_in_transit_purchase"]),
            "in_transit_transfer": (row["in_transit_transfer"], row["moved_in_transit_transfer"]),
            "reserved": (row["reserved"], row["held"]),
            "reserved_by_stage": (
                row["reserved"],
                row["presale_booked"] + row["awaiting_review"] + row["awaiting_shipment"],
            ),
        }
        for counter, (kept, derived) in checks.items():
            if kept != derived:
                problems.append(
                    {
                        "sku": row["sku"],
                        "warehouse": row["warehouse"],
                        "counter": counter,
                        "kept": int(kept),
                        "derived": int(derived),
                    }
                )
    return problems + _bin_discrepancies(conn)


def _bin_discrepancies(conn: Connection) -> list[dict[str, Any]]:
    """Bins whose balance disagrees with the on-hand and damaged movements posted to them, or whose movements
    went into the wrong bucket for the bin (on_hand into a non-sellable bin, damaged into a sellable one)."""
    moved = (
        select(
            movements.c.sku_id,
            movements.c.warehouse_id,
            movements.c.bin_id,
            func.sum(movements.c.quantity).label("moved"),
        )
        .where(movements.c.bucket.in_([b.value for b in BIN_BUCKETS]))
        .group_by(movements.c.sku_id, movements.c.warehouse_id, movements.c.bin_id)
        .subquery()
    )
    rows = conn.execute(
        select(
            skus.c.code,
            warehouses.c.code,
            bins.c.code,
            func.coalesce(bin_stock.c.on_hand, 0),
            func.coalesce(moved.c.moved, 0),
        )
        .select_from(moved)
        .outerjoin(
            bin_stock,
            and_(
                bin_stock.c.sku_id == moved.c.sku_id,
                bin_stock.c.warehouse_id == moved.c.warehouse_id,
                bin_stock.c.bin_id == moved.c.bin_id,
            ),
        )
        .join(skus, skus.c.id == moved.c.sku_id)
        .join(warehouses, warehouses.c.id == moved.c.warehouse_id)
        .join(bins, bins.c.id == moved.c.bin_id)
        .where(func.coalesce(bin_stock.c.on_hand, 0) != func.coalesce(moved.c.moved, 0))
    ).all()
    return [
        {"sku": sku, "warehouse": wh, "counter": f"bin {bin_code}", "kept": int(kept), "derived": int(derived)}
        for sku, wh, bin_code, kept, derived in rows
    ] + _misfiled_movements(conn)


def _misfiled_movements(conn: Connection) -> list[dict[str, Any]]:
    """Units a bin holds must all count in its bucket: per bin, the movement units in the other bucket."""
    wrong = case(
        (and_(bins.c.sellable.is_(True), movements.c.bucket == Bucket.DAMAGED.value), movements.c.quantity),
        (and_(bins.c.sellable.is_(False), movements.c.bucket == Bucket.ON_HAND.value), movements.c.quantity),
        else_=0,
    )
    rows = conn.execute(
        select(skus.c.code, warehouses.c.code, bins.c.code, bins.c.sellable, func.sum(wrong))
        .select_from(movements)
        .join(bins, bins.c.id == movements.c.bin_id)
        .join(skus, skus.c.id == movements.c.sku_id)
        .join(warehouses, warehouses.c.id == movements.c.warehouse_id)
        .where(movements.c.bucket.in_([b.value for b in BIN_BUCKETS]))
        .group_by(skus.c.code, warehouses.c.code, bins.c.code, bins.c.sellable)
        .having(func.sum(func.abs(wrong)) != 0)
    ).all()
    return [
        {
            "sku": sku,
            "warehouse": wh,
            "counter": f"bin {bin_code} {'damaged' if sellable else 'on_hand'} movements",
            "kept": 0,
            "derived": int(moved),
        }
        for sku, wh, bin_code, sellable, moved in rows
    ]


def _bucket_sum(bucket: str):
    return case((movements.c.bucket == bucket, movements.c.quantity), else_=0)
