"""Stock use cases: post movements, reserve / release / restage, expire leases, audit the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

from presale_erp.adapters.db import audit_repo, lookups, stock_repo
from presale_erp.adapters.db.unit_of_work import Database, UnitOfWork
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import Conflict, DomainError, InvalidRequest, NotFound
from presale_erp.domain.ledger import (
    MovementKind,
    Reservation,
    ReservationRequest,
    ReservationStage,
    ReservationStatus,
    StockBook,
)
from presale_erp.domain.movements import MovementRequest, plan_lines


@dataclass(frozen=True)
class PostedMovement:
    id: str
    kind: str
    replayed: bool  # True when this id had already been posted with the same content: nothing new happened
    lines: list[dict[str, Any]]


def post_movement(
    db: Database,
    actor: Actor,
    movement_id: str,
    request: MovementRequest,
    *,
    reference: str | None,
    now: datetime,
) -> PostedMovement:
    payload = _payload(request, reference)
    with db.uow() as uow:
        conn = uow.conn
        destination = request.to_warehouse or request.warehouse
        sku_ids = lookups.sku_ids(conn, [request.sku])
        warehouse_ids = lookups.warehouse_ids(conn, {request.warehouse, destination})
        bin_keys = [(request.warehouse, request.bin)] if request.bin else []
        if request.to_bin and request.kind is MovementKind.TRANSFER:
            bin_keys.append((destination, request.to_bin))
        bin_ids = lookups.bin_ids(conn, bin_keys)
        locked = stock_repo.lock_positions(
            conn,
            {(request.sku, request.warehouse), (request.sku, destination)},
            sku_ids,
            warehouse_ids,
            create_missing=True,
            now=now,
        )
        # Checked under the position lock, so two concurrent retries of one id cannot both post.
        replay = _replay_of(conn, movement_id, payload)
        if replay:
            return replay
        stock_repo.load_bins(conn, locked, [(request.sku, wh, code) for wh, code in bin_keys])
        reservation = _reservation_to_ship(conn, request) if request.reservation_id else None
        lines = plan_lines(request, locked.book)
        if reservation:
            locked.book.consume(reservation)
        locked.book.post(lines)
        stock_repo.save(conn, locked, bin_ids, now)
        header = {
            "id": movement_id,
            "kind": request.kind.value,
            "payload": payload,
            "reference": reference,
            "reason": request.reason,
            "at": now,
            "actor": actor.label,
        }
        stock_repo.insert_movement(
            conn,
            header=header,
            lines=lines,
            locked=locked,
            bin_ids=bin_ids,
            reservation_id=request.reservation_id,
        )
        if reservation:
            _end_reservations(conn, [reservation], actor, now)
        audit_repo.record(
            conn,
            actor=actor.label,
            action=f"movement.{request.kind.value}",
            entity="movement",
            entity_id=movement_id,
            at=now,
            details=payload,
        )
        uow.commit()
        return PostedMovement(movement_id, request.kind.value, False, [_line_dict(line) for line in lines])


@dataclass(frozen=True)
class MovementItem:
    """One movement of a batch: its id (chosen by the caller), what moves, and its reference."""

    movement_id: str
    request: MovementRequest
    reference: str | None = None


def post_movements(db: Database, actor: Actor, items: Sequence[MovementItem], *, now: datetime) -> list[PostedMovement]:
    """Several movements in one transaction, all or none: one lock of every position they touch and one write of
    each kind, for batches such as a shipment confirmation's hundreds of lines (post_movement, one by one,
    would cost a transaction each). Each movement follows post_movement's rules; an id already posted with the
    same content is a replay, with other content a conflict."""
    ids = [item.movement_id for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidRequest("Each movement of a batch needs its own id; some ids repeat.")
    locks = [item.request.reservation_id for item in items if item.request.reservation_id]
    if len(set(locks)) != len(locks):
        raise InvalidRequest("A reservation is consumed by one shipment; some movements of the batch name the same.")
    if not items:
        return []
    with db.uow() as uow:
        conn = uow.conn
        requests = [item.request for item in items]
        bin_keys = sorted({key for r in requests for key in _bin_keys(r)})
        sku_ids = lookups.sku_ids(conn, sorted({r.sku for r in requests}))
        warehouse_ids = lookups.warehouse_ids(conn, {wh for r in requests for wh in (r.warehouse, _destination(r))})
        bin_ids = lookups.bin_ids(conn, bin_keys)
        positions = {(r.sku, wh) for r in requests for wh in (r.warehouse, _destination(r))}
        locked = stock_repo.lock_positions(conn, positions, sku_ids, warehouse_ids, create_missing=True, now=now)
        known = stock_repo.find_movement_requests(conn, ids)  # read under the lock, as in post_movement
        results: dict[str, PostedMovement] = {}
        for item in items:
            if item.movement_id in known:
                results[item.movement_id] = _replayed(known[item.movement_id], item)
        fresh = [item for item in items if item.movement_id not in results]
        stock_repo.load_bins(conn, locked, [(r.sku, wh, code) for r in requests for wh, code in _bin_keys(r)])
        to_ship = stock_repo.find_reservations(
            conn, [i.request.reservation_id for i in fresh if i.request.reservation_id]
        )
        posted, consumed = [], []
        for item in fresh:
            request = item.request
            reservation = _checked_reservation(request, to_ship) if request.reservation_id else None
            lines = plan_lines(request, locked.book)
            if reservation:
                locked.book.consume(reservation)
                consumed.append(reservation)
            locked.book.post(lines)
            posted.append((_header(item, actor, now), lines, request.reservation_id))
            results[item.movement_id] = PostedMovement(
                item.movement_id, request.kind.value, False, [_line_dict(line) for line in lines]
            )
        stock_repo.save(conn, locked, bin_ids, now)
        stock_repo.insert_movements(conn, posted, locked, bin_ids)
        _end_reservations(conn, consumed, actor, now)
        audit_repo.record_many(conn, [_movement_audit(header, actor) for header, _, _ in posted])
        uow.commit()
    return [results[i] for i in ids]


def _destination(request: MovementRequest) -> str:
    return request.to_warehouse or request.warehouse


def _bin_keys(request: MovementRequest) -> list[tuple[str, str]]:
    keys = [(request.warehouse, request.bin)] if request.bin else []
    if request.to_bin and request.kind is MovementKind.TRANSFER:
        keys.append((_destination(request), request.to_bin))
    return keys


def _header(item: MovementItem, actor: Actor, now: datetime) -> dict[str, Any]:
    return {
        "id": item.movement_id,
        "kind": item.request.kind.value,
        "payload": _payload(item.request, item.reference),
        "reference": item.reference,
        "reason": item.request.reason,
        "at": now,
        "actor": actor.label,
    }


def _movement_audit(header: dict[str, Any], actor: Actor) -> dict[str, Any]:
    return {
        "actor": actor.label,
        "action": f"movement.{header['kind']}",
        "entity": "movement",
        "entity_id": header["id"],
        "at": header["at"],
        "details": header["payload"],
    }


def _replayed(existing: dict[str, Any], item: MovementItem) -> PostedMovement:
    if existing["payload"] != _payload(item.request, item.reference):
        raise Conflict(
            f"Movement id {item.movement_id} was already used for a different movement; use a new id for a new "
            "movement."
        )
    return PostedMovement(item.movement_id, existing["kind"], True, [])


def _payload(request: MovementRequest, reference: str | None) -> dict[str, Any]:
    data = {k: (v.value if isinstance(v, MovementKind) else v) for k, v in asdict(request).items()}
    data["reference"] = reference
    return data


def _line_dict(line) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "warehouse": line.warehouse,
        "bin": line.bin,
        "bucket": line.bucket.value,
        "quantity": line.quantity,
    }


def _replay_of(conn, movement_id: str, payload: dict[str, Any]) -> PostedMovement | None:
    existing = stock_repo.find_movement_request(conn, movement_id)
    if existing is None:
        return None
    if existing["payload"] != payload:
        raise Conflict(
            f"Movement id {movement_id} was already used for a different movement; use a new id for a new movement."
        )
    return PostedMovement(movement_id, existing["kind"], True, [])


def _reservation_to_ship(conn, request: MovementRequest) -> Reservation:
    return _checked_reservation(request, stock_repo.find_reservations(conn, [request.reservation_id or ""]))


def _checked_reservation(request: MovementRequest, found: dict[str, dict[str, Any]]) -> Reservation:
    """The pending reservation a shipment consumes, checked against what the shipment says it ships."""
    if request.kind is not MovementKind.SHIPMENT:
        raise InvalidRequest("Only a shipment can consume a reservation.")
    row = found.get(request.reservation_id or "")
    if row is None:
        raise NotFound(f"No reservation {request.reservation_id}.")
    reservation = stock_repo.to_domain_reservation(row)
    reservation.require_pending()
    if (reservation.sku, reservation.warehouse) != (request.sku, request.warehouse):
        raise InvalidRequest(
            f"Reservation {reservation.id} is for {reservation.sku} in {reservation.warehouse}, "
            f"not {request.sku} in {request.warehouse}."
        )
    if reservation.quantity != request.quantity:
        raise InvalidRequest(
            f"Reservation {reservation.id} locks {reservation.quantity} units; a shipment against it must ship "
            f"exactly that many (got {request.quantity}). Release it and reserve again to change the quantity."
        )
    return reservation


class ReservationLine(NamedTuple):
    """One line of a reservation request (a named tuple: cheap to build, a flash sale makes thousands a second)."""

    id: str
    sku: str
    warehouse: str
    quantity: int
    stage: ReservationStage = ReservationStage.AWAITING_REVIEW


@dataclass(frozen=True)
class ReservationOutcome:
    reservations: list[dict[str, Any]]
    replayed: bool


@dataclass(frozen=True)
class ReserveCall:
    """One caller's request to reserve (the arguments of `reserve`): every line or none."""

    actor: Actor
    lines: Sequence[ReservationLine]
    shop: str | None
    order_ref: str | None
    expires_at: datetime | None
    now: datetime

    @cached_property
    def ids(self) -> list[str]:
        return [line.id for line in self.lines]

    def check(self) -> None:
        """Refuse what is wrong with the request itself, before touching the database."""
        if not self.lines:
            raise InvalidRequest("A reservation needs at least one line.")
        if len(set(self.ids)) != len(self.ids):
            raise InvalidRequest("Each reservation line needs its own id; some ids repeat.")
        if self.expires_at is not None and self.expires_at <= self.now:
            raise InvalidRequest(
                f"The lease end {self.expires_at.isoformat()} is already past; give a time in the future."
            )


def reserve(
    db: Database,
    actor: Actor,
    lines: list[ReservationLine],
    *,
    shop: str | None,
    order_ref: str | None,
    expires_at: datetime | None,
    now: datetime,
) -> ReservationOutcome:
    """Lock stock for every line or for none (锁库存). Retrying with the same ids returns the same result."""
    call = ReserveCall(actor, lines, shop, order_ref, expires_at, now)
    call.check()
    (result,) = reserve_batch(db, [call])
    if isinstance(result, DomainError):
        raise result
    return result


def reserve_batch(
    db: Database, calls: Sequence[ReserveCall], *, remembered: stock_repo.RememberedPositions | None = None
) -> list[ReservationOutcome | DomainError]:
    """Reserve for many callers in one transaction: one lock of every position they touch, one write of each
    kind (group commit). Each call stays all-or-nothing on its own: a refusal (short stock, an id reused for
    other content, an unknown code) comes back in that call's place and changes nothing for the others.

    Calls must be checked (`ReserveCall.check`) and must not share ids: a call repeating an id that an earlier
    call of the same batch creates could not see it yet, so it belongs in a later batch.

    With `remembered` (one committer thread's memory of the positions it last wrote), PostgreSQL first tries the
    batch on those counters in a single round trip that writes only if the rows still hold them (see
    `stock_repo.conditional_reservation_write`); a flash sale's hot position is then never read, only
    written. Any doubt (a position not remembered or changed by someone else, a refusal, an id already taken)
    falls back to deciding on locked rows, with the same results as without it."""
    ids = [i for call in calls for i in call.ids]
    if len(set(ids)) != len(ids):
        raise ValueError("Calls in one reservation batch must not share reservation ids.")
    if not calls:
        return []
    if remembered is not None:
        results = _reserve_on_remembered(db, calls, remembered)
        if results is not None:
            return results
    results: list[ReservationOutcome | DomainError] = []
    with db.uow() as uow:
        conn = uow.conn
        codes = _CodeIds.look_up(db.known_codes, uow, calls)
        refusals = [codes.refusal(call) for call in calls]
        live = [call for call, refusal in zip(calls, refusals, strict=True) if refusal is None]
        latest = max(call.now for call in calls)
        locked = stock_repo.lock_positions(
            conn,
            [(line.sku, line.warehouse) for call in live for line in call.lines],
            codes.skus,
            codes.warehouses,
            create_missing=False,
            now=latest,
        )
        # Read under the position lock, so two concurrent retries of one id cannot both reserve.
        existing = stock_repo.find_reservations(conn, [i for call in live for i in call.ids])
        made_rows: list[dict[str, Any]] = []
        audit_rows: list[dict[str, Any]] = []
        for call, refusal in zip(calls, refusals, strict=True):
            result, made = (refusal, []) if refusal else _reserve_call(locked.book, call, existing)
            results.append(result)
            if made:
                made_rows += _reservation_rows(call, made, codes.skus, codes.warehouses, codes.shop_id(call))
                audit_rows += _reservation_audit_rows(call, made)
        if made_rows:
            stock_repo.save_reservations(conn, locked, made_rows, audit_rows, latest)
            uow.commit()
    if remembered is not None:
        remembered.remember(locked)
    return results


@dataclass(frozen=True)
class RememberedBatch:
    """A batch decided on remembered counters and not yet written: what each caller gets once the write lands."""

    results: list[ReservationOutcome | DomainError]
    stock: stock_repo.LockedStock
    write: stock_repo.ConditionalWrite


def decide_on_remembered(
    db: Database, calls: Sequence[ReserveCall], remembered: stock_repo.RememberedPositions
) -> RememberedBatch | None:
    """PostgreSQL: the batch decided on the counters this committer remembers, without reading the rows, or None
    when that cannot be trusted (a position not remembered, a refusal, an unknown code): then decide on locked
    rows. The remembered counters move on at once, so that the next batch can be decided while this one is being
    written: should this write fail, the next one's compare-and-set fails too, and `write_remembered`'s caller
    forgets the positions (`remembered.forget(batch.stock)`) and decides both again on locked rows."""
    if db.engine.dialect.name != "postgresql":
        return None
    codes = _CodeIds.seen(db.known_codes, calls)
    if codes is None:
        with db.uow() as uow:
            codes = _CodeIds.look_up(db.known_codes, uow, calls)
    if any(codes.refusal(call) for call in calls):
        return None
    keys = [(line.sku, line.warehouse) for call in calls for line in call.lines]
    stock = remembered.stock_for(keys, codes.skus, codes.warehouses)
    if stock is None:
        return None
    results: list[ReservationOutcome | DomainError] = []
    made_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    for call in calls:
        result, made = _reserve_call(stock.book, call, {})
        if not made:  # a refusal: decided on locked rows, where every detail of it is exact
            return None
        results.append(result)
        made_rows += _reservation_rows(call, made, codes.skus, codes.warehouses, codes.shop_id(call))
        audit_rows += _reservation_audit_rows(call, made)
    latest = max(call.now for call in calls)
    write = stock_repo.conditional_reservation_write(stock, made_rows, audit_rows, latest)
    remembered.remember(stock)
    return RememberedBatch(results, stock, write)


def write_remembered(db: Database, batch: RememberedBatch, turn: stock_repo.Turn | None = None) -> bool:
    """Write and commit a batch decided on remembered counters, in one round trip. False, with nothing written, if
    a position no longer holds the counters it was decided on or a reservation id is already taken (a replay, or
    a conflict that deciding on locked rows explains). A desk writing ahead gives each write its `turn`."""
    with db.uow() as uow:
        try:
            return stock_repo.commit_conditional_write(uow, batch.write, turn)
        except Conflict:
            return False


def _reserve_on_remembered(
    db: Database, calls: Sequence[ReserveCall], remembered: stock_repo.RememberedPositions
) -> list[ReservationOutcome | DomainError] | None:
    """The batch decided on remembered counters and written at once, or None (nothing written)."""
    batch = decide_on_remembered(db, calls, remembered)
    if batch is None:
        return None
    if not write_remembered(db, batch):
        remembered.forget(batch.stock)
        return None
    return batch.results


@dataclass(frozen=True)
class _CodeIds:
    """Row ids of the SKU, warehouse and shop codes a batch names, looked up once for all its calls."""

    skus: dict[str, int]
    warehouses: dict[str, int]
    shops: dict[str, int]

    @classmethod
    def look_up(cls, known: lookups.KnownCodes, uow: UnitOfWork, calls: Sequence[ReserveCall]) -> _CodeIds:
        """Reserving creates no codes, so what it reads may be remembered (a flash sale names one SKU
        thousands of times a second)."""
        conn = uow.conn
        lines = [line for call in calls for line in call.lines]
        return cls(
            known.sku_ids(conn, [line.sku for line in lines]),
            known.warehouse_ids(conn, [line.warehouse for line in lines]),
            known.shop_ids(conn, [call.shop for call in calls if call.shop]),
        )

    @classmethod
    def seen(cls, known: lookups.KnownCodes, calls: Sequence[ReserveCall]) -> _CodeIds | None:
        """The ids if every code was seen before (no connection needed), else None."""
        lines = [line for call in calls for line in call.lines]
        ids = known.seen(
            [line.sku for line in lines], [line.warehouse for line in lines], [call.shop for call in calls if call.shop]
        )
        return None if ids is None else cls(*ids)

    def refusal(self, call: ReserveCall) -> NotFound | None:
        """The error `reserve` gives a call naming a code that does not exist, checked in the same order."""
        if (not call.shop or call.shop in self.shops) and all(
            line.sku in self.skus and line.warehouse in self.warehouses for line in call.lines
        ):
            return None
        try:
            lookups.require_codes(self.skus, [line.sku for line in call.lines], "SKU")
            lookups.require_codes(self.warehouses, [line.warehouse for line in call.lines], "warehouse")
            lookups.require_codes(self.shops, [call.shop] if call.shop else [], "shop")
        except NotFound as missing:
            return missing
        return None

    def shop_id(self, call: ReserveCall) -> int | None:
        return self.shops[call.shop] if call.shop else None


def _reserve_call(
    book: StockBook, call: ReserveCall, existing: dict[str, dict[str, Any]]
) -> tuple[ReservationOutcome | DomainError, list[Reservation]]:
    """One call against the shared book: its outcome (or refusal) and the reservations it made."""
    try:
        if any(i in existing for i in call.ids):
            return _replayed_reservations(call, existing), []
        made = book.reserve_all(
            [ReservationRequest(line.id, line.sku, line.warehouse, line.quantity, line.stage) for line in call.lines]
        )
    except DomainError as refused:
        return refused, []
    return ReservationOutcome(
        [_reservation_view(r, call.shop, call.order_ref, call.expires_at) for r in made], False
    ), made


def _reservation_rows(
    call: ReserveCall,
    made: list[Reservation],
    sku_ids: dict[str, int],
    warehouse_ids: dict[str, int],
    shop_id: int | None,
) -> list[dict[str, Any]]:
    """The reservation rows to insert for what one call made."""
    return [
        {
            "id": r.id,
            "sku_id": sku_ids[r.sku],
            "warehouse_id": warehouse_ids[r.warehouse],
            "shop_id": shop_id,
            "order_ref": call.order_ref,
            "quantity": r.quantity,
            "from_quota": r.from_quota,
            "stage": r.stage.value,
            "status": r.status.value,
            "expires_at": call.expires_at,
            "created_at": call.now,
            "created_by": call.actor.label,
            "ended_at": None,
            "ended_by": None,
        }
        for r in made
    ]


def _reservation_audit_rows(call: ReserveCall, made: list[Reservation]) -> list[dict[str, Any]]:
    """The audit trail of what one call made."""
    return [
        {
            "actor": call.actor.label,
            "action": "reservation.reserve",
            "entity": "reservation",
            "entity_id": r.id,
            "at": call.now,
            "details": {
                "sku": r.sku,
                "warehouse": r.warehouse,
                "quantity": r.quantity,
                "from_quota": r.from_quota,
                "order_ref": call.order_ref,
            },
        }
        for r in made
    ]


def _replayed_reservations(call: ReserveCall, existing: dict[str, dict[str, Any]]) -> ReservationOutcome:
    """A retry gets the reservations as they stand now (their stage may have moved on since)."""
    views = []
    for line in call.lines:
        row = existing.get(line.id)
        asked = (line.sku, line.warehouse, line.quantity, call.order_ref, call.shop)
        if row is None or (row["sku"], row["warehouse"], row["quantity"], row["order_ref"], row["shop"]) != asked:
            raise Conflict(
                f"Reservation id {line.id} is already used"
                + ("" if row else " by some lines of this request")
                + " for different content; each new reservation needs a new id."
            )
        views.append(
            _reservation_view(stock_repo.to_domain_reservation(row), row["shop"], row["order_ref"], row["expires_at"])
        )
    return ReservationOutcome(views, True)


def _reservation_view(r: Reservation, shop: str | None, order_ref: str | None, expires_at) -> dict[str, Any]:
    return {
        "id": r.id,
        "sku": r.sku,
        "warehouse": r.warehouse,
        "quantity": r.quantity,
        "from_quota": r.from_quota,
        "stage": r.stage.value,
        "status": r.status.value,
        "shop": shop,
        "order_ref": order_ref,
        "expires_at": expires_at,
    }


def release(
    db: Database,
    actor: Actor,
    ids: list[str],
    *,
    now: datetime,
    status: ReservationStatus = ReservationStatus.VOIDED,
) -> list[dict[str, Any]]:
    """Unlock reservations that will not ship (cancel, refund, re-allocation). Already-ended ones are refused."""
    return _change_reservations(db, actor, ids, now, lambda book, r: book.release(r, status), "release")


def restage(
    db: Database, actor: Actor, ids: list[str], stage: ReservationStage, *, now: datetime
) -> list[dict[str, Any]]:
    """Move locked stock between 预订单 / 待审核 / 待发货 as the order progresses."""
    return _change_reservations(db, actor, ids, now, lambda book, r: book.restage(r, stage), "restage")


def _change_reservations(db: Database, actor: Actor, ids: list[str], now: datetime, change, action: str):
    if not ids:
        raise InvalidRequest("Name at least one reservation.")
    with db.uow() as uow:
        conn = uow.conn
        rows = stock_repo.find_reservations(conn, ids)
        missing = sorted(set(ids) - rows.keys())
        if missing:
            raise NotFound(f"No reservation {', '.join(missing)}.")
        sku_ids = lookups.sku_ids(conn, [r["sku"] for r in rows.values()])
        warehouse_ids = lookups.warehouse_ids(conn, [r["warehouse"] for r in rows.values()])
        locked = stock_repo.lock_positions(
            conn,
            [(r["sku"], r["warehouse"]) for r in rows.values()],
            sku_ids,
            warehouse_ids,
            create_missing=False,
            now=now,
        )
        # Re-read under the lock: a concurrent release of the same reservation must not count twice.
        rows = stock_repo.find_reservations(conn, ids)
        reservations = [stock_repo.to_domain_reservation(rows[i]) for i in sorted(set(ids))]
        for reservation in reservations:
            change(locked.book, reservation)
        stock_repo.save(conn, locked, {}, now)
        _end_reservations(conn, reservations, actor, now)
        audit_repo.record_many(
            conn,
            [
                {
                    "actor": actor.label,
                    "action": f"reservation.{action}",
                    "entity": "reservation",
                    "entity_id": r.id,
                    "at": now,
                    "details": {"status": r.status.value, "stage": r.stage.value},
                }
                for r in reservations
            ],
        )
        uow.commit()
        return [
            _reservation_view(r, rows[r.id]["shop"], rows[r.id]["order_ref"], rows[r.id]["expires_at"])
            for r in reservations
        ]


def _end_reservations(conn, reservations: list[Reservation], actor: Actor, now: datetime) -> None:
    stock_repo.update_reservations(
        conn,
        [
            {
                "id": r.id,
                "status": r.status.value,
                "stage": r.stage.value,
                "ended_at": None if r.status is ReservationStatus.PENDING else now,
                "ended_by": None if r.status is ReservationStatus.PENDING else actor.label,
            }
            for r in reservations
        ],
    )


def expire_reservations(db: Database, actor: Actor, *, now: datetime, batch: int = 500) -> int:
    """Release every pending reservation whose lease has run out; safe to run any number of times."""
    expired = 0
    while True:
        with db.uow(write=False) as uow:
            ids = stock_repo.expired_reservation_ids(uow.conn, now, batch)
        if not ids:
            return expired
        try:
            release(db, actor, ids, now=now, status=ReservationStatus.EXPIRED)
            expired += len(ids)
        except InvalidRequest:
            # Another worker ended one of these between our read and our lock: take them one by one.
            for one in ids:
                try:
                    release(db, actor, [one], now=now, status=ReservationStatus.EXPIRED)
                    expired += 1
                except InvalidRequest:
                    continue
        if len(ids) < batch:
            return expired


def ledger_discrepancies(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return stock_repo.ledger_discrepancies(uow.conn)
