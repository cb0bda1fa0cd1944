"""Cash gap (资金缺口) of a presale campaign or a date range: what buyers paid (deposits, balances, full payments,
less refunds) and still owe (balances of orders awaiting balance, on the day they fall due) against what suppliers
are owed, per Beijing day, with the cumulative position: negative is the gap the merchant must bridge.

Payables rule (suppliers.payment_terms_days, 账期, default 0 = on receipt): accepted goods are due on the Beijing day
they were received + terms days, at purchase price; goods still to come on placed purchase orders (sent,
confirmed, partly received) are due on the line's promised date + terms days. Supplier payments made are not
recorded anywhere yet, so every payable counts as open. Amounts without a date (no balance due date, no promised
date) are totalled apart as `undated`, not guessed onto a day."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import cash_gap_repo as repo
from presale_erp.adapters.db.finance_report_repo import as_date, prepare_read
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.domain.reporting import yuan_of_fen
from presale_erp.services.finance_reports import ReportFilters, ensure_reader, resolve_scope

ZERO = Decimal("0.00")
FIGURES = ("deposits", "balances", "refunds", "collected", "expected_balances", "payables_due")


def cash_gap(db: Database, actor: Actor, filters: ReportFilters, *, campaign: str | None = None) -> dict[str, Any]:
    """Per day: deposits, balances (and full payments), refunds, collected, balances expected, payables due,
    net and the cumulative position, within date_from..date_to when given."""
    ensure_reader(actor)
    if campaign is None and (filters.date_from is None or filters.date_to is None):
        raise InvalidRequest("Give a campaign, or both date_from and date_to, for the cash-gap report.")
    with db.uow(write=False) as uow:
        conn = uow.conn
        prepare_read(conn)
        scope = resolve_scope(conn, filters)
        found = repo.campaign(conn, campaign) if campaign is not None else None
        if campaign is not None and found is None:
            raise NotFound(f"There is no presale campaign '{campaign}'.")
        order_ids = repo.campaign_orders(found) if found else None
        campaign_id = found["id"] if found else None
        collected = repo.collected(conn, scope, order_ids)
        expected = repo.expected_balances(conn, scope, order_ids)
        payables = repo.received_payables(conn, scope, campaign_id) + repo.outstanding_payables(
            conn, scope, campaign_id
        )
    days: dict[date, dict[str, Decimal]] = {}
    undated = {"expected_balances": ZERO, "payables_due": ZERO}

    def add(day: date | None, figure: str, amount: Decimal) -> None:
        if day is None:
            undated[figure] += amount
        elif _within(day, filters):
            days.setdefault(day, dict.fromkeys(FIGURES, ZERO))[figure] += amount

    for row in collected:
        amount = yuan_of_fen(row["amount"])
        figure = {"deposit": "deposits", "refund": "refunds"}.get(row["kind"], "balances")
        add(as_date(row["day"]), figure, -amount if figure == "refunds" else amount)
    for row in expected:
        add(as_date(row["day"]), "expected_balances", yuan_of_fen(row["amount"]))
    for row in payables:
        day = as_date(row["day"])
        add(day + timedelta(days=int(row["terms_days"])) if day else None, "payables_due", yuan_of_fen(row["amount"]))
    return {"campaign": campaign, "rows": _with_position(days), "undated": undated}


def _within(day: date, filters: ReportFilters) -> bool:
    return (filters.date_from is None or day >= filters.date_from) and (
        filters.date_to is None or day <= filters.date_to
    )


def _with_position(days: dict[date, dict[str, Decimal]]) -> list[dict[str, Any]]:
    rows, position = [], ZERO
    for day in sorted(days):
        figures = days[day]
        figures["collected"] = figures["deposits"] + figures["balances"] - figures["refunds"]
        net = figures["collected"] + figures["expected_balances"] - figures["payables_due"]
        position += net
        rows.append({"day": day, **figures, "net": net, "position": position})
    return rows
