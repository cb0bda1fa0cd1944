"""Vouchers in the database: fact totals by GROUP BY, the account mapping, and voucher rows with their lines."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.planning_repo import BUSINESS_UTC_OFFSET_HOURS, business_day
from presale_erp.adapters.db.tables import (
    account_mappings,
    payment_entries,
    sales_postings,
    shops,
    voucher_lines,
    vouchers,
)
from presale_erp.domain.chart_of_accounts import Account, AccountRole, AuxiliaryKind, MappingRule
from presale_erp.domain.vouchers import AuxItem, Booked, BusinessType, FactTotal, Voucher, VoucherLine

_GENERATION_LOCK = 0x766F7563  # "vouc": one voucher generation at a time


def lock_generation(conn: Connection) -> None:
    """Serialise generations so a concurrent second one sees the first's vouchers and writes only what is left
    (SQLite's writers queue already: BEGIN IMMEDIATE)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(_GENERATION_LOCK)))


# --- facts ---------------------------------------------------------------------------------------------------------


def _utc_bounds(day_from: date, day_to: date) -> tuple[datetime, datetime]:
    """The UTC instants that start `day_from` and end `day_to` in Beijing."""
    offset = timedelta(hours=BUSINESS_UTC_OFFSET_HOURS)
    start = datetime.combine(day_from, time(), tzinfo=UTC) - offset
    return start, start + timedelta(days=(day_to - day_from).days + 1)


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def fact_totals(conn: Connection, day_from: date, day_to: date) -> list[FactTotal]:
    """Payment entries per shop × day × kind × channel and sales postings per shop × day × kind, summed in SQL."""
    start, end = _utc_bounds(day_from, day_to)
    pay_day = business_day(conn, payment_entries.c.occurred_at).label("day")
    payments = (
        select(
            shops.c.code,
            pay_day,
            payment_entries.c.kind,
            payment_entries.c.channel,
            func.sum(payment_entries.c.amount).label("amount"),
            func.count().label("n"),
        )
        .join(shops, shops.c.id == payment_entries.c.shop_id)
        .where(payment_entries.c.occurred_at >= start, payment_entries.c.occurred_at < end)
        .group_by(shops.c.code, pay_day, payment_entries.c.kind, payment_entries.c.channel)
    )
    totals = [
        FactTotal(r.code, _as_date(r.day), r.kind, "amount", r.amount, r.n, channel=r.channel)
        for r in conn.execute(payments)
    ]
    sale_day = business_day(conn, sales_postings.c.occurred_at).label("day")
    sales = (
        select(
            shops.c.code,
            sale_day,
            sales_postings.c.kind,
            func.sum(sales_postings.c.revenue).label("revenue"),
            func.sum(sales_postings.c.cost).label("cost"),
            func.count().label("n"),
        )
        .join(shops, shops.c.id == sales_postings.c.shop_id)
        .where(sales_postings.c.occurred_at >= start, sales_postings.c.occurred_at < end)
        .group_by(shops.c.code, sale_day, sales_postings.c.kind)
    )
    for r in conn.execute(sales):
        day = _as_date(r.day)
        totals.append(FactTotal(r.code, day, r.kind, "revenue", r.revenue, r.n))
        totals.append(FactTotal(r.code, day, r.kind, "cost", r.cost, 0))  # the facts are counted once
    return totals


def shop_names(conn: Connection, codes: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    return dict(conn.execute(select(shops.c.code, shops.c.name).where(shops.c.code.in_(wanted))).all())


# --- account mapping -----------------------------------------------------------------------------------------------


def mapping_rules(conn: Connection) -> list[MappingRule]:
    rows = conn.execute(select(account_mappings).order_by(account_mappings.c.id)).mappings()
    return [
        MappingRule(
            AccountRole(r["role"]),
            Account(r["account_code"], r["account_name"]),
            shop=r["shop"],
            channel=r["channel"],
            auxiliary=tuple(AuxiliaryKind(a) for a in r["auxiliary"].split(",") if a),
        )
        for r in rows
    ]


def replace_mapping(conn: Connection, rules: Iterable[MappingRule], *, at: datetime, by: str) -> None:
    conn.execute(delete(account_mappings))
    rows = [
        {
            "role": r.role.value,
            "shop": r.shop,
            "channel": r.channel,
            "account_code": r.account.code,
            "account_name": r.account.name,
            "auxiliary": ",".join(a.value for a in r.auxiliary),
            "updated_at": at,
            "updated_by": by,
        }
        for r in rules
    ]
    if rows:
        conn.execute(insert(account_mappings), rows)


# --- vouchers ------------------------------------------------------------------------------------------------------


def booked(conn: Connection, day_from: date, day_to: date) -> dict[str, Booked]:
    """Per source key, what the vouchers already written for those days booked."""
    rows = conn.execute(
        select(vouchers.c.source_key, vouchers.c.sequence, vouchers.c.attachments, vouchers.c.basis).where(
            vouchers.c.business_date.between(day_from, day_to)
        )
    ).all()
    amounts: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    attachments: dict[str, int] = defaultdict(int)
    last: dict[str, int] = {}
    for key, sequence, count, basis in rows:
        for component, amount in basis.items():
            amounts[key][component] += Decimal(amount)
        attachments[key] += count
        last[key] = max(last.get(key, -1), sequence)
    return {key: Booked(dict(amounts[key]), attachments[key], last[key]) for key in last}


def next_numbers(conn: Connection, periods: Iterable[tuple[int, int]], word: str) -> dict[tuple[int, int], int]:
    wanted = sorted(set(periods))
    if not wanted:
        return {}
    rows = conn.execute(
        select(vouchers.c.fiscal_year, vouchers.c.period, func.max(vouchers.c.number))
        .where(tuple_(vouchers.c.fiscal_year, vouchers.c.period).in_(wanted), vouchers.c.word == word)
        .group_by(vouchers.c.fiscal_year, vouchers.c.period)
    ).all()
    found = {(year, period): top + 1 for year, period, top in rows}
    return {p: found.get(p, 1) for p in wanted}


def insert_vouchers(conn: Connection, made: list[Voucher], shop_ids: dict[str, int], *, at: datetime, by: str) -> None:
    """Two statements whatever the count: the vouchers, then (their ids read back by key) all their lines."""
    if not made:
        return
    conn.execute(
        insert(vouchers),
        [
            {
                "source_key": v.source_key,
                "sequence": v.sequence,
                "shop_id": shop_ids[v.shop],
                "business_date": v.date,
                "business_type": v.business_type.value,
                "fiscal_year": v.year,
                "period": v.period,
                "word": v.word,
                "number": v.number,
                "attachments": v.attachments,
                "preparer": v.preparer,
                "basis": {k: str(a) for k, a in v.basis.items()},
                "created_at": at,
                "created_by": by,
            }
            for v in made
        ],
    )
    ids = _ids_by_key(conn, [(v.source_key, v.sequence) for v in made])
    conn.execute(
        insert(voucher_lines),
        [
            {
                "voucher_id": ids[(v.source_key, v.sequence)],
                "line_no": n,
                "summary": line.summary[:200],
                "account_code": line.account_code,
                "account_name": line.account_name,
                "debit": line.debit,
                "credit": line.credit,
                "auxiliary": [{"kind": a.kind.value, "code": a.code, "name": a.name} for a in line.auxiliary],
            }
            for v in made
            for n, line in enumerate(v.lines)
        ],
    )


def voucher_ids(conn: Connection, made: list[Voucher]) -> list[int]:
    return sorted(_ids_by_key(conn, [(v.source_key, v.sequence) for v in made]).values())


def _ids_by_key(conn: Connection, keys: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Ids of (source key, sequence) pairs, a chunk per query: SQLite allows some 32,000 parameters per query."""
    ids: dict[tuple[str, int], int] = {}
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        rows = conn.execute(
            select(vouchers.c.source_key, vouchers.c.sequence, vouchers.c.id).where(
                tuple_(vouchers.c.source_key, vouchers.c.sequence).in_(chunk)
            )
        )
        ids.update({(key, sequence): voucher_id for key, sequence, voucher_id in rows})
    return ids


def page(
    conn: Connection,
    *,
    after_id: int | None,
    limit: int,
    shop: str | None = None,
    day_from: date | None = None,
    day_to: date | None = None,
    ids: list[int] | None = None,
) -> list[Voucher]:
    """Vouchers in id order (ids only grow: a puller that remembers the last id misses nothing)."""
    query = (
        select(vouchers, shops.c.code.label("shop"))
        .join(shops, shops.c.id == vouchers.c.shop_id)
        .order_by(vouchers.c.id)
        .limit(limit)
    )
    if after_id is not None:
        query = query.where(vouchers.c.id > after_id)
    if shop:
        query = query.where(shops.c.code == shop)
    if day_from:
        query = query.where(vouchers.c.business_date >= day_from)
    if day_to:
        query = query.where(vouchers.c.business_date <= day_to)
    if ids is not None:
        query = query.where(vouchers.c.id.in_(ids))
    heads = [dict(r) for r in conn.execute(query).mappings()]
    # The lines of the same page by subquery, not by a list of ids: an export page holds thousands of vouchers.
    lines: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if heads:
        page_ids = query.with_only_columns(vouchers.c.id)
        rows = conn.execute(
            select(voucher_lines)
            .where(voucher_lines.c.voucher_id.in_(page_ids))
            .order_by(voucher_lines.c.voucher_id, voucher_lines.c.line_no)
        ).mappings()
        for r in rows:
            lines[r["voucher_id"]].append(dict(r))
    return [_voucher(h, lines[h["id"]]) for h in heads]


def _voucher(head: dict[str, Any], lines: list[dict[str, Any]]) -> Voucher:
    return Voucher(
        id=head["id"],
        date=head["business_date"],
        number=head["number"],
        lines=tuple(
            VoucherLine(
                line["summary"],
                line["account_code"],
                line["account_name"],
                debit=line["debit"],
                credit=line["credit"],
                auxiliary=tuple(AuxItem(AuxiliaryKind(a["kind"]), a["code"], a["name"]) for a in line["auxiliary"]),
            )
            for line in lines
        ),
        attachments=head["attachments"],
        preparer=head["preparer"],
        source_key=head["source_key"],
        sequence=head["sequence"],
        shop=head["shop"],
        business_type=BusinessType(head["business_type"]),
        basis={k: Decimal(a) for k, a in head["basis"].items()},
        word=head["word"],
    )
