"""Settlement reconciliation (对账): import a platform's bill, write its fees and commissions into the payments
ledger, pair the bill with the ledger of the shops it covers over the bill's period, and keep what differs as
findings for finance to resolve. The same file imported again is the same import (its sha256), nothing more."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from presale_erp.adapters import settlement
from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import settlement_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain import reconciliation as rules
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.errors import Conflict, Forbidden, InvalidRequest
from presale_erp.domain.finance import Channel, PaymentEntry, PaymentKind, PaymentSource
from presale_erp.domain.statements import Statement
from presale_erp.services import payments

# Entries just outside the bill's period may pair with its lines (a payment at 23:59 that the platform books after
# midnight), but are never reported missing from it: that is the neighbouring bill's business.
SLACK = timedelta(days=1)
# Marketplace wallets hold only their own platform's money; Alipay and WeChat Pay accounts may serve any shop.
CHANNEL_PLATFORMS = {"douyin": {"douyin"}, "pinduoduo": {"pinduoduo"}}
BEIJING_OFFSET = timedelta(hours=8)
DAILY_FORMATS = frozenset({"wechat_trade", "wechat_fundflow"})
FORMATS = tuple(settlement.PARSERS)  # alipay_account, alipay_trade, wechat_trade, wechat_fundflow, douyin_..., ...


def import_bill(
    db: Database,
    actor: Actor,
    content: bytes,
    *,
    file_name: str,
    shops: Sequence[str],
    now: datetime,
    format: str | None = None,
    period: tuple[datetime, datetime] | None = None,
) -> dict[str, Any]:
    """Import and reconcile one bill file. Returns the import with its counts; `already_imported` is True when
    this very file was imported before (nothing is written again)."""
    _require(actor, Permission.FINANCE_WRITE)
    shops = sorted(set(shops))
    if not shops:
        raise InvalidRequest("Name the shop(s) whose money this bill's account holds (shop=...).")
    sha256 = hashlib.sha256(content).hexdigest()
    with db.uow(write=False) as uow:
        earlier = repo.import_by_sha256(uow.conn, sha256)
    if earlier is not None:
        return detail(db, actor, earlier["id"], already_imported=True)
    statement = settlement.parse(content, file_name, format)
    start, end = _period(statement, period, file_name)
    with db.uow() as uow:
        conn = uow.conn
        if repo.import_by_sha256(conn, sha256) is not None:  # a concurrent upload of the same file won
            raise Conflict(f"{file_name} is being imported by another request; list the imports to see it.")
        shop_ids = _shops(conn, shops, statement.channel)
        amounts = rules.bill_amounts(statement.lines)
        ledger = repo.ledger(conn, shop_ids=shop_ids, channel=statement.channel, start=start - SLACK, end=end + SLACK)
        written = _record_charges(conn, actor, statement.channel, shop_ids, amounts, ledger, file_name, now)
        ledger += repo.entries_by_keys(conn, written)
        result = rules.reconcile(amounts, [_ledger_amount(row, start, end) for row in ledger])
        import_id = repo.add_import(
            conn,
            {
                "sha256": sha256,
                "channel": statement.channel,
                "format": statement.format,
                "file_name": file_name[:255],
                "shop_ids": shop_ids,
                "period_start": start,
                "period_end": end,
                "line_count": len(statement.lines),
                "matched_count": result.matched_lines,
                "finding_count": len(result.findings),
                "charges_recorded": len(written),
                "imported_at": now,
                "imported_by": actor.label,
            },
        )
        repo.add_lines(conn, _line_rows(import_id, statement))
        repo.add_findings(conn, [_finding_row(import_id, f) for f in result.findings])
        audit_repo.record(
            conn,
            actor=actor.label,
            action="settlement.imported",
            entity="settlement_import",
            entity_id=str(import_id),
            at=now,
            details={"file": file_name, "sha256": sha256, "lines": len(statement.lines), **_counts(result)},
        )
        uow.commit()
    return detail(db, actor, import_id)


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise Forbidden(f"{actor.label} lacks the permission '{permission.value}' needed here.")


def _period(statement: Statement, given: tuple[datetime, datetime] | None, file_name: str) -> tuple[datetime, datetime]:
    """The period asked for, else the one the file states, else the Beijing days its lines fall on."""
    if given is not None:
        start, end = given
    elif statement.period_start is not None and statement.period_end is not None:
        start, end = statement.period_start, statement.period_end
    elif statement.lines:
        times = [line.occurred_at for line in statement.lines]
        # WeChat bills are daily, and their refund rows carry the refund's start, which may be days before the
        # bill's day: that day is the one of the last line. Other undated files cover the days of their lines.
        first = max(times) if statement.format in DAILY_FORMATS else min(times)
        start, end = _beijing_midnight(first), _beijing_midnight(max(times)) + timedelta(days=1)
    else:
        raise InvalidRequest(f"{file_name} has no lines and states no period; give the period it covers.")
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise InvalidRequest("The bill's period must be two times with a zone, the end after the start.")
    return start, end


def _beijing_midnight(moment: datetime) -> datetime:
    local = moment + BEIJING_OFFSET
    return local.replace(hour=0, minute=0, second=0, microsecond=0) - BEIJING_OFFSET


def _shops(conn: Connection, codes: list[str], channel: str) -> list[int]:
    ids = lookups.shop_ids(conn, codes)
    platforms = CHANNEL_PLATFORMS.get(channel)
    if platforms:
        rows = repo.shop_platforms(conn, list(ids.values()))
        wrong = sorted(code for code, shop_id in ids.items() if rows[shop_id] not in platforms)
        if wrong:
            raise InvalidRequest(f"A {channel} bill holds {channel} shops' money only; {', '.join(wrong)} is not one.")
    return sorted(ids.values())


def _record_charges(
    conn: Connection,
    actor: Actor,
    channel: str,
    shop_ids: list[int],
    amounts: list[rules.BillAmount],
    ledger: list[dict[str, Any]],
    file_name: str,
    now: datetime,
) -> list[str]:
    """Write the bill's fees and commissions into the ledger (source settlement), keyed by the bill line so a
    second bill repeating a line adds nothing. A charge the ledger already has from elsewhere (same kind, same
    platform reference or order) is not written again: reconciliation compares the two instead. Returns the keys
    written."""
    charges = rules.charges(amounts)
    if not charges:
        return []
    known = {
        (row["kind"], ref)
        for row in ledger
        if row["source"] != PaymentSource.SETTLEMENT.value
        for ref in (row["external_ref"], row["order_ref"])
        if ref
    }
    recorded = repo.existing_entry_keys(conn, [rules.charge_entry_key(channel, a) for a in charges])
    orders = repo.orders_by_ref(conn, shop_ids, [a.order_ref for a in charges if a.order_ref])
    entries = []
    for amount in charges:
        kind = rules.CHARGE_ENTRY_KINDS[amount.kind]
        if (kind, amount.external_ref) in known or (kind, amount.order_ref) in known:
            continue
        if rules.charge_entry_key(channel, amount) in recorded:  # by an earlier bill repeating this line
            continue
        order_id, shop_id = orders.get(amount.order_ref, (None, shop_ids[0]))
        entries.append(
            PaymentEntry(
                entry_key=rules.charge_entry_key(channel, amount),
                shop_id=shop_id,
                order_id=order_id,
                # A returned fee (退还手续费) is money in: the ledger keeps it as an adjustment; its key names the fee.
                kind=PaymentKind(kind) if amount.amount < 0 else PaymentKind.ADJUSTMENT,
                amount=amount.amount,
                channel=Channel(channel),
                external_ref=amount.external_ref[:80],
                occurred_at=amount.occurred_at,
                source=PaymentSource.SETTLEMENT,
                note=f"对账单 {file_name}"[:300],
            )
        )
    return payments.record_in(conn, actor, entries, now=now)


def _ledger_amount(row: dict[str, Any], start: datetime, end: datetime) -> rules.LedgerAmount:
    return rules.LedgerAmount(
        entry_id=row["id"],
        kind=row["kind"],
        external_ref=row["external_ref"],
        order_ref=row["order_ref"],
        amount=row["amount"],
        in_period=start <= row["occurred_at"] < end,
        entry_key=row["entry_key"],
    )


def _line_rows(import_id: int, statement: Statement) -> list[dict[str, Any]]:
    return [
        {
            "import_id": import_id,
            "line_no": line_no,
            "kind": line.kind.value,
            "occurred_at": line.occurred_at,
            "external_ref": line.external_ref[:80],
            "order_ref": line.order_ref[:80],
            "line_ref": line.line_ref[:200],
            "amount": line.amount,
            "fee": line.fee,
            "raw": line.raw,
        }
        for line_no, line in enumerate(statement.lines, start=1)
    ]


def _finding_row(import_id: int, finding: rules.Finding) -> dict[str, Any]:
    return {
        "import_id": import_id,
        "kind": finding.kind.value,
        "amount_kind": finding.amount_kind.value,
        "external_ref": finding.external_ref[:80],
        "order_ref": finding.order_ref[:80],
        "expected": finding.expected,
        "actual": finding.actual,
        "difference": finding.difference,
        "line_nos": list(finding.line_nos),
        "entry_ids": list(finding.entry_ids),
        "explanation": finding.explanation[:600],
        "resolved_at": None,
        "resolved_by": None,
        "resolution_note": None,
    }


def _counts(result: rules.Reconciliation) -> dict[str, int]:
    kinds = Counter(f.kind.value for f in result.findings)
    return {"matched": result.matched_lines, **{k.value: kinds[k.value] for k in rules.FindingKind}}


# --- Reading and resolving -----------------------------------------------------------------------------------------


def detail(db: Database, actor: Actor, import_id: int, *, already_imported: bool = False) -> dict[str, Any]:
    _require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        row = repo.get_import(uow.conn, import_id)
        counts = repo.finding_counts(uow.conn, import_id)
        codes = repo.shop_codes(uow.conn, row["shop_ids"])
    return _import_out(row, codes, counts, already_imported)


def _import_out(row: dict[str, Any], codes: dict[int, str], counts: dict[str, int], again: bool) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k != "shop_ids"}
    out["shops"] = [codes[i] for i in row["shop_ids"] if i in codes]
    out["findings"] = {k.value: counts.get(k.value, 0) for k in rules.FindingKind}
    out["already_imported"] = again
    return out


def list_imports(
    db: Database, actor: Actor, *, channel: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    _require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        rows, total = repo.imports(uow.conn, channel=channel, limit=limit, offset=offset)
        codes = repo.shop_codes(uow.conn, sorted({i for r in rows for i in r["shop_ids"]}))
        counts = repo.finding_counts_of(uow.conn, [r["id"] for r in rows])
    return [_import_out(r, codes, counts.get(r["id"], {}), False) for r in rows], total


def list_findings(
    db: Database,
    actor: Actor,
    *,
    import_id: int | None = None,
    kind: str | None = None,
    resolved: bool | None = None,
    ref: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    _require(actor, Permission.FINANCE_READ)
    if kind is not None and kind not in {k.value for k in rules.FindingKind}:
        raise InvalidRequest(f"Finding kind '{kind}' is not one of missing, extra, mismatch.")
    with db.uow(write=False) as uow:
        return repo.findings(
            uow.conn, import_id=import_id, kind=kind, resolved=resolved, ref=ref, limit=limit, offset=offset
        )


def resolve_finding(db: Database, actor: Actor, finding_id: int, *, note: str, now: datetime) -> dict[str, Any]:
    """Close a finding with what was done about it (a correcting entry, the platform's answer...). Resolving it
    again with the same note is a no-op; with another note it is refused, so the first explanation stays."""
    _require(actor, Permission.FINANCE_WRITE)
    note = note.strip()
    if not note:
        raise InvalidRequest("Say how the difference was resolved (note).")
    with db.uow() as uow:
        finding = repo.finding(uow.conn, finding_id)
        if finding["resolved_at"] is not None:
            if finding["resolution_note"] == note:
                return finding
            raise Conflict(
                f"Finding {finding_id} was resolved by {finding['resolved_by']} at "
                f"{finding['resolved_at'].isoformat()}: {finding['resolution_note']}"
            )
        repo.resolve(uow.conn, finding_id, at=now, by=actor.label, note=note[:1000])
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="reconciliation.finding_resolved",
            entity="reconciliation_finding",
            entity_id=str(finding_id),
            at=now,
            details={"note": note[:1000], "kind": finding["kind"]},
        )
        finding = repo.finding(uow.conn, finding_id)
        uow.commit()
    return finding
