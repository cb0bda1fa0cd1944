"""The aging report (应收账龄) over every customer on account, as of a business day: open invoices by FIFO read
in bulk (no query per customer), bucketed by days overdue, with totals; and the same as an Excel workbook."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

from presale_erp.adapters.db import receivables_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.exporting.aging_sheet import aging_workbook
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.receivables import ZERO, Aging, aging
from presale_erp.services.customers import require
from presale_erp.services.receivables import customer_positions, day_start


def aging_report(db: Database, actor: Actor, *, as_of: date, customer: str | None = None) -> dict[str, Any]:
    """Every active customer, and any inactive one still owed money; or one customer."""
    require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        found = (
            [repo.customer(uow.conn, customer)] if customer else repo.customer_list(uow.conn, kind=None, active=None)
        )
        positions = customer_positions(uow.conn, [c["id"] for c in found], before=day_start(as_of + timedelta(days=1)))
    rows, totals = [], Aging()
    for c in found:
        invoices, unapplied = positions.get(c["id"], ((), ZERO))
        buckets = aging(list(invoices), unapplied, as_of)
        if not c["active"] and not (invoices or unapplied) and not customer:
            continue
        rows.append(_row(c, buckets))
        totals += buckets
    return {"as_of": as_of, "rows": rows, "totals": _figures(totals)}


def aging_export(db: Database, actor: Actor, *, as_of: date, customer: str | None = None) -> bytes:
    report = aging_report(db, actor, as_of=as_of, customer=customer)
    return aging_workbook(as_of.isoformat(), report["rows"], report["totals"])


def _row(customer: dict[str, Any], buckets: Aging) -> dict[str, Any]:
    return {
        "customer": customer["code"],
        "name": customer["name"],
        "kind": customer["kind"],
        "credit_limit": customer["credit_limit"],
        "payment_terms_days": customer["payment_terms_days"],
        **_figures(buckets),
    }


def _figures(buckets: Aging) -> dict[str, Any]:
    return asdict(buckets) | {"overdue": buckets.overdue, "balance": buckets.balance}
