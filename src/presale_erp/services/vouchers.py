"""Accounting vouchers (凭证) for Kingdee and Yonyou: generated from the payments ledger and the sales postings as
summary vouchers per shop × Beijing day × business type, numbered per period, pulled page by page or exported
in the import layouts of K/3 WISE (Excel), K/3 Cloud (JSON) and U8 (XML). The accounting scheme is in
domain/vouchers.py; the accounts in the chart-of-accounts mapping (科目映射).

Regenerating days already vouchered writes nothing; facts that arrived for such a day later get a supplementary
voucher (补记) for the difference only. The mapping starts as the built-in defaults and is written to the
database on first use (the first generation or the first save), so what vouchers were booked with stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from presale_erp.adapters.accounting import EXPORTERS, ExportedFile, ExportOptions
from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import voucher_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.chart_of_accounts import DEFAULT_RULES, ChartMapping, MappingRule
from presale_erp.domain.errors import Forbidden, InvalidRequest, NotFound
from presale_erp.domain.vouchers import VOUCHER_WORD, Voucher, build_summary_vouchers
from presale_erp.services.demand_history import beijing_day

MAX_DAYS = 93  # a quarter per call: the facts of a range are summed in one transaction
MAX_EXPORT = 20_000  # vouchers in one file; more is a sign of a wrong range


@dataclass(frozen=True)
class GenerateReport:
    created: int  # the day's vouchers written now
    supplements: int  # supplementary vouchers for late facts
    voucher_ids: list[int]


def _require(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise Forbidden(f"{actor.label} lacks the permission '{permission.value}' needed here.")


def generate(db: Database, actor: Actor, *, day_from: date, day_to: date, now: datetime) -> GenerateReport:
    """Vouchers for the Beijing days day_from..day_to (inclusive), which must be over."""
    _require(actor, Permission.FINANCE_WRITE)
    _check_range(day_from, day_to)
    if day_to >= beijing_day(now):
        last = beijing_day(now) - timedelta(days=1)
        raise InvalidRequest(f"{day_to} is not over yet in Beijing; vouchers are made for finished days (to {last}).")
    with db.uow() as uow:
        conn = uow.conn
        repo.lock_generation(conn)
        mapping = ChartMapping(_rules_seeding_defaults(conn, actor, now))
        totals = repo.fact_totals(conn, day_from, day_to)
        made = build_summary_vouchers(
            totals,
            mapping=mapping,
            shop_names=repo.shop_names(conn, {t.shop for t in totals}),
            booked=repo.booked(conn, day_from, day_to),
            next_numbers=repo.next_numbers(conn, {(t.day.year, t.day.month) for t in totals}, VOUCHER_WORD),
            preparer=actor.name,
        )
        repo.insert_vouchers(conn, made, lookups.shop_ids(conn, {v.shop for v in made}), at=now, by=actor.label)
        ids = repo.voucher_ids(conn, made)
        supplements = sum(1 for v in made if v.sequence > 0)
        audit_repo.record(
            conn,
            actor=actor.label,
            action="vouchers.generate",
            entity="vouchers",
            entity_id=f"{day_from}..{day_to}",
            at=now,
            details={"created": len(made) - supplements, "supplements": supplements},
        )
        uow.commit()
    return GenerateReport(len(made) - supplements, supplements, ids)


def _check_range(day_from: date, day_to: date) -> None:
    if day_from > day_to:
        raise InvalidRequest(f"day_from {day_from} is after day_to {day_to}.")
    if (day_to - day_from).days >= MAX_DAYS:
        raise InvalidRequest(f"At most {MAX_DAYS} days at a time; {day_from}..{day_to} is longer.")


def _rules_seeding_defaults(conn, actor: Actor, now: datetime) -> list[MappingRule]:
    rules = repo.mapping_rules(conn)
    if not rules:
        rules = list(DEFAULT_RULES)
        repo.replace_mapping(conn, rules, at=now, by=actor.label)
    return rules


# --- reading and exporting -----------------------------------------------------------------------------------------


def list_vouchers(
    db: Database,
    actor: Actor,
    *,
    after_id: int | None = None,
    limit: int = 100,
    shop: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
) -> list[Voucher]:
    _require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        return repo.page(uow.conn, after_id=after_id, limit=limit, shop=shop, day_from=day_from, day_to=day_to)


def get(db: Database, actor: Actor, voucher_id: int) -> Voucher:
    _require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        found = repo.page(uow.conn, after_id=None, limit=1, ids=[voucher_id])
    if not found:
        raise NotFound(f"No voucher {voucher_id}.")
    return found[0]


def export(
    db: Database,
    actor: Actor,
    *,
    layout: str,
    day_from: date,
    day_to: date,
    shop: str | None = None,
    options: ExportOptions | None = None,
) -> ExportedFile:
    """The vouchers of day_from..day_to (by voucher date) in one import file of the chosen layout."""
    _require(actor, Permission.FINANCE_READ)
    if layout not in EXPORTERS:
        raise InvalidRequest(f"Unknown export format '{layout}'; use one of {', '.join(EXPORTERS)}.")
    _check_range(day_from, day_to)
    with db.uow(write=False) as uow:
        found = repo.page(uow.conn, after_id=None, limit=MAX_EXPORT + 1, shop=shop, day_from=day_from, day_to=day_to)
    if len(found) > MAX_EXPORT:
        raise InvalidRequest(f"More than {MAX_EXPORT} vouchers in {day_from}..{day_to}; export a shorter range.")
    name = f"vouchers-{day_from:%Y%m%d}-{day_to:%Y%m%d}" + (f"-{shop}" if shop else "")
    return EXPORTERS[layout](found, name, options or ExportOptions())


# --- the chart-of-accounts mapping ---------------------------------------------------------------------------------


def mapping(db: Database, actor: Actor) -> list[MappingRule]:
    """The rules in force: the saved ones, or the built-in defaults until a mapping is saved or first used."""
    _require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        return repo.mapping_rules(uow.conn) or list(DEFAULT_RULES)


def save_mapping(db: Database, actor: Actor, rules: list[MappingRule], *, now: datetime) -> list[MappingRule]:
    """Replace the whole mapping; vouchers already written keep the accounts they were booked to."""
    _require(actor, Permission.FINANCE_WRITE)
    checked = ChartMapping(rules)
    with db.uow() as uow:
        lookups.shop_ids(uow.conn, {r.shop for r in checked.rules if r.shop})
        repo.replace_mapping(uow.conn, checked.rules, at=now, by=actor.label)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="account_mapping.save",
            entity="account_mapping",
            entity_id="*",
            at=now,
            details={"rules": len(checked.rules)},
        )
        uow.commit()
    return list(checked.rules)
