"""Fulfilment runs (配货/分仓/拆合单): approved orders become parcels, in batches.

One batch is one transaction: load the orders (row-locked, SKIP LOCKED so parallel workers take different
orders), their lines, what they already hold, the shop's policy and the rule tables; lock the stock positions
they may draw on (one sorted lock); decide everything in memory (domain.fulfilment); then write positions,
reservations, parcels, parcel lines and the orders' outcome with one statement per kind of row."""

from __future__ import annotations

from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters.db import audit_repo, order_lock_repo, read_replay, statistics, stock_repo
from presale_erp.adapters.db import fulfilment_repo as repo
from presale_erp.adapters.db.unit_of_work import BatchWriter, Database, UnitOfWork
from presale_erp.domain.access import Actor
from presale_erp.domain.fulfilment.carriers import CarrierRule, Rate, cheapest, choose_carrier
from presale_erp.domain.fulfilment.gifts import GiftKind, GiftRule
from presale_erp.domain.fulfilment.merge import names_buyer_and_address
from presale_erp.domain.fulfilment.model import (
    Allocated,
    FulfilmentPolicy,
    Line,
    Parcel,
    ParcelLine,
    QueueOrder,
    ShipOrder,
    Strategy,
    Waiting,
    Warehouse,
)
from presale_erp.domain.fulfilment.plan import Catalogue, fulfil
from presale_erp.domain.ledger import Reservation, ReservationRequest, ReservationStage
from presale_erp.domain.orders import PresaleType
from presale_erp.services.order_locks import allocation_reservation_id

# The tables a batch reads, with the columns it looks them up by (none: all), for the planner's statistics.
READS: dict[str, tuple[str, ...]] = {
    "orders": ("id", "shop_id", "status", "review_status", "fulfilment_status", "preorder_status", "mixed_presale"),
    "order_lines": ("order_id", "line_no", "sku_id", "refunded"),
    "reservations": (),
    "parcels": (),
    "parcel_lines": (),
}
UNMATCHED = "商品未匹配 (a line's platform SKU code matches none of ours): "


@dataclass
class AllocationReport:
    considered: int = 0
    allocated: int = 0
    waiting: int = 0
    parcels: int = 0
    merged_into_open: int = 0
    gifts: int = 0
    reasons: dict[str, int] = field(default_factory=dict)  # waiting reason (first words) -> orders


def allocate(
    db: Database, actor: Actor, *, now: datetime, batch: int = 1000, shop_id: int | None = None
) -> AllocationReport:
    """Allocate the approved orders waiting for it, `batch` at a time in id order, until none is left to try.

    On PostgreSQL each batch is written and committed by a thread of its own while the next one is read and
    decided: the write mostly waits for the server. The next batch cannot lock the stock positions the batch in
    flight is writing, so it is decided on the counters that batch will leave, and its own write changes each
    position only where it still holds them (compare and set): a position someone else changed meanwhile fails
    the write instead of being overwritten. A batch whose buyers the one in flight may be making parcels for,
    or that could merge into a parcel already open, waits for it and is decided on locked rows: merging locks
    parcels, and every writer locks stock positions before parcels. Should a write fail, for whatever reason, the batch
    decided after it is dropped unwritten and the failed one is decided again on locked rows; an error that
    persists there stops the run with nothing of that batch saved, as without the overlap.

    On SQLite, whose one write lock intake and review need too, a batch is read and decided before the run takes
    the lock, and written as decided only if nothing it read has changed since (`_Run._send_checked`)."""
    return _Run(db, actor, now, batch, shop_id).run()


class _NotLanded(Exception):
    """The batch in flight was decided ahead and its write failed: decide it again on locked rows."""


class _Run:
    def __init__(self, db: Database, actor: Actor, now: datetime, batch: int, shop_id: int | None) -> None:
        self.db, self.actor, self.now, self.batch, self.shop_id = db, actor, now, batch, shop_id
        self.report = AllocationReport()
        # Deciding ahead of the write in flight is PostgreSQL's: SQLite writes in this process, one batch at a time.
        self.remembered = stock_repo.RememberedPositions() if db.engine.dialect.name == "postgresql" else None
        # SQLite has one write lock for the whole database. A batch decided on locked rows would hold it while it
        # reads and decides (most of its time), and intake and review, running beside it on a peak night, could
        # write nothing meanwhile. So there a batch is read and decided first, outside the lock (_send_checked).
        self.decide_before_lock = db.engine.dialect.name == "sqlite"
        self.after_id = 0
        self.in_flight: _Decided | None = None

    def run(self) -> AllocationReport:
        with self.db.batch_writer("allocation") as writer:
            while True:
                statistics.refresh_if_grown(self.db, READS)  # a peak night outgrows the planner's numbers
                try:
                    if not self._send_next(writer):
                        return self.report
                except _NotLanded:
                    failed, self.in_flight = self.in_flight, None
                    assert failed is not None and self.remembered is not None
                    self.remembered.clear()
                    self.after_id = failed.after_id

    def _send_next(self, writer: BatchWriter) -> bool:
        """Read, decide and send one batch to the writer; False once no order is left to try."""
        if self.decide_before_lock:
            return self._send_checked(writer)
        with ExitStack() as owned:
            uow = owned.enter_context(self.db.uow())
            rows = repo.candidates(uow.conn, after_id=self.after_id, limit=self.batch, shop_id=self.shop_id)
            if not rows:
                self._land(writer)
                return False
            shops = _shops(uow.conn, {r["shop_id"] for r in rows})
            ahead = self._may_decide_ahead(uow.conn, rows, shops)
            if not ahead:
                self._land(writer)
            decided = _decide_batch(uow.conn, rows, shops, self.actor, self.now, self.remembered if ahead else None)
            decided.after_id = self.after_id
            self._land(writer)
            if self.remembered is not None:  # what the next batch builds on: this one's changes, once it lands
                self.remembered.clear()
                self.remembered.remember_changes(decided.stock)
            self.after_id, self.in_flight = rows[-1]["id"], decided
            writer.write(_commit, owned.pop_all(), uow, decided)  # the writer's now: it commits and closes it
        return True

    def _send_checked(self, writer: BatchWriter) -> bool:
        """Read and decide a batch without the write lock, then take it. If nobody has written since the batch
        was read, the decision is written as it is. Otherwise what the decision read is read again under the
        lock, raw (read_replay): if it is all as it was, the decision stands (made again, it would be the
        same); if anything differs (an order changed, stock moved, another worker took some orders), it is made
        again on what is there now. Either way, what is written was decided on rows as they stand under the
        lock."""
        with ExitStack() as owned:
            uow = owned.enter_context(self.db.uow(write=False))
            # Bounded by its last order, the batch stays the same batch when more orders become candidates.
            up_to = repo.batch_end(uow.conn, after_id=self.after_id, limit=self.batch, shop_id=self.shop_id)
            if up_to is None:
                self._land(writer)
                return False
            with read_replay.recording(uow.conn) as reads:
                seen = self._read_up_to(uow, up_to)
            assert seen is not None  # the batch's end is one of them, read in the same snapshot
            decided = _decide(seen, self.actor, self.now)
            self._land(writer)
            if uow.start_writing():
                self.after_id, self.in_flight = up_to, decided
                writer.write(_commit, owned.pop_all(), uow, decided)
                return True
            as_read = read_replay.rows_now(uow.conn, reads)  # still in the snapshot the batch was decided on
        with ExitStack() as owned:
            uow = owned.enter_context(self.db.uow())
            if read_replay.rows_now(uow.conn, reads) != as_read:
                now_seen = self._read_up_to(uow, up_to)
                if now_seen is None:
                    self.after_id = up_to
                    return True
                # more orders may have become candidates among these than one batch takes: the rest come next
                up_to = up_to if len(now_seen.rows) < self.batch else now_seen.rows[-1]["id"]
                decided = _decide(now_seen, self.actor, self.now)
            self.after_id, self.in_flight = up_to, decided
            writer.write(_commit, owned.pop_all(), uow, decided)
        return True

    def _read_up_to(self, uow: UnitOfWork, up_to: int) -> _Batch | None:
        """The batch of candidates up to `up_to` and all its decision reads, on rows as they are (None: none)."""
        rows = repo.candidates(uow.conn, after_id=self.after_id, limit=self.batch, shop_id=self.shop_id, up_to=up_to)
        if not rows:
            return None
        return _load(uow.conn, rows, _shops(uow.conn, {r["shop_id"] for r in rows}), self.now, None)

    def _may_decide_ahead(self, conn: Connection, rows: list[dict[str, Any]], shops: dict[int, dict[str, Any]]) -> bool:
        """Ahead of the batch in flight, unless a parcel this batch could merge with is open (merging locks it,
        and every writer locks stock positions before parcels, which deciding ahead could not keep to: it
        locks positions at the write), or may be being made by the batch in flight (it is not there to see)."""
        if self.in_flight is None or self.remembered is None:
            return False
        buyers = _may_merge_with_stored(rows, shops)
        return buyers.isdisjoint(self.in_flight.buyers) and not repo.any_open_parcels(conn, buyers)

    def _land(self, writer: BatchWriter) -> None:
        """Wait for the batch in flight and count it. A failed write decided ahead is decided again (_NotLanded);
        one decided on locked rows failed for a reason of its own, which stops the run."""
        try:
            writer.wait()
        except Exception as error:
            if self.in_flight is not None and self.in_flight.ahead:
                raise _NotLanded from error
            raise
        if self.in_flight is not None:
            self.in_flight.count(self.report)
            self.in_flight = None


def _commit(owned: ExitStack, uow: UnitOfWork, decided: _Decided) -> None:
    with owned:
        decided.write(uow.conn)
        uow.commit()


def _decide_batch(
    conn: Connection,
    rows: list[dict[str, Any]],
    shops: dict[int, dict[str, Any]],
    actor: Actor,
    now: datetime,
    remembered: stock_repo.RememberedPositions | None,
) -> _Decided:
    """Everything a batch does, decided in memory: on locked positions, or on `remembered` counters (ahead)."""
    with statistics.planned_for_values(conn):
        batch = _load(conn, rows, shops, now, remembered)
    return _decide(batch, actor, now, ahead=remembered is not None)


def _decide(batch: _Batch, actor: Actor, now: datetime, *, ahead: bool = False) -> _Decided:
    outcome: dict[int, dict[str, Any]] = {}
    writes = _Writes()
    for shop_id in sorted(batch.shops):
        _allocate_shop(batch, shop_id, outcome, writes, actor, now)
    return _Decided(batch.rows, batch.locked, ahead, writes, outcome, actor, now)


@dataclass
class _Decided:
    """A batch decided and not yet written: its rows, and what the write and the report will take from it."""

    rows: list[dict[str, Any]]
    stock: stock_repo.LockedStock
    ahead: bool  # decided on remembered counters: positions are written only where they still hold them
    writes: _Writes
    outcome: dict[int, dict[str, Any]]
    actor: Actor
    now: datetime
    after_id: int = 0  # where its candidates were read from, to read them again should the write fail

    @property
    def buyers(self) -> set[tuple[int, str]]:
        return {(r["shop_id"], r["buyer_index"]) for r in self.rows}

    def write(self, conn: Connection) -> None:
        if self.ahead:
            stock_repo.save_if_unchanged(conn, self.stock, self.now)
        else:
            stock_repo.save(conn, self.stock, {}, self.now)
        self.writes.flush(conn)
        repo.mark_orders(conn, [self.outcome[i] for i in sorted(self.outcome)])
        repo.add_gifts_given(conn, self.writes.gifts_given)
        audit_repo.record(
            conn,
            actor=self.actor.label,
            action="fulfilment.allocate",
            entity="orders",
            entity_id=f"{self.rows[0]['id']}..{self.rows[-1]['id']}",
            at=self.now,
            details={
                "orders": len(self.rows),
                "allocated": self.writes.allocated,
                "parcels": len(self.writes.new_parcels),
            },
        )

    def count(self, report: AllocationReport) -> None:
        _count(report, self.outcome, self.writes)


@dataclass
class _Batch:
    """Everything one batch decides on, loaded (and the stock positions locked) before any decision."""

    rows: list[dict[str, Any]]
    row_of: dict[int, dict[str, Any]]
    shops: dict[int, dict[str, Any]]
    lines: dict[int, list[dict[str, Any]]]
    warehouses: list[dict[str, Any]]
    wh_code: dict[int, str]
    wh_ids: dict[str, int]
    skus: dict[int, tuple[str, int, int]]
    sku_ids: dict[str, int]
    gift_rows: list[dict[str, Any]]
    given: dict[int, int]
    held: dict[int, list[Reservation]]
    locked: Any
    free: dict[tuple[str, str], int]
    open_rows: list[dict[str, Any]]
    rates: list[Rate]
    carrier_rules: dict[int, list[dict[str, Any]]]
    pins: dict[int, dict[int, set[int]]]
    price: Any


def _load(
    conn: Connection,
    rows: list[dict[str, Any]],
    shops: dict[int, dict[str, Any]],
    now: datetime,
    remembered: stock_repo.RememberedPositions | None,
) -> _Batch:
    shop_ids = set(shops)
    lines = repo.lines_of(conn, [r["id"] for r in rows])
    warehouses = repo.active_warehouses(conn)
    gift_rows = repo.gift_rules_of(conn, shop_ids)
    given = repo.lock_gift_rules(conn, [g["id"] for g in gift_rows if g["gift_limit"] is not None])
    in_parcels = repo.reservations_in_parcels(conn, [r["id"] for r in rows])  # lines that went out already
    held_rows = [
        h
        for h in repo.pending_reservations(conn, [(r["shop_id"], r["platform_order_id"]) for r in rows])
        if h["id"] not in in_parcels
    ]
    skus = repo.sku_facts(
        conn,
        {line["sku_id"] for ls in lines.values() for line in ls if line["sku_id"]}
        | {g["gift_sku_id"] for g in gift_rows}
        | {g["trigger_sku_id"] for g in gift_rows if g["trigger_sku_id"]}
        | {h["sku_id"] for h in held_rows},
    )
    sku_ids = {code: sku_id for sku_id, (code, _, _) in skus.items()}
    wh_ids = {w["code"]: w["id"] for w in warehouses} | _codes_of(conn, {h["warehouse_id"] for h in held_rows})
    wh_code = {v: k for k, v in wh_ids.items()}
    keys = {(code, wh) for code in sku_ids for wh in wh_code.values()}
    if remembered is None:
        locked = stock_repo.lock_positions(conn, keys, sku_ids, wh_ids, create_missing=False, now=now)
    else:
        locked = remembered.stock_ahead(conn, keys, sku_ids, wh_ids)
    by_ref = {(r["shop_id"], r["platform_order_id"]): r["id"] for r in rows}
    held: dict[int, list[Reservation]] = defaultdict(list)
    for h in held_rows:
        named = h | {"sku": skus[h["sku_id"]][0], "warehouse": wh_code[h["warehouse_id"]]}
        held[by_ref[(h["shop_id"], h["order_ref"])]].append(stock_repo.to_domain_reservation(named))
    rates = [_rate(r, wh_code) for r in repo.rates(conn)]
    return _Batch(
        rows=rows,
        row_of={r["id"]: r for r in rows},
        shops=shops,
        lines=lines,
        warehouses=warehouses,
        wh_code=wh_code,
        wh_ids=wh_ids,
        skus=skus,
        sku_ids=sku_ids,
        gift_rows=gift_rows,
        given=given,
        held=held,
        locked=locked,
        free={key: p.on_hand - p.reserved for key, p in locked.book.positions.items()},
        # Ahead of the batch in flight, only when none was open (_may_decide_ahead): no parcel is locked before
        # the positions are. One committed since is as one another worker makes at the same moment: not merged.
        open_rows=repo.open_parcels_for(conn, _may_merge_with_stored(rows, shops)) if remembered is None else [],
        rates=rates,
        carrier_rules=repo.carrier_rules_of(conn, shop_ids),
        pins=repo.pins(conn, shop_ids),
        # The same warehouse, province and weight come up thousands of times a batch: price each once.
        price=lru_cache(maxsize=65536)(lambda wh, province, grams: cheapest(rates, wh, province, grams)),
    )


def _may_merge_with_stored(rows: list[dict[str, Any]], shops: dict[int, dict[str, Any]]) -> set[tuple[int, str]]:
    """The (shop, buyer) pairs whose open parcels a new parcel might join: none for a buyer or address the
    merge cannot name, nor in a shop that does not merge, so those parcels are not read."""
    return {
        (r["shop_id"], r["buyer_index"])
        for r in rows
        if names_buyer_and_address(r["buyer_index"], r["address_index"]) and shops[r["shop_id"]]["policy"].merge
    }


def _allocate_shop(b: _Batch, shop_id: int, outcome: dict, writes: _Writes, actor: Actor, now: datetime) -> None:
    shop = b.shops[shop_id]
    orders, waiting, later = _ship_orders(
        [r for r in b.rows if r["shop_id"] == shop_id], b.lines, b.skus, shop["policy"], now
    )
    outcome |= {order_id: _mark(b.row_of[order_id], "waiting", reason) for order_id, reason in waiting.items()}
    held_now = {o.id: _for_lines(b.held.get(o.id, []), {line.line_no for line in o.lines}) for o in orders}
    catalogue = Catalogue(
        warehouses=[Warehouse(w["code"], w["kind"], w["covers"]) for w in b.warehouses],
        pins={
            b.skus[sku_id][0]: frozenset(b.wh_code[w] for w in whs) for sku_id, whs in b.pins.get(shop_id, {}).items()
        },
        cost=b.price,
        gift_rules=[_gift(g, b.skus, b.given) for g in b.gift_rows if g["shop_id"] == shop_id],
        weight_grams={code: b.skus[i][1] for code, i in b.sku_ids.items()},
        volume_cm3={code: b.skus[i][2] for code, i in b.sku_ids.items()},
    )
    run = fulfil(
        orders,
        b.free,
        catalogue,
        shop["policy"],
        now,
        open_parcels=[_stored_parcel(p, b.wh_code) for p in b.open_rows if p["shop_id"] == shop_id],
        held={o.id: _held_units(held_now[o.id]) for o in orders},
    )
    rules = tuple(_carrier_rule(r, b.wh_code) for r in b.carrier_rules.get(shop_id, []))
    carrier_for = lru_cache(maxsize=65536)(
        lambda grams, wh, province: choose_carrier(grams, wh, province, rules, b.rates)
    )
    for order in orders:
        decision = run.decisions[order.id]
        row = b.row_of[order.id]
        if isinstance(decision, Waiting):
            outcome[order.id] = _mark(row, "waiting", decision.reason)
            continue
        writes.reserve(b.locked, shop, row, decision, held_now[order.id], actor, now)
        if order.id in later:
            note = f"现货已配, 预售商品 {later[order.id]:%Y-%m-%d} 后发 (presale lines ship from their date)"
            outcome[order.id] = _mark(row, "partial", "; ".join([note, *decision.notes]), bump=True)
        else:
            outcome[order.id] = _mark(row, "allocated", "; ".join(decision.notes), bump=True)
    writes.parcels(run.parcels, b.rows, shop_id, carrier_for, b.wh_ids, b.sku_ids, now)


@dataclass
class _Writes:
    new_reservations: list[dict[str, Any]] = field(default_factory=list)
    ended_reservations: list[dict[str, Any]] = field(default_factory=list)
    new_parcels: list[dict[str, Any]] = field(default_factory=list)
    changed_parcels: list[dict[str, Any]] = field(default_factory=list)
    parcel_lines: list[dict[str, Any]] = field(default_factory=list)
    reservation_of: dict[tuple[int, int], str] = field(default_factory=dict)
    gifts_given: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    allocated: int = 0

    def reserve(self, locked, shop, row, decision: Allocated, own: list[Reservation], actor: Actor, now) -> None:
        """Give back what the order held and reserve what it ships, on the locked book (every line or none)."""
        for reservation in own:
            locked.book.release(reservation)
            self.ended_reservations.append(
                {"id": reservation.id, "status": "voided", "stage": reservation.stage.value, "ended_at": now}
                | {"ended_by": actor.label}
            )
        round_no = row["allocation_round"] + 1
        lines = {line.line_no: line for parcel in decision.parcels for line in parcel.lines}
        requests = [
            ReservationRequest(
                allocation_reservation_id(shop["code"], row["platform_order_id"], line_no, round_no),
                lines[line_no].sku,
                warehouse,
                sum(pl.quantity for p in decision.parcels for pl in p.lines if pl.line_no == line_no),
                ReservationStage.AWAITING_SHIPMENT,
            )
            for line_no, warehouse in sorted(decision.warehouse_of_line.items())
        ]
        made = locked.book.reserve_all(requests)  # the plan was made on this book's numbers: it fits
        for r in made:
            self.reservation_of[(row["id"], int(r.id.rsplit(":", 2)[1]))] = r.id
        self.new_reservations += [
            {
                "id": r.id,
                "sku_id": locked.sku_ids[r.sku],
                "warehouse_id": locked.warehouse_ids[r.warehouse],
                "shop_id": row["shop_id"],
                "order_ref": row["platform_order_id"],
                "quantity": r.quantity,
                "from_quota": r.from_quota,
                "stage": r.stage.value,
                "status": r.status.value,
                "expires_at": None,
                "created_at": now,
                "created_by": actor.label,
                "ended_at": None,
                "ended_by": None,
            }
            for r in made
        ]
        self.allocated += 1

    def parcels(self, parcels: list[Parcel], rows, shop_id, carrier_for, wh_ids, sku_ids, now) -> None:
        rounds = {r["id"]: r["allocation_round"] + 1 for r in rows}
        numbered: dict[int, int] = defaultdict(int)
        for parcel in parcels:
            new_lines = [pl for pl in parcel.lines if (pl.order_id, pl.line_no) in self.reservation_of]
            if not new_lines:
                continue  # a stored parcel nothing was added to
            choice = carrier_for(parcel.weight_grams, parcel.warehouse, parcel.province)
            if isinstance(choice, Waiting):
                carrier = {"carrier": None, "shipping_cost": None, "carrier_reason": choice.reason}
            else:
                carrier = {"carrier": choice.carrier, "shipping_cost": choice.cost, "carrier_reason": ""}
            row = {
                "weight_grams": parcel.weight_grams,
                "volume_cm3": parcel.volume_cm3,
                "ship_after": parcel.ship_after,
                "earliest_paid_at": parcel.earliest_paid_at,
                "latest_paid_at": parcel.latest_paid_at,
                "presale": parcel.presale,
                "reason": parcel.reason[:300],
                "updated_at": now,
                **carrier,
            }
            if parcel.code is None:
                first = parcel.lines[0].order_id
                numbered[first] += 1
                parcel.code = f"P{first}-{rounds[first]}-{numbered[first]}"
                self.new_parcels.append(_new_parcel(parcel, shop_id, wh_ids, now) | row)
            else:
                self.changed_parcels.append({"code": parcel.code, **row})
            self.parcel_lines += [
                {
                    "parcel_code": parcel.code,
                    "order_id": pl.order_id,
                    "line_no": pl.line_no,
                    "shop_id": shop_id,
                    "sku_id": sku_ids[pl.sku],
                    "quantity": pl.quantity,
                    "gift_rule_id": pl.gift_rule,
                    "reservation_id": self.reservation_of[(pl.order_id, pl.line_no)],
                }
                for pl in new_lines
            ]
            for pl in new_lines:
                if pl.gift_rule is not None:
                    self.gifts_given[pl.gift_rule] += pl.quantity

    def flush(self, conn: Connection) -> None:
        stock_repo.update_reservations(conn, self.ended_reservations)
        stock_repo.insert_reservations(conn, self.new_reservations)
        repo.insert_parcels(conn, self.new_parcels)
        repo.update_parcels(conn, self.changed_parcels)
        repo.insert_parcel_lines(conn, _merge_split_lines(self.parcel_lines))


def _merge_split_lines(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A line split by weight sits in two parcels (two rows); the same line twice in one parcel is one row."""
    merged: dict[tuple[str, int, int], dict[str, Any]] = {}
    for row in rows:
        key = (row["parcel_code"], row["order_id"], row["line_no"])
        if key in merged:
            merged[key]["quantity"] += row["quantity"]
        else:
            merged[key] = dict(row)
    return list(merged.values())


def _new_parcel(parcel: Parcel, shop_id: int, wh_ids: dict[str, int], now: datetime) -> dict[str, Any]:
    return {
        "code": parcel.code,
        "shop_id": shop_id,
        "warehouse_id": wh_ids[parcel.warehouse],
        "status": repo.OPEN,
        "buyer_index": parcel.buyer_index,
        "address_index": parcel.address_index,
        "province": parcel.province,
        "mergeable": parcel.mergeable,
        "tracking_no": None,
        "created_at": now,
    }


def _ship_orders(
    rows, lines, skus, policy: FulfilmentPolicy, now: datetime
) -> tuple[list[ShipOrder], dict[int, str], dict[int, datetime]]:
    """The batch as the domain sees it, with the lines that may ship now; orders with a line we cannot name
    wait, saying which. A 预订单 still waiting for its presale goods ships its in-stock lines now if the shop
    ships in-stock goods first (现货先发); `later` says when the rest may go."""
    ready: list[ShipOrder] = []
    waiting: dict[int, str] = {}
    later: dict[int, datetime] = {}
    for row in rows:
        own = lines[row["id"]]
        unmatched = [line["sku_code"] or "?" for line in own if line["sku_id"] is None]
        if unmatched or not own:
            waiting[row["id"]] = UNMATCHED + ", ".join(unmatched) if unmatched else "没有可发的商品行 (nothing to ship)"
            continue
        future = [line for line in own if line["presale"] and line["planned_ship_at"] and line["planned_ship_at"] > now]
        if future and row["preorder_status"] == "waiting":
            if not policy.ship_in_stock_first:
                waiting[row["id"]] = "整单等预售商品一起发 (the shop ships the whole order on the presale date)"
                continue
            own = [line for line in own if line not in future]
            if not own:
                waiting[row["id"]] = "预售商品待发货日 (presale goods wait for their ship date)"
                continue
            later[row["id"]] = max(line["planned_ship_at"] for line in future)
        ready.append(
            ShipOrder(
                id=row["id"],
                shop_id=row["shop_id"],
                province=row["province"],
                buyer_index=row["buyer_index"],
                address_index=row["address_index"],
                paid_at=row["paid_at"] or row["platform_created_at"],
                lines=[
                    Line(
                        line["line_no"],
                        skus[line["sku_id"]][0],
                        line["quantity"],
                        skus[line["sku_id"]][1],
                        skus[line["sku_id"]][2],
                        line["presale"],
                        line["planned_ship_at"],
                    )
                    for line in own
                ],
                amount=row["total_amount"],
                # A deposit presale's order is created when the deposit is paid (定金): that is its place in line.
                deposit_paid_at=row["platform_created_at"] if row["presale_type"] != PresaleType.NONE.value else None,
                priority=row["priority"],
                cash_on_delivery=row["cash_on_delivery"],
                separate_parcels=row["separate_parcels"],
                presale=row["presale_type"] != PresaleType.NONE.value or any(line["presale"] for line in own),
            )
        )
    return ready, waiting, later


def _line_of(reservation_id: str) -> int | None:
    """The order line a lock (shop:order:line) or an allocation (shop:order:line:aN) is for."""
    parts = reservation_id.rsplit(":", 2)
    tail = parts[-2] if parts[-1].startswith("a") else parts[-1]
    return int(tail) if tail.isdigit() else None


def _for_lines(held: list[Reservation], line_nos: set[int]) -> list[Reservation]:
    """What the order holds for the lines being allocated now (the rest keep their locks)."""
    return [r for r in held if _line_of(r.id) in line_nos or _line_of(r.id) is None]


def _mark(row: dict[str, Any], status: str, reason: str, *, bump: bool = False) -> dict[str, Any]:
    return {
        "id": row["id"],
        "fulfilment_status": status,
        "fulfilment_reason": reason[:600],
        "allocation_round": row["allocation_round"] + (1 if bump else 0),
    }


def _count(report: AllocationReport, outcome: dict[int, dict[str, Any]], writes: _Writes) -> None:
    report.considered += len(outcome)
    for row in outcome.values():
        if row["fulfilment_status"] in ("allocated", "partial"):
            report.allocated += 1
        else:
            report.waiting += 1
            head = row["fulfilment_reason"].split(" ", 1)[0]
            report.reasons[head] = report.reasons.get(head, 0) + 1
    report.parcels += len(writes.new_parcels)
    report.merged_into_open += len(writes.changed_parcels)
    report.gifts += sum(writes.gifts_given.values())


def _held_units(own: list[Reservation]) -> dict[tuple[str, str], int]:
    units: dict[tuple[str, str], int] = defaultdict(int)
    for r in own:
        units[(r.sku, r.warehouse)] += r.quantity
    return dict(units)


def _stored_parcel(row: dict[str, Any], wh_code: dict[int, str]) -> Parcel:
    return Parcel(
        warehouse=wh_code[row["warehouse_id"]],
        shop_id=row["shop_id"],
        buyer_index=row["buyer_index"],
        address_index=row["address_index"],
        province=row["province"],
        ship_after=row["ship_after"],
        lines=[
            ParcelLine(line["order_id"], line["line_no"], line["sku"], line["quantity"], line["gift_rule_id"])
            for line in row["lines"]
        ],
        weight_grams=row["weight_grams"],
        volume_cm3=row["volume_cm3"],
        earliest_paid_at=row["earliest_paid_at"],
        latest_paid_at=row["latest_paid_at"],
        mergeable=row["mergeable"],
        presale=row["presale"],
        reason=row["reason"],
        code=row["code"],
    )


def _rate(row: dict[str, Any], wh_code: dict[int, str]) -> Rate:
    return Rate(
        row["carrier"],
        row["first_weight_grams"],
        row["first_fee"],
        row["extra_fee_per_kg"],
        warehouse=wh_code.get(row["warehouse_id"]) if row["warehouse_id"] else None,
        province=row["province"],
    )


def _carrier_rule(row: dict[str, Any], wh_code: dict[int, str]) -> CarrierRule:
    return CarrierRule(
        row["carrier"],
        frozenset(row["provinces"]),
        frozenset(wh_code[w] for w in row["warehouse_ids"] if w in wh_code),
        row["max_weight_grams"],
        row["priority"],
    )


def _gift(row: dict[str, Any], skus, given: dict[int, int]) -> GiftRule:
    limit = row["gift_limit"]
    return GiftRule(
        id=row["id"],
        name=row["name"],
        kind=GiftKind(row["kind"]),
        gift_sku=skus[row["gift_sku_id"]][0],
        gift_quantity=row["gift_quantity"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        trigger_sku=skus[row["trigger_sku_id"]][0] if row["trigger_sku_id"] else None,
        trigger_quantity=row["trigger_quantity"],
        threshold=row["threshold"],
        repeat=row["repeat"],
        remaining=None if limit is None else max(limit - given.get(row["id"], row["gifts_given"]), 0),
        priority=100,
    )


def _shops(conn: Connection, shop_ids: set[int]) -> dict[int, dict[str, Any]]:
    codes = repo.shop_codes(conn, shop_ids)
    stored = repo.policies(conn, shop_ids)
    return {i: {"id": i, "code": codes[i], "policy": policy_from_row(stored.get(i))} for i in shop_ids}


def _codes_of(conn: Connection, warehouse_ids: set[int]) -> dict[str, int]:
    return order_lock_repo.warehouse_codes(conn, warehouse_ids)


def policy_from_row(row: dict[str, Any] | None) -> FulfilmentPolicy:
    if row is None:
        return FulfilmentPolicy()
    return FulfilmentPolicy(
        strategies=tuple(Strategy(s) for s in row["strategies"]),
        split_across_warehouses=row["split_across_warehouses"],
        ship_in_stock_first=row["ship_in_stock_first"],
        split_by_ship_date=row["split_by_ship_date"],
        max_parcel_weight_grams=row["max_parcel_weight_grams"],
        max_parcel_volume_cm3=row["max_parcel_volume_cm3"],
        merge=row["merge"],
        merge_presale=row["merge_presale"],
        merge_across_ship_dates=row["merge_across_ship_dates"],
        merge_window_hours=row["merge_window_hours"],
        merge_wait_minutes=row["merge_wait_minutes"],
        queue_order=QueueOrder(row["queue_order"]),
    )
