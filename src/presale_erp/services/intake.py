"""Order intake (递交): platform payloads in, canonical orders stored, exactly once, newest version wins.

Every route in (scheduled fetch, pushed webhook, file import) ends here. A batch is parsed in memory, then
written in one unit of work with one statement per kind of row. A payload that cannot be parsed is kept
whole on the dead-letter list with its reason, and can be retried once fixed."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import audit_repo, order_repo
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.importing import order_sheet
from presale_erp.adapters.platforms import PARSERS
from presale_erp.domain.access import Actor
from presale_erp.domain.catalog import Platform
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.domain.orders import (
    MalformedOrder,
    PlatformOrder,
    PlatformStatus,
    PresaleType,
    check_transition,
    planned_ship_at,
    supersedes,
    waits_as_pre_order,
)
from presale_erp.services import order_locks, parcels


@dataclass
class IntakeReport:
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # redelivered, or older than what is stored
    dead_lettered: int = 0
    dead_letter_ids: list[int] = field(default_factory=list)

    def add(self, page: IntakeReport | None) -> None:
        """Count a stored page in (None: no page was stored yet)."""
        if page is None:
            return
        for name in ("received", "created", "updated", "unchanged", "dead_lettered"):
            setattr(self, name, getattr(self, name) + getattr(page, name))
        self.dead_letter_ids += page.dead_letter_ids


@dataclass(frozen=True)
class Undecodable:
    """A body that was not even JSON: kept as received, so nothing is lost."""

    raw: str
    error: str


@dataclass(frozen=True)
class Rejected:
    raw: str
    reason: str


@dataclass(frozen=True)
class Parsed:
    """An order and the payload it came from (原始单), so a version refused later is still kept whole."""

    order: PlatformOrder
    raw: Any
    buyer_columns: dict[str, str] | None = None  # sealed ahead of storing (see `seal`); None: sealed when stored


@dataclass(frozen=True)
class Prepared:
    """A page's order rows built ahead of storing, outside the write lock (SQLite has one, which the other
    stages need too), on the SKU ids and campaign deadlines read then. Storing reads those again under the lock
    and uses the rows only if it reads the same: else it builds them again."""

    looked_up: tuple[dict[str, int], dict[int, datetime]]
    rows: dict[str, tuple[PlatformOrder, dict[str, Any]]]  # platform order id -> its newest version and row


def prepare(db: Database, cipher: PiiCipher, shop: dict[str, Any], parsed: list[Parsed], now: datetime) -> Prepared:
    newest, item_of = _newest(parsed)
    with db.uow(write=False) as uow:
        looked_up = _look_up(uow.conn, shop["id"], newest.values())
    due = _due(*looked_up)
    return Prepared(
        looked_up,
        {
            pid: (o, _order_row(o, shop["id"], cipher, now, due(o), item_of[pid].buyer_columns))
            for pid, o in newest.items()
        },
    )


def seal(cipher: PiiCipher, parsed: list[Parsed]) -> list[Parsed]:
    """The buyers' personal data encrypted and indexed before storing: CPU work that a run of pages does for the
    next page while the one before it is being stored."""
    return [Parsed(item.order, item.raw, _buyer_columns(item.order, cipher)) for item in parsed]


def parse_all(platform: Platform, payloads: list[Any]) -> tuple[list[Parsed], list[Rejected]]:
    parser = PARSERS.get(platform)
    if parser is None:
        raise InvalidRequest(f"There is no order adapter for {platform.value} yet.")
    good: list[Parsed] = []
    bad: list[Rejected] = []
    for payload in payloads:
        if isinstance(payload, Undecodable):
            bad.append(Rejected(payload.raw, f"not JSON: {payload.error}"))
            continue
        try:
            good.append(Parsed(parser(payload), payload))
        except MalformedOrder as refused:
            bad.append(Rejected(_raw(payload), refused.detail))
        except (ArithmeticError, ValueError, TypeError) as broken:  # anything an adapter did not foresee
            bad.append(Rejected(_raw(payload), f"unreadable payload: {broken}"))
    return good, bad


def _raw(payload: Any) -> str:
    return payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False, default=str)


def decode_body(body: bytes) -> list[Any]:
    """A pushed body: one order object, or a list of them; anything unreadable becomes one dead letter."""
    text = body.decode("utf-8", errors="backslashreplace")  # bytes that are not UTF-8 stay visible as \xNN
    try:
        decoded = json.loads(text)
    except ValueError as exc:
        # PostgreSQL text cannot hold NUL; written as \u0000 the payload is kept whole and still readable.
        return [Undecodable(text.replace("\x00", "\\u0000"), str(exc))]
    return decoded if isinstance(decoded, list) else [decoded]


def intake(
    db: Database, cipher: PiiCipher, actor: Actor, shop: str, payloads: list[Any], *, source: str, now: datetime
) -> IntakeReport:
    shop_row = _shop(db, shop)
    good, bad = parse_all(Platform(shop_row["platform"]), payloads)
    return _store_page(db, cipher, actor, shop_row, good, bad, len(payloads), source=source, now=now)


def intake_pages(
    db: Database,
    cipher: PiiCipher,
    actor: Actor,
    shop: str,
    pages: Iterable[list[Any]],
    *,
    source: str,
    now: datetime,
) -> IntakeReport:
    """Intake of a run of pages (a fetch window's, page by page from the platform): each page stored in its own
    unit of work as `intake` stores one, in order. On a database server a page is stored while the next is
    fetched and parsed (storing waits on the server for half its time, which parsing fills: see
    `Database.batch_writer`). A page that fails to store stops the run with its error; the pages before it
    are kept, and the platform delivers the rest again on the next fetch."""
    shop_row = _shop(db, shop)
    platform = Platform(shop_row["platform"])
    total = IntakeReport()
    with db.batch_writer("intake-writer") as writer:
        for page in pages:
            good, bad = parse_all(platform, page)
            good = seal(cipher, good)
            ready = prepare(db, cipher, shop_row, good, now)
            total.add(
                writer.write(
                    _store_page, db, cipher, actor, shop_row, good, bad, len(page), source=source, now=now, ready=ready
                )
            )
        total.add(writer.wait())
    return total


def _shop(db: Database, shop: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        shop_row = repo.shop_by_code(uow.conn, shop)
    if shop_row is None:
        raise NotFound(f"No shop with code {shop}.")
    return shop_row


def _store_page(
    db: Database,
    cipher: PiiCipher,
    actor: Actor,
    shop_row: dict[str, Any],
    good: list[Parsed],
    bad: list[Rejected],
    received: int,
    *,
    source: str,
    now: datetime,
    ready: Prepared | None = None,
) -> IntakeReport:
    report = IntakeReport(received=received)
    with db.uow() as uow:
        bad = bad + store(
            uow.conn, cipher, shop_row, good, source=source, now=now, report=report, actor=actor.label, ready=ready
        )
        report.dead_letter_ids = order_repo.insert_dead_letters(
            uow.conn,
            [
                {
                    "shop_id": shop_row["id"],
                    "source": source,
                    "payload": r.raw,
                    "payload_hash": hashlib.sha256(r.raw.encode()).hexdigest(),
                    "reason": r.reason[:1000],
                    "status": "open",
                    "attempts": 1,
                    "received_at": now,
                }
                for r in bad
            ],
        )
        report.dead_lettered = len(report.dead_letter_ids)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action=f"orders.intake.{source}",
            entity="shop",
            entity_id=shop_row["code"],
            at=now,
            details={k: v for k, v in report.__dict__.items() if k != "dead_letter_ids"},
        )
        uow.commit()
    return report


def store(
    conn,
    cipher: PiiCipher,
    shop: dict[str, Any],
    parsed: list[Parsed],
    *,
    source: str,
    now: datetime,
    report: IntakeReport,
    actor: str = "system:intake",
    ready: Prepared | None = None,
) -> list[Rejected]:
    """Upsert the batch: new orders inserted, newer versions replace older ones, the rest change nothing.
    Returns the versions refused for an illegal status change, for the dead-letter list. `ready`: rows built
    ahead (see `prepare`)."""
    shop_id = shop["id"]
    newest, item_of = _newest(parsed)
    report.unchanged += len(parsed) - len(newest)
    existing = order_repo.lock_existing(conn, shop_id, list(newest))
    looked_up = _look_up(conn, shop_id, newest.values())
    sku_ids = looked_up[0]
    due = _due(*looked_up)
    built = ready.rows if ready is not None and ready.looked_up == looked_up else {}

    def row_of(order: PlatformOrder) -> dict[str, Any]:
        order_then, row = built.get(order.platform_order_id, (None, None))
        if order_then is order and row is not None:
            return row
        sealed = item_of[order.platform_order_id].buyer_columns
        return _order_row(order, shop_id, cipher, now, due(order), sealed)

    fresh = [o for pid, o in newest.items() if pid not in existing]
    created = order_repo.insert_new(conn, [row_of(o) for o in fresh], now)
    raced = [o for o in fresh if o.platform_order_id not in created]
    if raced:  # inserted by a concurrent intake between our look and our insert: compare versions instead
        existing.update(order_repo.lock_existing(conn, shop_id, [o.platform_order_id for o in raced]))
    candidates = [
        o
        for pid, o in newest.items()
        if pid in existing and supersedes(o, existing[pid]["platform_modified_at"], existing[pid]["status"])
    ]
    replacing, refused = [], []
    for o in candidates:
        try:
            check_transition(o.platform_order_id, existing[o.platform_order_id]["status"], o.status)
            replacing.append(o)
        except MalformedOrder as illegal:
            refused.append(Rejected(_raw(item_of[o.platform_order_id].raw), illegal.detail))
    handled = {o.platform_order_id for o in candidates}  # replaced, or refused and dead-lettered
    stale_ids = [existing[pid]["id"] for pid in newest if pid in existing and pid not in handled and pid not in created]
    replaced_rows = [
        _carry_review(
            {
                **row_of(o),
                "id": existing[o.platform_order_id]["id"],
                "versions_seen": existing[o.platform_order_id]["versions_seen"] + 1,
            },
            existing[o.platform_order_id],
        )
        for o in replacing
    ]
    order_repo.update_orders(conn, replaced_rows)
    back_to_review = {
        row["id"]
        for row, o in zip(replaced_rows, replacing, strict=True)
        if row["review_status"] == "pending" and existing[o.platform_order_id]["review_status"] in REVIEWED
    }
    order_repo.bump_versions_seen(conn, stale_ids)
    ids = {**created, **{o.platform_order_id: existing[o.platform_order_id]["id"] for o in replacing}}
    written = [o for o in newest.values() if o.platform_order_id in ids]
    order_repo.replace_lines(
        conn,
        [existing[o.platform_order_id]["id"] for o in replacing],
        [
            _line_row(ids[o.platform_order_id], shop_id, n, line, sku_ids)
            for o in written
            for n, line in enumerate(o.lines, start=1)
        ],
    )
    order_repo.insert_events(
        conn,
        [
            {
                "order_id": ids[o.platform_order_id],
                "shop_id": shop_id,
                "at": now,
                "platform_at": o.modified_at,
                "from_status": existing.get(o.platform_order_id, {}).get("status"),
                "to_status": o.status.value,
                "source": source,
            }
            for o in written
            if existing.get(o.platform_order_id, {}).get("status") != o.status.value
        ],
    )
    withdrawn: set[int] = set()
    order_locks.lock_and_release(
        conn,
        shop,
        [
            order_locks.LockCandidate(
                ids[o.platform_order_id],
                o.platform_order_id,
                o.status,
                o.paid_at,
                [
                    order_locks.LockLine(n, sku_ids[line.sku_code], line.quantity, line.presale, line.refunded)
                    for n, line in enumerate(o.lines, start=1)
                    if line.sku_code in sku_ids
                ],
            )
            for o in written
        ],
        actor=actor,
        now=now,
        withdrawn=withdrawn,
    )
    ended = {ids[o.platform_order_id] for o in replacing if o.status in order_locks.RELEASE_AT}
    parcels.withdraw(conn, sorted(ended), cancelled=True, now=now)
    parcels.withdraw(conn, sorted((withdrawn | back_to_review) - ended), cancelled=False, now=now)
    report.created += len(created)
    report.updated += len(replacing)
    report.unchanged += len(stale_ids)
    return refused


def _newest(parsed: list[Parsed]) -> tuple[dict[str, PlatformOrder], dict[str, Parsed]]:
    """Each order's newest version in the batch (the same order twice: keep its newest), and where it came from."""
    newest: dict[str, PlatformOrder] = {}
    item_of: dict[str, Parsed] = {}
    for item in parsed:
        order = item.order
        kept = newest.get(order.platform_order_id)
        if kept is None or supersedes(order, kept.modified_at, kept.status.value):
            newest[order.platform_order_id] = order
            item_of[order.platform_order_id] = item
    return newest, item_of


def _look_up(conn, shop_id: int, orders: Iterable[PlatformOrder]) -> tuple[dict[str, int], dict[int, datetime]]:
    """The SKU id of each code the orders name, and each of those SKUs' campaign balance deadline."""
    sku_ids = order_repo.sku_ids_by_code(conn, [line.sku_code for o in orders for line in o.lines if line.sku_code])
    return sku_ids, order_repo.campaign_balance_due(conn, shop_id, set(sku_ids.values()))


def _due(sku_ids: dict[str, int], campaign_due: dict[int, datetime]) -> Callable[[PlatformOrder], datetime | None]:
    def due(order: PlatformOrder) -> datetime | None:
        """The platform's own balance deadline, else the end of the campaign's balance window for its goods."""
        if order.balance_due_at or order.presale_type is not PresaleType.DEPOSIT:
            return order.balance_due_at
        ends = [
            campaign_due[sku_ids[line.sku_code]]
            for line in order.lines
            if line.sku_code in sku_ids and sku_ids[line.sku_code] in campaign_due
        ]
        return max(ends) if ends else None

    return due


REVIEWED = ("approved", "held", "rejected")
CHANGES_THAT_MATTER = ("address_index", "phone_index", "buyer_remark", "seller_remark", "refund_requested")


def _carry_review(row: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """A new version keeps its review, unless something a reviewer looked at changed (address, phone, remarks):
    then it goes back to review, saying why. Orders not yet paid are not reviewed yet."""
    row["stock_locked"], row["lock_reason"] = stored["stock_locked"], stored["lock_reason"]
    row["balance_expired_at"] = stored["balance_expired_at"]
    if stored["preorder_status"] != "none":  # once a pre-order, it stays in (or has left) the queue its own way
        for column in ("preorder_status", "preorder_reason", "activated_at"):
            row[column] = stored[column]
    for column in ("review_status", "risk_score", "review_hits", "review_rules_hit", "reviewed_at", "reviewed_by"):
        row[column] = stored[column]
    paid = row["status"] == PlatformStatus.PAID.value
    changed = [c for c in CHANGES_THAT_MATTER if row[c] != stored[c]]
    if paid and stored["review_status"] == "none":
        row["review_status"] = "pending"
    elif paid and stored["review_status"] in REVIEWED and changed:
        row["review_status"] = "pending"
        row["review_hits"] = [
            {
                "rule": "changed_after_review",
                "action": "hold",
                "weight": 0,
                "reason": "审核后修改: " + ", ".join(changed) + " changed after review",
            }
        ]
        row["review_rules_hit"] = ",changed_after_review,"
    return row


def _buyer_columns(order: PlatformOrder, cipher: PiiCipher) -> dict[str, str]:
    """The buyer's personal data as stored: encrypted, with blind indexes to match on."""
    buyer, address = order.buyer, order.buyer.address
    return {
        "buyer_index": cipher.blind_index(buyer.platform_buyer_id),
        "buyer_name": cipher.encrypt(buyer.name),
        "buyer_phone": cipher.encrypt(buyer.phone),
        "phone_index": cipher.blind_index(buyer.phone),
        "street": cipher.encrypt(address.street),
        "address_index": cipher.blind_index(address.province + address.city + address.district + address.street),
    }


def _order_row(
    order: PlatformOrder,
    shop_id: int,
    cipher: PiiCipher,
    now: datetime,
    balance_due_at: datetime | None = None,
    buyer_columns: dict[str, str] | None = None,
) -> dict[str, Any]:
    address = order.buyer.address
    return {
        "shop_id": shop_id,
        "platform_order_id": order.platform_order_id,
        "status": order.status.value,
        "platform_status": order.platform_status[:120],
        "presale_type": order.presale_type.value,
        "platform_modified_at": order.modified_at,
        "platform_created_at": order.created_at,
        "paid_at": order.paid_at,
        "total_amount": order.total_amount,
        "paid_amount": order.paid_amount,
        "postage": order.postage,
        "deposit_amount": order.deposit_amount,
        "balance_amount": order.balance_amount,
        "balance_paid": order.balance_paid,
        "latest_ship_at": order.latest_ship_at,
        "balance_due_at": balance_due_at or order.balance_due_at,
        "balance_expired_at": None,
        **(buyer_columns or _buyer_columns(order, cipher)),
        "province": address.province[:40],
        "city": address.city[:40],
        "district": address.district[:40],
        "buyer_remark": order.buyer_remark[:1000],
        "seller_remark": order.seller_remark[:1000],
        "cash_on_delivery": order.cash_on_delivery,
        "mixed_presale": order.mixed,
        "refund_requested": order.refund_requested,
        "versions_seen": 1,
        "preorder_status": "waiting" if waits_as_pre_order(order, now) else "none",
        "planned_ship_at": planned_ship_at(order),
        "preorder_reason": "计划发货时间未到 (waiting for the planned ship date)"
        if waits_as_pre_order(order, now)
        else "",
        "activated_at": None,
        "stock_locked": False,
        "lock_reason": "",
        "review_status": "pending" if order.status is PlatformStatus.PAID else "none",
        "risk_score": 0,
        "review_hits": None,
        "review_rules_hit": "",
        "reviewed_at": None,
        "reviewed_by": None,
        "first_seen_at": now,
        "updated_at": now,
    }


def _line_row(order_id: int, shop_id: int, line_no: int, line, sku_ids: dict[str, int]) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "line_no": line_no,
        "shop_id": shop_id,
        "line_key": line.line_key[:64],
        "platform_sku_id": line.platform_sku_id[:64],
        "sku_code": line.sku_code,
        "sku_id": sku_ids.get(line.sku_code) if line.sku_code else None,
        "title": line.title[:300],
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "paid_amount": line.paid_amount,
        "presale": line.presale,
        "planned_ship_at": line.planned_ship_at,
        "refunded": line.refunded,
    }


def retry_dead_letter(
    db: Database, cipher: PiiCipher, actor: Actor, letter_id: int, *, payload: Any | None, now: datetime
) -> dict[str, Any]:
    """Run a dead letter through intake again, as stored or as corrected by staff. If it still fails, it stays
    on the list with the new reason (and the corrected payload, so the correction is not lost)."""
    with db.uow() as uow:
        conn = uow.conn
        letter = order_repo.dead_letter(conn, letter_id, for_update=True)
        if letter is None:
            raise NotFound(f"No dead letter {letter_id}.")
        if letter["status"] != "open":
            raise InvalidRequest(f"Dead letter {letter_id} is already {letter['status']}.")
        shop_row = repo.shop_by_id(conn, letter["shop_id"])
        raw = _raw(payload) if payload is not None else letter["payload"]
        try:
            decoded = json.loads(raw)
        except ValueError as exc:
            decoded, reason = None, f"not JSON: {exc}"
        else:
            reason = ""
        good, bad = parse_all(Platform(shop_row["platform"]), [decoded]) if decoded is not None else ([], [])
        if bad:
            reason = bad[0].reason
        if not good:
            order_repo.note_failed_retry(conn, letter_id, reason=reason[:1000], payload=raw)
            uow.commit()
            return {"id": letter_id, "status": "open", "reason": reason}
        report = IntakeReport(received=1)
        refused = store(
            conn, cipher, shop_row, good, source=letter["source"], now=now, report=report, actor=actor.label
        )
        if refused:
            order_repo.note_failed_retry(conn, letter_id, reason=refused[0].reason[:1000], payload=raw)
            uow.commit()
            return {"id": letter_id, "status": "open", "reason": refused[0].reason}
        order_repo.close_dead_letter(conn, letter_id, status="resolved", by=actor.label, at=now)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="dead_letter.retry",
            entity="dead_letter",
            entity_id=str(letter_id),
            at=now,
            details={"order": good[0].order.platform_order_id},
        )
        uow.commit()
        return {
            "id": letter_id,
            "status": "resolved",
            "reason": letter["reason"],
            "order": good[0].order.platform_order_id,
        }


def discard_dead_letter(db: Database, actor: Actor, letter_id: int, *, now: datetime) -> dict[str, Any]:
    with db.uow() as uow:
        letter = order_repo.dead_letter(uow.conn, letter_id, for_update=True)
        if letter is None:
            raise NotFound(f"No dead letter {letter_id}.")
        if letter["status"] != "open":
            raise InvalidRequest(f"Dead letter {letter_id} is already {letter['status']}.")
        order_repo.close_dead_letter(uow.conn, letter_id, status="discarded", by=actor.label, at=now)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="dead_letter.discard",
            entity="dead_letter",
            entity_id=str(letter_id),
            at=now,
        )
        uow.commit()
        return {"id": letter_id, "status": "discarded", "reason": letter["reason"]}


def import_file(
    db: Database, cipher: PiiCipher, actor: Actor, shop: str, path: Path, *, now: datetime, batch: int = 2000
) -> IntakeReport:
    """Offline orders from an Excel or CSV sheet (one row per line) into an offline shop, like any intake:
    once per order number, a changed re-import replacing the earlier one, unreadable orders dead-lettered."""
    with db.uow(write=False) as uow:
        shop_row = repo.shop_by_code(uow.conn, shop)
    if shop_row is None:
        raise NotFound(f"No shop with code {shop}.")
    if shop_row["platform"] != Platform.OFFLINE.value:
        raise InvalidRequest(f"Shop {shop} sells on {shop_row['platform']}; import files into an offline shop.")
    try:
        rows = order_sheet.read_rows(path)
    except (order_sheet.SheetError, OSError) as exc:
        raise InvalidRequest(str(exc)) from exc
    bodies = order_sheet.payloads(rows)
    for body in bodies:  # a sheet has no version of its own: the import is the version
        body["modified_at"] = body["modified_at"] or now.isoformat()
    report = IntakeReport()
    for start in range(0, len(bodies), batch):
        part = intake(db, cipher, actor, shop, bodies[start : start + batch], source="import", now=now)
        for name in ("received", "created", "updated", "unchanged", "dead_lettered"):
            setattr(report, name, getattr(report, name) + getattr(part, name))
        report.dead_letter_ids += part.dead_letter_ids
    return report
