"""Alerts (预警): one per cause (kind, SKU, warehouse, campaign), kept open and refreshed while the cause holds,
resolved when it is gone, reopened if it comes back. Opening and resolving are pushed to webhook subscribers
in the same transaction (the outbox)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import planning_repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import NotFound
from presale_erp.services import webhooks

PLANNING_KINDS = frozenset(
    {"below_safety_stock", "stockout_before_inbound", "presale_ahead_of_stock", "overstock_after_campaign"}
)


def candidate(
    *,
    kind: str,
    severity: str,
    position: dict[str, Any],
    money: Decimal,
    title: str,
    reason: str,
    action: str,
    details: dict[str, Any],
    campaign_id: int | None = None,
) -> dict[str, Any]:
    """An alert as a planning pass finds it, before it is matched with what is already open."""
    key = f"{kind}:{position['sku']}:{position['warehouse']}" + (f":{campaign_id}" if campaign_id else "")
    return {
        "key": key,
        "kind": kind,
        "severity": severity,
        "sku_id": position["sku_id"],
        "warehouse_id": position["warehouse_id"],
        "campaign_id": campaign_id,
        "money_at_stake": money,
        "title": title[:300],
        "reason": reason[:1500],
        "action": action[:600],
        "details": _plain(details),
    }


@dataclass(frozen=True)
class Synced:
    opened: int
    refreshed: int
    resolved: int


def sync(
    conn,
    candidates: list[dict[str, Any]],
    *,
    run_id: int | None,
    now: datetime,
    in_scope: Callable[[dict[str, Any]], bool] = lambda alert: alert["kind"] in PLANNING_KINDS,
) -> Synced:
    """Match what one pass found with the alerts on record, inside the caller's transaction: open the new ones,
    refresh those still there, reopen those that came back, and resolve the open ones in scope (the alerts this
    pass looked at: planning's kinds, one purchase order's lines, a set of parcels) that it no longer finds."""
    found = {c["key"]: c for c in candidates}
    open_now = {k: a for k, a in planning_repo.open_alerts_by_key(conn).items() if in_scope(a) or k in found}
    known = planning_repo.alert_ids_by_key(conn, [k for k in found if k not in open_now])
    new_rows, reopened = [], []
    for key, alert in found.items():
        fresh = {**alert, "run_id": run_id, "last_seen_at": now}
        if key in open_now:
            planning_repo.refresh_alert(conn, open_now[key]["id"], _changes(fresh))
        elif key in known:
            planning_repo.reopen(conn, known[key], {**_changes(fresh), "first_seen_at": now})
            reopened.append(fresh)
        else:
            new_rows.append({**fresh, "status": "open", "first_seen_at": now, "resolved_at": None})
    planning_repo.insert_alerts(conn, new_rows)
    gone = [a for k, a in open_now.items() if k not in found]
    planning_repo.resolve_alerts(conn, [a["id"] for a in gone], now)
    for alert in [*new_rows, *reopened]:
        webhooks.enqueue(conn, "alert.opened", _event(alert, "open"), now)
    for alert in gone:
        webhooks.enqueue(conn, "alert.resolved", _event(alert, "resolved"), now)
    return Synced(len(new_rows) + len(reopened), len(found) - len(new_rows) - len(reopened), len(gone))


def _changes(alert: dict[str, Any]) -> dict[str, Any]:
    keep = ("severity", "money_at_stake", "title", "reason", "action", "details", "run_id", "last_seen_at")
    return {k: alert[k] for k in keep}


def _event(alert: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "key": alert["key"],
        "kind": alert["kind"],
        "status": status,
        "severity": alert["severity"],
        "title": alert["title"],
        "reason": alert["reason"],
        "action": alert["action"],
        "money_at_stake": str(alert["money_at_stake"]),
        "details": alert["details"],
    }


def _plain(value: Any) -> Any:
    """JSON-safe details: Decimals as text, nested structures kept."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def list_alerts(
    db: Database, *, status: str | None = "open", kind: str | None = None, campaign: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return planning_repo.alert_rows(uow.conn, status=status, kind=kind, campaign=campaign, limit=limit)


def resolve(db: Database, actor: Actor, alert_id: int, *, now: datetime) -> dict[str, Any]:
    """A person closes an alert by hand (the cause was dealt with outside the ERP); a later planning pass that
    still finds the cause opens it again."""
    with db.uow() as uow:
        rows = [a for a in planning_repo.open_alerts_by_key(uow.conn).values() if a["id"] == alert_id]
        if not rows:
            raise NotFound(f"No open alert {alert_id}.")
        planning_repo.resolve_alerts(uow.conn, [alert_id], now)
        webhooks.enqueue(uow.conn, "alert.resolved", {**_event(rows[0], "resolved"), "by": actor.label}, now)
        (resolved,) = planning_repo.alert_rows(
            uow.conn, status=None, kind=None, campaign=None, limit=1, alert_id=alert_id
        )
        uow.commit()
    return resolved
