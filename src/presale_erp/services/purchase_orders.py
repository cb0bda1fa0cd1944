"""A purchase order's life (采购单): made by hand, from suggestions (services/purchasing.py) or from an Excel sheet;
sent, confirmed, reported on by the supplier (milestones, shipping notices), rescheduled, received, closed or
cancelled. Every change is a timestamped event the merchant sees. After each change, and hourly, the risk check
flags lines whose promised date is unlikely (at risk) or past (late), and keeps an alert open per flagged line
with the presale orders and revenue that wait on it and the other suppliers that could deliver instead."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import purchase_order_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.importing import purchase_order_sheet
from presale_erp.domain import purchasing as rules
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.money import yuan
from presale_erp.services import alerts, webhooks
from presale_erp.services.demand_history import beijing_day

EVENTS = {
    "purchase_order.sent": "A purchase order was sent to its supplier.",
    "purchase_order.confirmed": "A supplier confirmed a purchase order (quantities and promised dates).",
    "purchase_order.milestone": "A supplier reported a production milestone on a purchase order.",
    "purchase_order.asn": "A supplier sent an advance shipping notice (到货通知) for a purchase order.",
    "purchase_order.rescheduled": "A purchase order line got a new promised date.",
    "purchase_order.cancelled": "A purchase order was cancelled.",
    "purchase_order.closed": "A purchase order was closed short: the rest will not come.",
    "purchase_order.received": "Goods arrived on a purchase order.",
}
for _name, _meaning in EVENTS.items():
    webhooks.register_event(_name, _meaning)

RISK_KINDS = {rules.RiskStatus.AT_RISK: "po_line_at_risk", rules.RiskStatus.LATE: "po_line_late"}
SEVERITY = {rules.RiskStatus.AT_RISK: "warning", rules.RiskStatus.LATE: "critical"}


# --- Making purchase orders ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewLine:
    sku: str
    quantity: int
    unit_cost: Decimal
    promised_on: date | None = None


@dataclass(frozen=True)
class NewPurchaseOrder:
    supplier: str
    warehouse: str
    lines: list[NewLine]
    note: str = ""


def create(db: Database, actor: Actor, new: NewPurchaseOrder, *, now: datetime) -> dict[str, Any]:
    """A draft purchase order made by hand; a line without a promised date gets the supplier's lead time."""
    with db.uow() as uow:
        (code,) = _create_all(uow.conn, actor, [new], now)
        uow.commit()
    return detail(db, code)


def _create_all(conn, actor: Actor, orders: list[NewPurchaseOrder], now: datetime) -> list[str]:
    codes = []
    for new in orders:
        _check_lines(new)
        supplier = repo.supplier_by_code(conn, new.supplier)
        warehouse_id = lookups.warehouse_ids(conn, [new.warehouse])[new.warehouse]
        sku_ids = lookups.sku_ids(conn, [line.sku for line in new.lines])
        lead = {
            t["sku_id"]: t["lead_time_days"]
            for t in repo.terms_of(conn, list(sku_ids.values()))
            if t["supplier_id"] == supplier["id"]
        }
        today = beijing_day(now)
        line_rows = [
            {
                "line_no": n,
                "sku_id": sku_ids[line.sku],
                "quantity": line.quantity,
                "unit_cost": line.unit_cost,
                "promised_on": line.promised_on
                or _after(today, lead.get(sku_ids[line.sku], supplier["lead_time_days"])),
                "suggestion_id": None,
            }
            for n, line in enumerate(new.lines, start=1)
        ]
        row = {
            "supplier_id": supplier["id"],
            "warehouse_id": warehouse_id,
            "status": rules.PoStatus.DRAFT.value,
            "note": new.note[:1000],
            "created_at": now,
            "created_by": actor.label,
        }
        made = repo.insert(conn, row, line_rows, today)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="purchase_order.create",
            entity="purchase_order",
            entity_id=made["code"],
            at=now,
            details={"lines": len(line_rows)},
        )
        codes.append(made["code"])
    return codes


def _check_lines(new: NewPurchaseOrder) -> None:
    if not new.lines:
        raise InvalidRequest("A purchase order needs at least one line.")
    bad = [line.sku for line in new.lines if line.quantity < 1 or line.unit_cost < 0]
    if bad:
        raise InvalidRequest(f"Quantities must be at least 1 and prices not negative: {', '.join(bad)}.")


def _after(day: date, lead_days: Decimal) -> date:
    return date.fromordinal(day.toordinal() + int(Decimal(lead_days).to_integral_value()))


def import_sheet(db: Database, actor: Actor, content: bytes, *, now: datetime) -> list[dict[str, Any]]:
    """Draft purchase orders from an Excel sheet: one per 采购单号 (or, without one, per supplier and warehouse),
    a line per row. All or nothing: a sheet with any bad row creates nothing and names every bad row."""
    try:
        rows = purchase_order_sheet.read_rows(content)
    except purchase_order_sheet.SheetError as exc:
        raise InvalidRequest(str(exc)) from None
    if not rows:
        raise InvalidRequest("The sheet has no purchase order lines.")
    groups: dict[tuple[str, str, str], list[NewLine]] = defaultdict(list)
    notes: dict[tuple[str, str, str], str] = {}
    errors = []
    for row in rows:
        try:
            key, line = _sheet_line(row)
        except InvalidRequest as exc:
            errors.append(f"row {row['row']}: {exc.detail}")
            continue
        groups[key].append(line)
        notes.setdefault(key, str(row.get("note") or "").strip())
    if errors:
        raise InvalidRequest("Nothing imported. " + "; ".join(errors[:20]) + (" ..." if len(errors) > 20 else ""))
    orders = [
        NewPurchaseOrder(supplier, warehouse, lines, notes[(ref, supplier, warehouse)] or f"Imported {ref}".strip())
        for (ref, supplier, warehouse), lines in groups.items()
    ]
    with db.uow() as uow:
        codes = _create_all(uow.conn, actor, orders, now)
        uow.commit()
    return [detail(db, code) for code in codes]


def _sheet_line(row: dict[str, Any]) -> tuple[tuple[str, str, str], NewLine]:
    text = {k: str(row.get(k) or "").strip() for k in ("ref", "supplier", "warehouse", "sku")}
    empty = [k for k in ("supplier", "warehouse", "sku") if not text[k]]
    if empty:
        raise InvalidRequest(f"{', '.join(empty)} empty")
    try:
        quantity = int(Decimal(str(row.get("quantity"))))
        unit_cost = yuan(str(row.get("unit_cost")).strip())
    except (InvalidOperation, ValueError, TypeError):
        bad = f"quantity {row.get('quantity')!r} or price {row.get('unit_cost')!r} is not a number"
        raise InvalidRequest(bad) from None
    if quantity < 1 or unit_cost < 0:
        raise InvalidRequest("quantity must be at least 1 and the price not negative")
    line = NewLine(text["sku"], quantity, unit_cost, _sheet_day(row.get("promised_on")))
    return (text["ref"], text["supplier"], text["warehouse"]), line


def _sheet_day(value: Any) -> date | None:
    if value is None or str(value).strip() == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        raise InvalidRequest(f"promised date {value!r} is not a date (YYYY-MM-DD)") from None


# --- The life of an order -----------------------------------------------------------------------------------------


def send(db: Database, actor: Actor, code: str, *, now: datetime) -> dict[str, Any]:
    return _change(db, actor, code, "sent", now=now)


def confirm(
    db: Database,
    actor: Actor,
    code: str,
    *,
    promised: dict[int, date] | None = None,
    note: str = "",
    supplier: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """The supplier accepts the order, optionally with its own promised date per line (the dates it can keep)."""
    return _change(db, actor, code, "confirmed", now=now, promised=promised, note=note, supplier=supplier)


def cancel(db: Database, actor: Actor, code: str, *, reason: str, now: datetime) -> dict[str, Any]:
    return _change(db, actor, code, "cancelled", now=now, note=_reason(reason))


def close(db: Database, actor: Actor, code: str, *, reason: str, now: datetime) -> dict[str, Any]:
    """Close short (已关闭): what was received stays, the rest is no longer expected."""
    return _change(db, actor, code, "closed", now=now, note=_reason(reason))


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidRequest("Say why, so the supplier and colleagues can see it in the history.")
    return reason.strip()


def _change(
    db: Database,
    actor: Actor,
    code: str,
    to_state: str,
    *,
    now: datetime,
    promised: dict[int, date] | None = None,
    note: str = "",
    supplier: str | None = None,
) -> dict[str, Any]:
    with db.uow() as uow:
        conn = uow.conn
        po = _load(conn, code, supplier=supplier)
        rules.check_transition(po["status"], to_state)
        repo.set_status(conn, po["id"], to_state)
        events = [_event(po, to_state, actor, now, note=note)]
        if promised:
            events += _repromise(conn, po, promised, actor, now, note="confirmed with a new date")
        repo.add_events(conn, events)
        _publish(conn, f"purchase_order.{to_state}", po, now, {"status": to_state, "note": note})
        check_risks_in(conn, now, po_ids=[po["id"]])
        uow.commit()
    return detail(db, code)


def _load(conn, code: str, *, supplier: str | None = None, lock: bool = True) -> dict[str, Any]:
    """The order, locked for the change; a supplier sees only its own orders, and never drafts (it would learn
    nothing from a 403 that a 404 does not tell it, and nothing about other suppliers' codes)."""
    po = repo.header(conn, code, lock=lock)
    if supplier is not None and (po["supplier"] != supplier or po["status"] == rules.PoStatus.DRAFT):
        raise NotFound(f"No purchase order {code}.")
    return po


def _event(po, kind: str, actor: Actor, now: datetime, **values: Any) -> dict[str, Any]:
    return {
        "purchase_order_id": po["id"],
        "line_no": values.get("line_no"),
        "kind": kind,
        "milestone": values.get("milestone"),
        "promised_on": values.get("promised_on"),
        "note": (values.get("note") or "")[:1000],
        "at": now,
        "actor": actor.label,
    }


def _repromise(conn, po, promised: dict[int, date], actor: Actor, now: datetime, note: str) -> list[dict[str, Any]]:
    known = {line["line_no"] for line in repo.lines(conn, [po["id"]])}
    unknown = sorted(set(promised) - known)
    if unknown:
        raise InvalidRequest(f"{po['code']} has no line {', '.join(map(str, unknown))}.")
    repo.set_promised(conn, po["id"], promised)
    return [
        _event(po, "rescheduled", actor, now, line_no=n, promised_on=day, note=note)
        for n, day in sorted(promised.items())
    ]


def _publish(conn, event: str, po: dict[str, Any], now: datetime, extra: dict[str, Any]) -> None:
    webhooks.enqueue(conn, event, {"purchase_order": po["code"], "supplier": po["supplier"], **extra}, now)


def report_milestone(
    db: Database,
    actor: Actor,
    code: str,
    milestone: str,
    *,
    line_no: int | None = None,
    note: str = "",
    supplier: str | None = None,
    now: datetime,
) -> dict[str, Any]:
    """备料 / 生产 / 质检 / 发货: progress on the whole order or one line."""
    reached = rules.parse_milestone(milestone)
    with db.uow() as uow:
        conn = uow.conn
        po = _reportable(conn, code, supplier, line_no)
        repo.add_events(
            conn, [_event(po, "milestone", actor, now, line_no=line_no, milestone=reached.value, note=note)]
        )
        _publish(conn, "purchase_order.milestone", po, now, {"milestone": reached.value, "line_no": line_no})
        check_risks_in(conn, now, po_ids=[po["id"]])
        uow.commit()
    return detail(db, code)


def _reportable(conn, code: str, supplier: str | None, line_no: int | None) -> dict[str, Any]:
    po = _load(conn, code, supplier=supplier)
    if po["status"] not in rules.REPORTABLE_STATUSES:
        raise Conflict(f"{code} is {po['status']}: progress can be reported only on a placed, unfinished order.")
    if line_no is not None and line_no not in {line["line_no"] for line in repo.lines(conn, [po["id"]])}:
        raise InvalidRequest(f"{code} has no line {line_no}.")
    return po


@dataclass(frozen=True)
class NewAsn:
    code: str
    shipped_at: datetime
    expected_on: date
    lines: dict[int, int]  # purchase order line -> units shipped
    carrier: str | None = None
    tracking_no: str | None = None
    note: str = ""


def add_asn(
    db: Database, actor: Actor, code: str, asn: NewAsn, *, supplier: str | None = None, now: datetime
) -> dict[str, Any]:
    """到货通知: the supplier says what it shipped and when it should arrive. Shipping more than is still
    outstanding on a line is refused."""
    with db.uow() as uow:
        conn = uow.conn
        po = _reportable(conn, code, supplier, None)
        _check_asn(conn, po, asn)
        sku_of = {line["line_no"]: line["sku_id"] for line in repo.lines(conn, [po["id"]])}
        row = {
            "code": asn.code,
            "purchase_order_id": po["id"],
            "shipped_at": asn.shipped_at,
            "expected_on": asn.expected_on,
            "carrier": asn.carrier,
            "tracking_no": asn.tracking_no,
            "status": "in_transit",
            "created_at": now,
            "created_by": actor.label,
        }
        repo.insert_asn(conn, row, [{"line_no": n, "sku_id": sku_of[n], "quantity": q} for n, q in asn.lines.items()])
        note = f"ASN {asn.code}: {sum(asn.lines.values())} units, expected {asn.expected_on}. {asn.note}".strip()
        repo.add_events(conn, [_event(po, "asn", actor, now, note=note, promised_on=asn.expected_on)])
        _publish(
            conn,
            "purchase_order.asn",
            po,
            now,
            {"asn": asn.code, "expected_on": asn.expected_on, "lines": {str(n): q for n, q in asn.lines.items()}},
        )
        check_risks_in(conn, now, po_ids=[po["id"]])
        uow.commit()
    return detail(db, code)


def _check_asn(conn, po: dict[str, Any], asn: NewAsn) -> None:
    if not asn.code.strip() or not asn.lines:
        raise InvalidRequest("A shipping notice needs its own code and at least one line.")
    if repo.asn_code_taken(conn, asn.code):
        raise Conflict(f"Shipping notice {asn.code} already exists.")
    lines = {line["line_no"]: line for line in repo.lines(conn, [po["id"]])}
    shipped: dict[int, int] = defaultdict(int)
    for row in repo.asn_rows(conn, [po["id"]]):
        shipped[row["line_no"]] += row["quantity"]
    wrong = []
    for n, quantity in sorted(asn.lines.items()):
        line = lines.get(n)
        left = line["quantity"] - max(line["received_quantity"], shipped[n]) if line else 0
        if line is None or quantity < 1 or quantity > left:
            wrong.append(f"line {n}: {quantity} shipped, {left} still to ship")
    if wrong:
        raise InvalidRequest(f"The shipping notice does not fit {po['code']}: " + "; ".join(wrong) + ".")


def reschedule(
    db: Database, actor: Actor, code: str, promised: dict[int, date], *, note: str = "", now: datetime
) -> dict[str, Any]:
    """New promised dates (the supplier slipped, or the merchant agreed to later delivery); the risk checks run
    again at once, so an alert reflects the new dates."""
    if not promised:
        raise InvalidRequest("Give at least one line's new promised date.")
    with db.uow() as uow:
        conn = uow.conn
        po = _load(conn, code)
        if po["status"] not in rules.RESCHEDULABLE_STATUSES:
            raise Conflict(f"{code} is {po['status']}: only a draft or placed, unfinished order can be rescheduled.")
        repo.add_events(conn, _repromise(conn, po, promised, actor, now, note=note))
        _publish(
            conn, "purchase_order.rescheduled", po, now, {"lines": {str(n): d.isoformat() for n, d in promised.items()}}
        )
        check_risks_in(conn, now, po_ids=[po["id"]])
        uow.commit()
    return detail(db, code)


def record_receipt(conn, actor: Actor, po_id: int, received: dict[int, int], *, note: str = "", now: datetime) -> str:
    """For receiving (入库), inside its transaction: add the units accepted per line, move the order to
    partly_received or received, write the history event, and re-run the risk check (a fully received line is
    on track, and its alert resolves). Returns the new status."""
    po = repo.header_by_id(conn, po_id)
    repo.add_received(conn, po_id, received)
    status = rules.status_after_receipt(
        [(line["quantity"], line["received_quantity"]) for line in repo.lines(conn, [po_id])]
    )
    rules.check_transition(po["status"], status)
    repo.set_status(conn, po_id, status)
    repo.add_events(
        conn,
        [
            _event(po, "received", actor, now, line_no=n, note=f"{q} received. {note}".strip())
            for n, q in sorted(received.items())
        ],
    )
    _publish(
        conn, "purchase_order.received", po, now, {"status": status, "lines": {str(n): q for n, q in received.items()}}
    )
    check_risks_in(conn, now, po_ids=[po_id])
    return status


# --- Reading ------------------------------------------------------------------------------------------------------


def detail(db: Database, code: str, *, supplier: str | None = None) -> dict[str, Any]:
    """Header, lines with their risk, shipping notices and the whole history, oldest first."""
    with db.uow(write=False) as uow:
        return _detail(uow.conn, code, supplier)


def _detail(conn, code: str, supplier: str | None) -> dict[str, Any]:
    po = _load(conn, code, supplier=supplier, lock=False)
    risks = {r["line_no"]: r for r in repo.risks(conn, [po["id"]])}
    lines = [
        {
            "line_no": line["line_no"],
            "sku": line["sku"],
            "quantity": line["quantity"],
            "unit_cost": line["unit_cost"],
            "promised_on": line["promised_on"],
            "received_quantity": line["received_quantity"],
            "suggestion_id": line["suggestion_id"],
            "risk": risks[line["line_no"]]["status"] if line["line_no"] in risks else "on_track",
            "risk_reason": risks[line["line_no"]]["reason"] if line["line_no"] in risks else "",
        }
        for line in repo.lines(conn, [po["id"]])
    ]
    total = sum((line["unit_cost"] * line["quantity"] for line in lines), Decimal("0"))
    return {
        **{k: po[k] for k in ("id", "code", "status", "supplier", "supplier_name", "warehouse", "note")},
        **{k: po[k] for k in ("created_at", "created_by")},
        "total": total,
        "lines": lines,
        "asns": repo.asn_rows(conn, [po["id"]]),
        "history": [_plain_event(e) for e in repo.events(conn, [po["id"]])],
    }


def _plain_event(event: dict[str, Any]) -> dict[str, Any]:
    keep = ("kind", "line_no", "milestone", "promised_on", "note", "at", "actor")
    return {k: event[k] for k in keep}


def history(db: Database, code: str, *, supplier: str | None = None) -> list[dict[str, Any]]:
    return detail(db, code, supplier=supplier)["history"]


def list_for_supplier(db: Database, supplier: str) -> list[dict[str, Any]]:
    """A supplier's placed orders (never drafts), newest first."""
    with db.uow(write=False) as uow:
        found = repo.supplier_by_code(uow.conn, supplier)
        placed = [s.value for s in rules.PoStatus if s != rules.PoStatus.DRAFT]
        rows = repo.headers(uow.conn, supplier_id=found["id"], statuses=placed)
    return [{k: r[k] for k in ("code", "status", "warehouse", "created_at")} for r in rows]


# --- Risk ---------------------------------------------------------------------------------------------------------


@dataclass
class RiskReport:
    checked: int = 0
    at_risk: int = 0
    late: int = 0
    alerts_opened: int = 0
    alerts_resolved: int = 0
    flagged: list[dict[str, Any]] = field(default_factory=list)


def check_risks(db: Database, actor: Actor, *, now: datetime) -> RiskReport:
    """The hourly pass over every open purchase order."""
    with db.uow() as uow:
        report = check_risks_in(uow.conn, now)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="purchase_order.risk_check",
            entity="purchase_order",
            entity_id="*",
            at=now,
            details={"at_risk": report.at_risk, "late": report.late},
        )
        uow.commit()
    return report


def check_risks_in(conn, now: datetime, *, po_ids: list[int] | None = None) -> RiskReport:
    """Assess lines (all open orders, or just `po_ids`), store each line's flag, and keep one alert open per
    flagged line: opened, refreshed, or resolved when the line is back on track or no longer expected."""
    today = beijing_day(now)
    heads = (
        repo.headers(conn, statuses=rules.OPEN_STATUSES)
        if po_ids is None
        else [repo.header_by_id(conn, i) for i in po_ids]
    )
    by_id = {h["id"]: h for h in heads}
    lines = repo.lines(conn, list(by_id))
    progress = _progress(conn, by_id, lines)
    report = RiskReport(checked=len(lines))
    flagged = []
    risk_rows = []
    for line in lines:
        assessment = rules.assess_line(progress[(line["purchase_order_id"], line["line_no"])], today)
        risk_rows.append(
            {
                "purchase_order_id": line["purchase_order_id"],
                "line_no": line["line_no"],
                "status": assessment.status.value,
                "reason": assessment.reason[:1000],
                "checked_at": now,
            }
        )
        if assessment.status != rules.RiskStatus.ON_TRACK:
            flagged.append((by_id[line["purchase_order_id"]], line, assessment))
    repo.save_risks(conn, risk_rows)
    report.at_risk = sum(1 for _, _, a in flagged if a.status == rules.RiskStatus.AT_RISK)
    report.late = sum(1 for _, _, a in flagged if a.status == rules.RiskStatus.LATE)
    candidates = _alerts(conn, flagged)
    report.flagged = candidates
    scope = None if po_ids is None else {h["code"] for h in heads}
    synced = alerts.sync(conn, candidates, run_id=None, now=now, in_scope=_risk_alert_of(scope))
    report.alerts_opened, report.alerts_resolved = synced.opened, synced.resolved
    return report


def _progress(conn, by_id, lines) -> dict[tuple[int, int], rules.LineProgress]:
    events = repo.events(conn, list(by_id))
    sent_on: dict[int, date] = {}
    milestones: dict[tuple[int, int | None], list[str]] = defaultdict(list)
    for e in events:
        if e["kind"] == "sent":
            sent_on.setdefault(e["purchase_order_id"], beijing_day(e["at"]))
        elif e["kind"] == "milestone":
            milestones[(e["purchase_order_id"], e["line_no"])].append(e["milestone"])
    expected: dict[tuple[int, int], date] = {}
    for a in repo.asn_rows(conn, list(by_id)):
        key = (a["purchase_order_id"], a["line_no"])
        expected[key] = max(expected.get(key, a["expected_on"]), a["expected_on"])
    return {
        (line["purchase_order_id"], line["line_no"]): rules.LineProgress(
            status=by_id[line["purchase_order_id"]]["status"],
            quantity=line["quantity"],
            received=line["received_quantity"],
            promised_on=line["promised_on"],
            sent_on=sent_on.get(line["purchase_order_id"]),
            milestones=tuple(
                milestones[(line["purchase_order_id"], None)] + milestones[(line["purchase_order_id"], line["line_no"])]
            ),
            asn_expected_on=expected.get((line["purchase_order_id"], line["line_no"])),
        )
        for line in lines
    }


def _alerts(conn, flagged) -> list[dict[str, Any]]:
    keys = {(line["sku_id"], po["warehouse_id"]) for po, line, _ in flagged}
    bookings: dict[tuple[int, int], list[rules.Booking]] = defaultdict(list)
    for b in repo.bookings(conn, keys):
        bookings[(b["sku_id"], b["warehouse_id"])].append(
            rules.Booking(
                b["order_id"],
                b["shop"],
                b["platform_order_id"],
                b["paid_at"],
                int(b["quantity"]),
                Decimal(b["revenue"] or 0),
            )
        )
    free = repo.free_on_hand(conn, keys)
    terms = defaultdict(list)
    for t in repo.terms_of(conn, sorted({sku for sku, _ in keys})):
        terms[t["sku_id"]].append(t)
    scores = _scores(conn, {t["supplier_id"] for ts in terms.values() for t in ts})
    return [
        _candidate(
            po,
            line,
            assessment,
            rules.waiting_on_inbound(
                bookings[(line["sku_id"], po["warehouse_id"])], free.get((line["sku_id"], po["warehouse_id"]), 0)
            ),
            rules.alternatives([_terms(t, scores) for t in terms[line["sku_id"]]], po["supplier"]),
        )
        for po, line, assessment in flagged
    ]


def _terms(row: dict[str, Any], scores: dict[int, int | None]) -> rules.SupplierTerms:
    return rules.SupplierTerms(
        row["supplier"],
        row["name"],
        row["unit_cost"],
        row["min_order"],
        Decimal(format(Decimal(row["lead_time_days"]).normalize(), "f")),  # 7.00 days reads as 7 days
        scores.get(row["supplier_id"]),
    )


def _candidate(po, line, assessment: rules.RiskAssessment, waiting, others) -> dict[str, Any]:
    kind = RISK_KINDS[assessment.status]
    outstanding = line["quantity"] - line["received_quantity"]
    revenue = sum((b.revenue for b in waiting), Decimal("0.00"))
    what = f"{po['code']} line {line['line_no']} ({line['sku']} × {outstanding} from {po['supplier']})"
    word = "is late" if assessment.status == rules.RiskStatus.LATE else "may miss its promised date"
    reason = f"{what} {word}: {assessment.reason}. {len(waiting)} presale order(s) worth ¥{revenue} wait on it."
    action = f"Chase {po['supplier']} or reschedule the line"
    if others:
        action += "; or buy from " + ", ".join(
            f"{t.supplier} ({t.lead_time_days} days, ¥{t.unit_cost})" for t in others[:3]
        )
    return {
        "key": f"{kind}:{po['code']}:{line['line_no']}",
        "kind": kind,
        "severity": SEVERITY[assessment.status],
        "sku_id": line["sku_id"],
        "warehouse_id": po["warehouse_id"],
        "campaign_id": None,
        "money_at_stake": revenue,
        "title": f"{po['code']} / {line['sku']}: {assessment.status.value.replace('_', ' ')}"[:300],
        "reason": reason[:1500],
        "action": (action + ".")[:600],
        "details": _details(po, line, assessment, outstanding, waiting, others, revenue),
    }


def _details(po, line, assessment, outstanding, waiting, others, revenue) -> dict[str, Any]:
    return {
        "purchase_order": po["code"],
        "line_no": line["line_no"],
        "supplier": po["supplier"],
        "sku": line["sku"],
        "warehouse": po["warehouse"],
        "promised_on": line["promised_on"].isoformat(),
        "outstanding": outstanding,
        "risk": assessment.status.value,
        "reasons": list(assessment.reasons),
        "revenue_at_stake": str(revenue),
        "affected_orders": [
            {
                "shop": b.shop,
                "platform_order_id": b.platform_order_id,
                "quantity": b.quantity,
                "revenue": str(b.revenue),
                "paid_at": b.paid_at.isoformat() if b.paid_at else None,
            }
            for b in waiting
        ],
        "alternatives": [
            {
                "supplier": t.supplier,
                "name": t.name,
                "unit_cost": str(t.unit_cost),
                "min_order": t.min_order,
                "lead_time_days": str(t.lead_time_days),
                "reliability": t.score,
            }
            for t in others
        ],
    }


def _risk_alert_of(scope: set[str] | None) -> Callable[[dict[str, Any]], bool]:
    """Only purchase order alerts in scope, so a check of one order never resolves another order's alert."""

    def in_scope(alert: dict[str, Any]) -> bool:
        return alert["kind"] in RISK_KINDS.values() and (
            scope is None or alert["details"].get("purchase_order") in scope
        )

    return in_scope


# --- Supplier reliability -----------------------------------------------------------------------------------------


def reliability(db: Database, supplier: str) -> dict[str, Any]:
    """On-time rate, lead time mean and spread, fill rate and a 0-100 score, learned from the supplier's
    finished deliveries (lines received in full, or closed)."""
    with db.uow(write=False) as uow:
        found = repo.supplier_by_code(uow.conn, supplier)
        score = rules.reliability(_deliveries(repo.delivered_lines(uow.conn, [found["id"]])))
    return {"supplier": supplier, **score.__dict__}


def _scores(conn, supplier_ids: set[int]) -> dict[int, int | None]:
    by_supplier = defaultdict(list)
    for row in repo.delivered_lines(conn, sorted(supplier_ids)):
        by_supplier[row["supplier_id"]].append(row)
    return {s: rules.reliability(_deliveries(by_supplier[s])).score for s in supplier_ids}


def _deliveries(rows: list[dict[str, Any]]) -> list[rules.Delivery]:
    finished = [r for r in rows if r["received_quantity"] >= r["quantity"] or r["status"] == "closed"]
    return [
        rules.Delivery(
            sent_on=beijing_day(r["sent_at"]),
            promised_on=r["promised_on"],
            received_on=beijing_day(r["received_at"]) if r["received_at"] else None,
            ordered=r["quantity"],
            received=r["received_quantity"],
        )
        for r in finished
    ]
