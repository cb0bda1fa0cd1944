"""Smart review (智能审单) as a use case: batches of paid orders, context loaded in bulk, rules decided in
memory, verdicts written in one statement. Held orders wait for staff, who approve or reject them (one by one
or in bulk); every decision is audited."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from presale_erp.adapters.crypto import PiiCipher, mask_name, mask_phone
from presale_erp.adapters.db import audit_repo, review_repo, statistics
from presale_erp.adapters.db.tables import orders
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.credit import amounts_ahead
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.domain.review.engine import Compiled, compile_settings, default_settings, review
from presale_erp.domain.review.model import (
    Action,
    Decision,
    ReviewContext,
    ReviewLine,
    ReviewOrder,
    RuleSetting,
    SkuHistory,
)
from presale_erp.domain.review.rules import RULES
from presale_erp.services import receivables

# A hold that only says "wait" (cooling-off) is not a person's job: the order stays pending for the next run.
WAITING_RULES = {"cooling_off"}
BLACKLIST_KINDS = ("buyer", "phone", "address")


@dataclass
class ReviewReport:
    reviewed: int = 0
    approved: int = 0
    held: int = 0
    rejected: int = 0
    waiting: int = 0
    awaiting_finance: int = 0


def rule_settings(db: Database) -> list[RuleSetting]:
    with db.uow(write=False) as uow:
        stored = {row["code"]: row for row in review_repo.stored_rules(uow.conn)}
    settings = []
    for default in default_settings():
        row = stored.get(default.code)
        settings.append(
            default
            if row is None
            else RuleSetting(
                default.code, row["enabled"], Action(row["action"]), row["priority"], row["weight"], row["params"]
            )
        )
    return settings


def update_rule(
    db: Database,
    actor: Actor,
    code: str,
    *,
    enabled: bool,
    action: Action,
    priority: int,
    weight: int,
    params: dict[str, Any],
    now: datetime,
) -> RuleSetting:
    if code not in RULES:
        raise NotFound(f"No review rule {code}. Rules: {', '.join(RULES)}.")
    unknown = sorted(set(params) - set(RULES[code][3]))
    if unknown:
        raise InvalidRequest(
            f"Rule {code} has no parameter {', '.join(unknown)}; it takes {', '.join(RULES[code][3]) or 'none'}."
        )
    for name, value in params.items():
        _check_param(code, name, value, RULES[code][3][name])
    with db.uow() as uow:
        review_repo.save_rule(
            uow.conn,
            {
                "code": code,
                "enabled": enabled,
                "action": action.value,
                "priority": priority,
                "weight": weight,
                "params": params,
                "updated_at": now,
                "updated_by": actor.label,
            },
        )
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="review_rule.update",
            entity="review_rule",
            entity_id=code,
            at=now,
            details={"enabled": enabled, "action": action.value, "params": params},
        )
        uow.commit()
    return next(s for s in rule_settings(db) if s.code == code)


def _check_param(code: str, name: str, value: Any, default: Any) -> None:
    """A parameter keeps the kind of its default: a wrong one would break every later review run."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:  # amounts are given as decimal strings
        try:
            ok = isinstance(value, str | int) and Decimal(str(value)) >= 0
        except ArithmeticError:
            ok = False
    if not ok:
        raise InvalidRequest(f"Rule {code}: parameter {name} should be like {default!r}, not {value!r}.")


# The tables a batch reads, with the columns it looks them up by (none: all), for the planner's statistics.
READS: dict[str, tuple[str, ...]] = {
    "orders": (
        "id",
        "status",
        "review_status",
        "preorder_status",
        "mixed_presale",
        "buyer_index",
        "phone_index",
        "address_index",
        "platform_created_at",
    ),
    "order_lines": ("order_id", "sku_id", "refunded"),
    "reservations": (),
}


def review_pending(
    db: Database, cipher: PiiCipher, actor: Actor, *, now: datetime, batch: int = 2000, window_hours: int = 24
) -> ReviewReport:
    """Review every pending order, a batch at a time. On a database server three things happen at once, each on
    its own connection and thread, each mostly waiting for the server: the next batch is read (its orders and
    what the rules look up), this one is decided, and the one before is written (`Database.side_thread`). A
    run takes about the longest of the three, not their sum. No rule looks at another order's verdict, so a
    batch read before the one before it is written is decided exactly as after. At most one write is in
    flight, and a failed one stops the run with its error; its orders stay pending for the next run. The write
    changes only orders still pending, so a person's decision, or a new version from the platform, made
    meanwhile is not overwritten."""
    stored_settings = rule_settings(db)
    settings = compile_settings(stored_settings)
    brushing = next((s for s in stored_settings if s.code == "many_orders_one_address"), None)
    if brushing is not None:
        window_hours = int((RULES["many_orders_one_address"][3] | brushing.params).get("window_hours", window_hours))
    report = ReviewReport()
    known = SkuFacts()  # what normal looks like per SKU: read once per run, not per batch

    def read(after_id: int) -> _ReadBatch | None:
        statistics.refresh_if_grown(db, READS)  # a peak night outgrows the planner's numbers
        return _read_batch(db, cipher, known, after_id, batch, now, window_hours)

    with db.side_thread("review-reader") as reader, db.batch_writer("review-writer") as writer:
        reading = reader.submit(read, 0)
        while (this := reading.result()) is not None:
            reading = reader.submit(read, this.rows[-1][0])
            verdicts = _decide_batch(this, settings, actor, now)
            writer.write(_write_verdicts, db, verdicts)
            for verdict in verdicts:
                counter = "waiting" if verdict["status"] == "pending" else verdict["status"]
                setattr(report, counter, getattr(report, counter) + 1)
            report.reviewed += len(verdicts)
        writer.wait()
    return report


@dataclass(frozen=True)
class _ReadBatch:
    """A batch of pending orders as the rules see them, with everything they look up."""

    rows: list[tuple]
    orders: list[ReviewOrder]
    finance: set[int]  # shops whose approved orders finance clears next
    context: ReviewContext


def _read_batch(
    db: Database,
    cipher: PiiCipher,
    known: SkuFacts,
    after_id: int,
    batch: int,
    now: datetime,
    window_hours: int,
) -> _ReadBatch | None:
    """The next batch of pending orders after `after_id`, in id order, and what the rules need; None if none."""
    with db.uow(write=False) as uow, statistics.planned_for_values(uow.conn):
        rows = review_repo.pending(uow.conn, after_id=after_id, limit=batch)
        if not rows:
            return None
        lines = review_repo.lines_of(uow.conn, [r[0] for r in rows])
        locks = review_repo.own_locks(uow.conn, {(r[1], r[2]): r[0] for r in rows})
        batch_orders = [_review_order(row, lines[row[0]], cipher, locks.get(row[0], {})) for row in rows]
        finance = review_repo.finance_shops(uow.conn)
        return _ReadBatch(rows, batch_orders, finance, _context(uow.conn, batch_orders, now, window_hours, known))


def _decide_batch(read: _ReadBatch, settings: Compiled, actor: Actor, now: datetime) -> list[dict[str, Any]]:
    """One verdict per order of the batch, in id order."""
    verdicts = []
    for order, row in zip(read.orders, read.rows, strict=True):
        verdict = review(order, read.context, settings)
        hits = [
            {"rule": h.rule, "reason": h.reason, "action": h.action.value, "weight": h.weight} for h in verdict.hits
        ]
        if row[-1]:  # a person must see what changed after their review
            hits += [h for h in row[-1] if h["rule"] == "changed_after_review"]
        status = _status(verdict.decision, verdict.hits, hits)
        if status == "approved" and order.shop_id in read.finance:
            status = "awaiting_finance"
        verdicts.append(
            {
                "id": order.id,
                "status": status,
                "score": verdict.risk_score,
                "hits": hits,
                "rules": "," + ",".join(sorted({h["rule"] for h in hits})) + "," if hits else "",
                "at": now,
                "by": actor.label,
            }
        )
    return verdicts


def _write_verdicts(db: Database, verdicts: list[dict[str, Any]]) -> None:
    with db.uow() as uow:
        review_repo.write_verdicts(uow.conn, verdicts)
        uow.commit()


def _status(decision: Decision, verdict_hits: list, hits: list[dict[str, Any]]) -> str:
    if decision is Decision.APPROVED and any(h["rule"] == "changed_after_review" for h in hits):
        return "held"  # a person approved the old version; a person looks at the changed one
    if decision is Decision.HELD and {h.rule for h in verdict_hits if h.action is Action.HOLD} <= WAITING_RULES:
        return "pending"
    return decision.value


def _review_order(row: tuple, lines: list[tuple], cipher: PiiCipher, own_locked: dict[int, int]) -> ReviewOrder:
    (
        order_id,
        shop_id,
        _,
        total_amount,
        paid_at,
        province,
        city,
        district,
        street,
        phone,
        buyer_index,
        phone_index,
        address_index,
        buyer_remark,
        seller_remark,
        refund_requested,
        _,
    ) = row
    return ReviewOrder(
        id=order_id,
        shop_id=shop_id,
        total_amount=total_amount,
        paid_at=paid_at,
        province=province,
        city=city,
        district=district,
        street=cipher.decrypt(street),
        phone=cipher.decrypt(phone),
        buyer_index=buyer_index,
        phone_index=phone_index,
        address_index=address_index,
        buyer_remark=buyer_remark,
        seller_remark=seller_remark,
        lines=[ReviewLine(*line) for line in lines],
        own_locked=own_locked,
        refund_requested=refund_requested,
    )


@dataclass
class SkuFacts:
    """SKU history and unit cost, gathered across a review run's batches."""

    history: dict[int, SkuHistory] = field(default_factory=dict)
    costs: dict[int, Decimal] = field(default_factory=dict)
    seen: set[int] = field(default_factory=set)

    def cover(self, conn, sku_ids: set[int]) -> None:
        missing = sku_ids - self.seen
        if missing:
            history, costs = review_repo.sku_history(conn, missing)
            self.history.update(history)
            self.costs.update(costs)
            self.seen |= missing


def _context(conn, batch: list[ReviewOrder], now: datetime, window_hours: int, known: SkuFacts) -> ReviewContext:
    since = now - timedelta(hours=window_hours)
    black = review_repo.blacklisted(conn)
    buyer_orders, buyer_refunds = review_repo.buyer_refund_counts(conn, {o.buyer_index for o in batch if o.buyer_index})
    sku_ids = {line.sku_id for o in batch for line in o.lines if line.sku_id is not None}
    known.cover(conn, sku_ids)
    credit = receivables.credit_positions(conn, {(o.shop_id, o.buyer_index) for o in batch if o.buyer_index}, now)
    on_account = [
        (o.id, credit[(o.shop_id, o.buyer_index)].customer, o.total_amount)
        for o in batch
        if (o.shop_id, o.buyer_index) in credit
    ]
    return ReviewContext(
        now=now,
        blacklisted_buyers=black["buyer"],
        blacklisted_phones=black["phone"],
        blacklisted_addresses=black["address"],
        recent_orders_by_phone=review_repo.recent_counts(
            conn, orders.c.phone_index, {o.phone_index for o in batch if o.phone_index}, since
        ),
        recent_orders_by_address=review_repo.recent_counts(
            conn, orders.c.address_index, {o.address_index for o in batch if o.address_index}, since
        ),
        buyer_orders=buyer_orders,
        buyer_refunds=buyer_refunds,
        # copies: the next batch's read adds to them while the rules read this batch's
        sku_history=dict(known.history),
        sku_unit_cost=dict(known.costs),
        sku_available=review_repo.sku_available(conn, sku_ids),
        customer_credit=credit,
        credit_ahead=amounts_ahead(on_account),
    )


def decide(
    db: Database,
    actor: Actor,
    order_ids: list[int],
    *,
    approve: bool,
    note: str,
    now: datetime,
    stage: str = "customer_service",
) -> int:
    """Staff's decision, all orders or none: customer service (客审) on held orders, finance (财审) on orders
    awaiting it. Approval by customer service goes on to finance where the shop asks for it."""
    if not order_ids:
        raise InvalidRequest("Name at least one order.")
    expected = {"customer_service": "held", "finance": "awaiting_finance"}[stage]
    with db.uow() as uow:
        found = review_repo.held_orders(uow.conn, sorted(set(order_ids)))
        missing = sorted(set(order_ids) - found.keys())
        if missing:
            raise NotFound(f"No order with id {', '.join(map(str, missing[:10]))}.")
        wrong = sorted(i for i, (status, _) in found.items() if status != expected)
        if wrong:
            raise InvalidRequest(
                f"Only orders that are {expected} can be decided here; not {expected}: "
                f"{', '.join(map(str, wrong[:10]))}."
            )
        finance = review_repo.finance_shops(uow.conn) if stage == "customer_service" else set()
        statuses = {
            i: ("rejected" if not approve else "awaiting_finance" if shop_id in finance else "approved")
            for i, (_, shop_id) in found.items()
        }
        review_repo.write_status(uow.conn, statuses, by=actor.label, at=now)
        audit_repo.record_many(
            uow.conn,
            [
                {
                    "actor": actor.label,
                    "action": f"order.review.{stage}.{status}",
                    "entity": "order",
                    "entity_id": str(i),
                    "at": now,
                    "details": {"note": note},
                }
                for i, status in sorted(statuses.items())
            ],
        )
        uow.commit()
    return len(found)


def add_to_blacklist(
    db: Database, cipher: PiiCipher, actor: Actor, *, kind: str, value: str, note: str, now: datetime
) -> dict[str, Any]:
    if kind not in BLACKLIST_KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(BLACKLIST_KINDS)}.")
    index = cipher.blind_index(value)
    if not index:
        raise InvalidRequest("The value to blacklist is empty.")
    label = mask_phone(value) if kind == "phone" else mask_name(value) if kind == "buyer" else value[:6] + "…"
    with db.uow() as uow:
        entry_id = review_repo.add_blacklist(
            uow.conn,
            {
                "kind": kind,
                "value_index": index,
                "label": label,
                "note": note,
                "created_at": now,
                "created_by": actor.label,
            },
        )
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="blacklist.add",
            entity="blacklist",
            entity_id=str(entry_id),
            at=now,
            details={"kind": kind, "label": label},
        )
        uow.commit()
    return {"id": entry_id, "kind": kind, "label": label, "note": note, "created_at": now, "created_by": actor.label}


def blacklist(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return [{k: v for k, v in e.items() if k != "value_index"} for e in review_repo.blacklist_entries(uow.conn)]


def remove_from_blacklist(db: Database, actor: Actor, entry_id: int, *, now: datetime) -> None:
    with db.uow() as uow:
        if review_repo.remove_blacklist(uow.conn, entry_id) == 0:
            raise NotFound(f"No blacklist entry {entry_id}.")
        audit_repo.record(
            uow.conn, actor=actor.label, action="blacklist.remove", entity="blacklist", entity_id=str(entry_id), at=now
        )
        uow.commit()
