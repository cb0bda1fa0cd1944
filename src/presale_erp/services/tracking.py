"""Parcel tracking (物流轨迹): traces pulled from an aggregator for parcels on their way, and traces the aggregators
push; each node stored once (its trace_key), attached to its parcel by (carrier, tracking number), the parcel's
tracking state kept at its newest node, and shipment alerts (stuck in transit, problem, refused, returned) opened
and resolved as the trace goes on. Lookups by tracking number and by order."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import tracking_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.errors import NotFound
from presale_erp.domain.shipping import CarrierError
from presale_erp.domain.tracking import (
    FINISHED,
    MOVING,
    STUCK_AFTER,
    CarrierTrace,
    Concern,
    Stage,
    TraceNode,
    concerns,
    trace_key,
)
from presale_erp.services import alerts

ALERT_KINDS = ("shipment_stuck", "shipment_exception")
PHONE_CARRIERS = frozenset({"SF"})  # answer traces only with the buyer's (or sender's) phone, last 4 digits
STAGE_ORDER = {stage.value: n for n, stage in enumerate(Stage)}


class TraceSource(Protocol):
    """An aggregator client that answers a parcel's trace now (Kuaidi100Client, KdniaoClient)."""

    def track(self, carrier: str, tracking_no: str, phone: str = "", /) -> CarrierTrace: ...


@dataclass
class Recorded:
    """What one answer or push did: nodes new to us, nodes we had already, nodes for numbers no parcel has."""

    stored: int = 0
    duplicates: int = 0
    unattached: int = 0
    parcels: list[str] = field(default_factory=list)
    alerts_opened: int = 0
    alerts_resolved: int = 0

    def add(self, other: Recorded) -> None:
        self.stored += other.stored
        self.duplicates += other.duplicates
        self.unattached += other.unattached
        self.parcels = sorted({*self.parcels, *other.parcels})
        self.alerts_opened += other.alerts_opened
        self.alerts_resolved += other.alerts_resolved


@dataclass
class PollReport:
    polled: int = 0
    failed: int = 0  # the aggregator could not answer for these; they are asked again next run
    recorded: Recorded = field(default_factory=Recorded)
    errors: list[str] = field(default_factory=list)  # the first few reasons, for the job's log


# --- pulling ------------------------------------------------------------------------------------------------------


def poll_due(
    db: Database,
    source: TraceSource,
    *,
    now: datetime,
    cipher: PiiCipher | None = None,
    batch: int = 100,
    workers: int = 8,
) -> PollReport:
    """Ask the aggregator for every parcel on its way, a batch at a time: the HTTP calls run concurrently and
    outside any transaction, each batch's nodes are written in one. Then look for parcels gone quiet (stuck)."""
    report, after = PollReport(), ""
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="tracking") as pool:
        while True:
            with db.uow(write=False) as uow:
                due = repo.parcels_to_poll(uow.conn, finished=[s.value for s in FINISHED], after=after, limit=batch)
                phones = repo.buyer_phones(uow.conn, [p["code"] for p in due if p["carrier"] in PHONE_CARRIERS])
            if not due:
                break
            asks = [(p, _last4(phones.get(p["code"]), cipher)) for p in due]
            answers = list(pool.map(lambda ask: _ask(source, *ask), asks))
            traces = [_tally(report, parcel, answer) for parcel, answer in zip(due, answers, strict=True)]
            with db.uow() as uow:
                report.recorded.add(record(uow.conn, [t for t in traces if t is not None], source="poll", now=now))
                uow.commit()
            after = due[-1]["code"]
    report.recorded.add(check_delays(db, now=now))
    return report


def _ask(source: TraceSource, parcel: dict[str, Any], phone: str) -> CarrierTrace | CarrierError:
    try:
        return source.track(parcel["carrier"], parcel["tracking_no"], phone)
    except CarrierError as exc:  # CarrierUnavailable too: it is one
        return exc


def _tally(report: PollReport, parcel: dict[str, Any], answer: CarrierTrace | CarrierError) -> CarrierTrace | None:
    report.polled += 1
    if isinstance(answer, CarrierTrace):
        return answer
    report.failed += 1  # asked again next run
    if len(report.errors) < 10:
        report.errors.append(f"{parcel['code']} {parcel['carrier']} {parcel['tracking_no']}: {answer}")
    return None


def _last4(stored: str | None, cipher: PiiCipher | None) -> str:
    if not stored or cipher is None:
        return ""
    return "".join(ch for ch in cipher.decrypt(stored) if ch.isdigit())[-4:]


# --- subscribing to pushes -----------------------------------------------------------------------------------


class PushSubscriber(Protocol):
    """An aggregator that pushes traces once a number is subscribed (Kuaidi100Client)."""

    def subscribe(self, carrier: str, tracking_no: str, callback_url: str, salt: str, phone: str = "", /) -> None: ...


@dataclass
class SubscribeReport:
    subscribed: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def subscribe_pushes(
    db: Database,
    client: PushSubscriber,
    *,
    callback_url: str,
    salt: str,
    now: datetime,
    cipher: PiiCipher | None = None,
    batch: int = 200,
) -> SubscribeReport:
    """订阅推送 for each parcel on its way not yet subscribed, so the aggregator pushes its nodes as they happen.
    A subscription is recorded as a finished job run keyed by the number: asked once, retried only if it failed."""
    report, after = SubscribeReport(), ""
    while True:
        with db.uow(write=False) as uow:
            due = repo.parcels_to_poll(uow.conn, finished=[s.value for s in FINISHED], after=after, limit=batch)
            done = repo.done_keys(uow.conn, [_subscription_key(p) for p in due])
            due_now = [p for p in due if _subscription_key(p) not in done]
            phones = repo.buyer_phones(uow.conn, [p["code"] for p in due_now if p["carrier"] in PHONE_CARRIERS])
        if not due:
            return report
        subscribed = [
            p
            for p in due_now
            if _subscribe(client, p, callback_url, salt, _last4(phones.get(p["code"]), cipher), report)
        ]
        with db.uow() as uow:
            repo.record_done(uow.conn, [_subscription_key(p) for p in subscribed], name="kuaidi100_subscribe", at=now)
            uow.commit()
        after = due[-1]["code"]


def _subscription_key(parcel: dict[str, Any]) -> str:
    return f"kuaidi100-subscribe:{parcel['carrier']}:{parcel['tracking_no']}"


def _subscribe(
    client: PushSubscriber, parcel: dict[str, Any], callback_url: str, salt: str, phone: str, report: SubscribeReport
) -> bool:
    try:
        client.subscribe(parcel["carrier"], parcel["tracking_no"], callback_url, salt, phone)
    except CarrierError as exc:
        report.failed += 1
        if len(report.errors) < 10:
            report.errors.append(f"{parcel['code']} {parcel['carrier']} {parcel['tracking_no']}: {exc}")
        return False
    report.subscribed += 1
    return True


# --- pushed -------------------------------------------------------------------------------------------------------


def accept_push(db: Database, traces: list[CarrierTrace], *, now: datetime) -> Recorded:
    """Store what an aggregator pushed (already verified and read by its adapter), in one transaction.
    A node for a number no parcel has is kept unattached: the push may have beaten our waybill's commit, and
    the node joins its parcel as soon as a poll or push sees the parcel."""
    with db.uow() as uow:
        recorded = record(uow.conn, traces, source="push", now=now)
        uow.commit()
    return recorded


# --- storing ------------------------------------------------------------------------------------------------------


def record(conn, traces: list[CarrierTrace], *, source: str, now: datetime) -> Recorded:
    """Store each node once, attach it to its parcel, bring the parcels' tracking state and alerts up to date."""
    numbers = sorted({(t.carrier, t.tracking_no) for t in traces})
    codes = repo.parcel_codes_by_number(conn, numbers)
    rows = _rows({trace_key(n.carrier, n.tracking_no, n.at, n.description): n for t in traces for n in t.nodes})
    known = repo.existing_keys(conn, list(rows))
    fresh = [_with_parcel(row, codes, source, now) for key, row in rows.items() if key not in known]
    repo.insert_traces(conn, fresh)
    repo.attach_unattached(conn, codes)
    recorded = Recorded(
        stored=len(fresh),
        duplicates=len(rows) - len(fresh),
        unattached=sum(1 for row in fresh if row["parcel_code"] is None),
        parcels=sorted(set(codes.values())),
    )
    opened, resolved = refresh_parcels(conn, recorded.parcels, now=now)
    recorded.alerts_opened, recorded.alerts_resolved = opened, resolved
    return recorded


def _rows(nodes: dict[str, TraceNode]) -> dict[str, dict[str, Any]]:
    return {
        key: {
            "trace_key": key,
            "carrier": n.carrier[:20],
            "tracking_no": n.tracking_no[:40],
            "at": n.at,
            "state": n.stage.value,
            "state_code": n.state_code[:20],
            "location": n.location[:200],
            "description": n.description[:1000],
        }
        for key, n in sorted(nodes.items())
    }


def _with_parcel(row: dict[str, Any], codes: dict[tuple[str, str], str], source: str, now: datetime) -> dict:
    return {**row, "parcel_code": codes.get((row["carrier"], row["tracking_no"])), "source": source, "received_at": now}


def refresh_parcels(conn, codes: list[str], *, now: datetime) -> tuple[int, int]:
    """Each parcel's tracking state from its newest stored node (whatever order nodes arrived in), then its
    alerts. Returns (alerts opened, alerts resolved)."""
    traces = repo.traces_of_parcels(conn, codes)
    newest = {code: max(rows, key=_journey_order) for code, rows in traces.items() if rows}
    repo.set_tracking_state(
        conn, [{"code": code, "state": row["state"], "at": row["at"]} for code, row in sorted(newest.items())]
    )
    return _sync_alerts(conn, repo.parcel_rows(conn, codes), newest, now)


def _journey_order(row: dict[str, Any]) -> tuple[datetime, int]:
    """Newest by time; at the same second the later stage of the journey (a signature after its 派件 note)."""
    return row["at"], STAGE_ORDER.get(row["state"], 0)


def check_delays(db: Database, *, now: datetime) -> Recorded:
    """Parcels whose newest node is older than the shortest stuck threshold get their alerts re-checked:
    a parcel goes quiet without any trace arriving to tell us."""
    quiet_since = now - min(STUCK_AFTER.values())
    with db.uow() as uow:
        quiet = repo.moving_parcels(uow.conn, states=[s.value for s in MOVING], quiet_since=quiet_since)
        if not quiet:
            return Recorded()
        newest = repo.traces_of_parcels(uow.conn, [p["code"] for p in quiet])
        latest = {code: max(rows, key=_journey_order) for code, rows in newest.items() if rows}
        opened, resolved = _sync_alerts(uow.conn, quiet, latest, now)
        uow.commit()
    return Recorded(parcels=[p["code"] for p in quiet], alerts_opened=opened, alerts_resolved=resolved)


# --- alerts -------------------------------------------------------------------------------------------------------


def _sync_alerts(
    conn, parcels: list[dict[str, Any]], newest: dict[str, dict[str, Any]], now: datetime
) -> tuple[int, int]:
    """One alert per (kind, parcel), open while its cause holds: opened, refreshed, reopened or resolved."""
    wanted: dict[str, tuple[Concern, dict[str, Any]]] = {}
    for parcel in parcels:
        for concern in concerns(parcel["tracking_state"], parcel["tracking_updated_at"], now, code=parcel["code"]):
            wanted[f"{concern.kind}:{parcel['code']}"] = (concern, parcel)
    values = repo.parcel_values(conn, sorted({p["code"] for _, p in wanted.values()}))
    rows = [
        _alert_row(key, concern, parcel, newest.get(parcel["code"]), values.get(parcel["code"]), now)
        for key, (concern, parcel) in sorted(wanted.items())
    ]
    considered = {f"{kind}:{p['code']}" for kind in ALERT_KINDS for p in parcels}
    synced = alerts.sync(conn, rows, run_id=None, now=now, in_scope=lambda alert: alert["key"] in considered)
    return synced.opened, synced.resolved


def _alert_row(
    key: str,
    concern: Concern,
    parcel: dict[str, Any],
    node: dict[str, Any] | None,
    value: Decimal | None,
    now: datetime,
) -> dict[str, Any]:
    last = node or {}
    return {
        "key": key,
        "kind": concern.kind,
        "severity": concern.severity,
        "warehouse_id": parcel.get("warehouse_id"),
        "money_at_stake": value or Decimal("0.00"),
        "title": concern.title[:300],
        "reason": concern.reason[:1500],
        "action": concern.action[:600],
        "details": {
            "parcel": parcel["code"],
            "carrier": parcel["carrier"],
            "tracking_no": parcel["tracking_no"],
            "tracking_state": parcel["tracking_state"],
            "last_node_at": parcel["tracking_updated_at"].isoformat() if parcel["tracking_updated_at"] else None,
            "last_node": last.get("description", ""),
            "state_code": last.get("state_code", ""),
        },
        "last_seen_at": now,
    }


# --- lookups ------------------------------------------------------------------------------------------------------


def by_tracking_number(db: Database, tracking_no: str) -> dict[str, Any]:
    """The parcels carrying this number with their traces, and nodes pushed for it that no parcel claims yet."""
    with db.uow(write=False) as uow:
        codes = repo.parcels_with_number(uow.conn, tracking_no)
        parcels = _parcel_views(uow.conn, codes)
        unattached = [_trace_view(row) for row in repo.unattached_traces(uow.conn, tracking_no)]
    if not parcels and not unattached:
        raise NotFound(f"No parcel and no trace for tracking number {tracking_no}.")
    return {"tracking_no": tracking_no, "parcels": parcels, "unattached_traces": unattached}


def by_order(db: Database, order_id: int) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        if not repo.order_exists(uow.conn, order_id):
            raise NotFound(f"No order {order_id}.")
        parcels = _parcel_views(uow.conn, repo.parcels_of_order(uow.conn, order_id))
    return {"order_id": order_id, "parcels": parcels}


def by_platform_order(db: Database, shop: str, platform_order_id: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        order_id = repo.order_id_of(uow.conn, shop, platform_order_id)
    if order_id is None:
        raise NotFound(f"No order {platform_order_id} in shop {shop}.")
    return {"shop": shop, "platform_order_id": platform_order_id, **by_order(db, order_id)}


def _parcel_views(conn, codes: list[str]) -> list[dict[str, Any]]:
    traces = repo.traces_of_parcels(conn, codes)
    orders = repo.orders_of_parcels(conn, codes)
    open_alerts = repo.open_alerts(conn, ALERT_KINDS, codes)
    return [
        {
            **{k: parcel[k] for k in ("code", "carrier", "tracking_no", "status", "tracking_state")},
            "tracking_updated_at": parcel["tracking_updated_at"],
            "orders": orders.get(parcel["code"], []),
            "alerts": [
                {"kind": a["kind"], "severity": a["severity"], "title": a["title"], "action": a["action"]}
                for a in open_alerts
                if a["key"].endswith(f":{parcel['code']}")
            ],
            "traces": [_trace_view(row) for row in reversed(traces.get(parcel["code"], []))],  # newest first
        }
        for parcel in repo.parcel_rows(conn, codes)
    ]


def _trace_view(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("carrier", "tracking_no", "at", "state", "state_code", "location", "description", "source")
    return {k: row[k] for k in keep}
