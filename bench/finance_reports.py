"""Finance reports over a million order lines on SQLite and PostgreSQL: the time each report takes, cold (first
call on a fresh connection pool) and warm (best of three after it).

    .venv/bin/python bench/finance_reports.py [--lines 1000000] [--only sqlite|postgresql]

Data, generated set-based in the database (INSERT ... SELECT over generate_series on PostgreSQL, a recursive CTE
on SQLite): 20 shops, 5 warehouses, 5,000 SKUs; two order lines per order over three months (Beijing Aug-Oct);
one shipment posting per line, a return for 1 line in 30 and a refund without return for 1 in 50; per order its
payment (a third as deposit + balance, the rest in full), platform fee and commission, and a refund for each
return; 5% of orders still awaiting balance; 25,000 stock positions with moving-average costs; 2,000 open
purchase order lines. Prints figures only; asserts nothing about time."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, text

from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.exporting import finance_reports as sheets
from presale_erp.domain.access import SYSTEM
from presale_erp.services import cash_gap, finance_reports
from presale_erp.services.finance_reports import ReportFilters

SHOPS, WAREHOUSES, SKUS = 20, 5, 5000
SPAN_SECONDS = 92 * 86400  # 2026-07-31 16:00 UTC (Beijing 08-01) onwards
NOW = "2026-11-01 00:00:00.000000"


def series(dialect: str, count: int) -> str:
    """A FROM item yielding n = 1..count."""
    if dialect == "postgresql":
        return f"generate_series(1, {count}) AS g(n)"
    return f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s) AS g"


def moment(dialect: str, seconds: str) -> str:
    """A UTC timestamp `seconds` (an SQL expression) after the start of the three months."""
    if dialect == "postgresql":
        return f"(TIMESTAMPTZ '2026-07-31 16:00:00+00' + ({seconds}) * INTERVAL '1 second')"
    # SQLAlchemy's own SQLite layout for a datetime, microseconds included
    return f"(strftime('%Y-%m-%d %H:%M:%S', '2026-07-31 16:00:00', '+' || ({seconds}) || ' seconds') || '.000000')"


def spread(expr: str, offset: str = "0") -> str:
    """Seconds into the three months for row `expr`, scattered (and kept inside 32-bit integers)."""
    return f"(({expr} % 10007) * 7919 + {expr}) % {SPAN_SECONDS} + {offset}"


def load(engine: Engine, lines: int) -> None:
    d = engine.dialect.name
    orders = lines // 2
    true, false = ("TRUE", "FALSE") if d == "postgresql" else ("1", "0")
    at = moment(d, spread("n"))
    statements = [
        f"INSERT INTO warehouses (id, code, name, kind, active, created_at, created_by) SELECT n, 'W' || n, 'W' || n,"
        f" 'own', {true}, '{NOW}', 'bench' FROM {series(d, WAREHOUSES)}",
        f"INSERT INTO shops (id, code, name, platform, platform_shop_id, stock_lock_policy, financial_review, active,"
        f" created_at, created_by) SELECT n, 'S' || n, 'S' || n, 'tmall', 'p' || n, 'on_payment', {false}, {true},"
        f" '{NOW}', 'bench' FROM {series(d, SHOPS)}",
        f"INSERT INTO products (id, code, name, created_at, created_by) SELECT n, 'P' || n, 'P' || n, '{NOW}',"
        f" 'bench' FROM {series(d, SKUS)}",
        f"INSERT INTO skus (id, code, product_id, name, weight_grams, volume_cm3, presale_capable, unit_cost,"
        f" list_price, created_at, created_by) SELECT n, 'K' || n, n, 'K' || n, 300, 0, {true}, 6000, 10000,"
        f" '{NOW}', 'bench' FROM {series(d, SKUS)}",
        f"INSERT INTO orders (id, shop_id, platform_order_id, status, platform_status, presale_type,"
        f" platform_modified_at, platform_created_at, paid_at, total_amount, paid_amount, postage, deposit_amount,"
        f" balance_amount, balance_paid, balance_due_at, buyer_index, buyer_name, buyer_phone, phone_index,"
        f" province, city, district, street, address_index, buyer_remark, seller_remark, cash_on_delivery,"
        f" mixed_presale, refund_requested, versions_seen, preorder_status, preorder_reason, stock_locked,"
        f" lock_reason, review_status, risk_score, review_rules_hit, first_seen_at, updated_at, fulfilment_status,"
        f" fulfilment_reason, allocation_round, priority, separate_parcels)"
        f" SELECT n, n % {SHOPS} + 1, 'T' || n, CASE WHEN n % 20 = 0 THEN 'deposit_paid' ELSE 'shipped' END,"
        f" 'x', 'deposit', {at}, {at}, {at}, 40000, 40000, 0, 5000, 35000,"
        f" CASE WHEN n % 20 = 0 THEN {false} ELSE {true} END,"
        f" CASE WHEN n % 20 = 0 THEN {moment(d, f'{SPAN_SECONDS} + (n % 30) * 86400')} END,"
        f" 'b', 'x', 'x', 'p', 'p', 'c', 'd', 's', 'a', '', '', {false}, {false}, {false}, 1, 'none', '', {false},"
        f" '', 'approved', 0, '', '{NOW}', '{NOW}', 'allocated', '', 0, 0, {false} FROM {series(d, orders)}",
    ]
    line = "(n + 1) / 2"  # the order of line n (two lines per order)
    posting = (
        "INSERT INTO sales_postings (posting_key, kind, shop_id, order_id, line_no, sku_id, warehouse_id, quantity,"
        " revenue, unit_cost, cost, occurred_at, recorded_by)"
        " SELECT '{kind}:' || n, '{kind}', {line} % {shops} + 1, {line}, n % 2 + 1, (n * 7) % {skus} + 1,"
        " n % {whs} + 1, {qty}, {revenue}, 60, {cost}, {at}, 'bench' FROM {src} WHERE {where}"
    )
    ship_at = moment(d, spread(line, "172800"))
    for kind, qty, revenue, cost, where in [
        ("shipment", "n % 3 + 1", "(n % 3 + 1) * 20000", "(n % 3 + 1) * 12000", "1 = 1"),
        ("return", "-1", "-20000", "-12000", "n % 30 = 0"),
        ("refund_allowance", "0", "-1500", "0", "n % 50 = 7"),
    ]:
        statements.append(
            posting.format(
                kind=kind,
                line=line,
                shops=SHOPS,
                skus=SKUS,
                whs=WAREHOUSES,
                qty=qty,
                revenue=revenue,
                cost=cost,
                at=ship_at,
                src=series(d, lines),
                where=where,
            )
        )
    payment = (
        "INSERT INTO payment_entries (entry_key, shop_id, order_id, kind, amount, channel, external_ref,"
        " occurred_at, source, note, recorded_at, recorded_by) SELECT '{kind}:' || n, n % {shops} + 1, n, '{kind}',"
        " {amount}, CASE n % 3 WHEN 0 THEN 'alipay' WHEN 1 THEN 'wechat' ELSE 'douyin' END, 'x' || n, {at},"
        " 'platform', '', '{now}', 'bench' FROM {src} WHERE {where}"
    )
    for kind, amount, offset, where in [
        ("deposit", "5000", "0", "n % 3 = 0"),
        ("balance", "35000", "86400", "n % 3 = 0 AND n % 20 <> 0"),
        ("full_payment", "40000", "0", "n % 3 <> 0"),
        ("platform_fee", "-400", "172800", "1 = 1"),
        ("commission", "-1200", "172800", "1 = 1"),
        ("refund", "-20000", "259200", "n % 15 = 0"),
    ]:
        statements.append(
            payment.format(
                kind=kind,
                shops=SHOPS,
                amount=amount,
                now=NOW,
                src=series(d, orders),
                where=where,
                at=moment(d, spread("n", offset)),
            )
        )
    statements += [
        f"INSERT INTO stock_positions (sku_id, warehouse_id, on_hand, reserved, presale_quota, presale_quota_used,"
        f" presale_booked, awaiting_review, awaiting_shipment, in_transit_purchase, in_transit_transfer,"
        f" low_stock_threshold, presale_campaigns_open, updated_at, damaged) SELECT (n - 1) / {WAREHOUSES} + 1,"
        f" (n - 1) % {WAREHOUSES} + 1, n % 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '{NOW}', n % 3"
        f" FROM {series(d, SKUS * WAREHOUSES)}",
        f"INSERT INTO stock_costs (sku_id, warehouse_id, average_cost, updated_at) SELECT (n - 1) / {WAREHOUSES} + 1,"
        f" (n - 1) % {WAREHOUSES} + 1, 59.5 + (n % 100) / 100.0, '{NOW}' FROM {series(d, SKUS * WAREHOUSES)}",
        f"INSERT INTO suppliers (id, code, name, lead_time_days, lead_time_std_days, payment_terms_days, created_at,"
        f" created_by) SELECT n, 'V' || n, 'V' || n, 10, 2, (n % 3) * 15, '{NOW}', 'bench' FROM {series(d, 10)}",
        f"INSERT INTO purchase_orders (id, code, supplier_id, warehouse_id, status, note, created_at, created_by)"
        f" SELECT n, 'PO' || n, n % 10 + 1, n % {WAREHOUSES} + 1, 'confirmed', '', '{NOW}', 'bench'"
        f" FROM {series(d, 200)}",
        f"INSERT INTO purchase_order_lines (purchase_order_id, line_no, sku_id, quantity, unit_cost, promised_on,"
        f" received_quantity) SELECT (n - 1) / 10 + 1, (n - 1) % 10 + 1, n % {SKUS} + 1, {lines // 4000 + 1}, 6000,"
        f" {'DATE' if d == 'postgresql' else ''} '2026-10-15', 0 FROM {series(d, 2000)}",
    ]
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


QUARTER = ReportFilters(date(2026, 8, 1), date(2026, 10, 31))
REPORTS: list[tuple[str, Callable[[Database], object]]] = [
    ("cash, 3 months", lambda db: finance_reports.cash(db, SYSTEM, QUARTER)),
    (
        "cash gap, 4 months",
        lambda db: cash_gap.cash_gap(db, SYSTEM, ReportFilters(date(2026, 8, 1), date(2026, 11, 30))),
    ),
    ("P&L by shop", lambda db: finance_reports.pnl(db, SYSTEM, QUARTER, "shop")),
    ("P&L by SKU (fees allocated)", lambda db: finance_reports.pnl(db, SYSTEM, QUARTER, "sku")),
    ("P&L by warehouse (fees allocated)", lambda db: finance_reports.pnl(db, SYSTEM, QUARTER, "warehouse")),
    ("P&L by day", lambda db: finance_reports.pnl(db, SYSTEM, QUARTER, "day")),
    ("P&L by month, one shop", lambda db: finance_reports.pnl(db, SYSTEM, ReportFilters(shop="S7"), "month")),
    ("P&L by SKU as .xlsx", lambda db: sheets.pnl_workbook(finance_reports.pnl(db, SYSTEM, QUARTER, "sku"))),
    ("refund rate by SKU", lambda db: finance_reports.refund_rates(db, SYSTEM, QUARTER, "sku")),
    ("refund rate by shop", lambda db: finance_reports.refund_rates(db, SYSTEM, QUARTER, "shop")),
    (
        "inventory valuation (25,000 positions)",
        lambda db: finance_reports.inventory_valuation(db, SYSTEM, ReportFilters()),
    ),
]


def run(url: str, lines: int) -> None:
    started = time.perf_counter()
    engine = make_engine(url)
    load(engine, lines)
    with engine.connect() as conn:
        postings = conn.execute(text("SELECT count(*) FROM sales_postings")).scalar_one()
        payments = conn.execute(text("SELECT count(*) FROM payment_entries")).scalar_one()
    engine.dispose()
    print(
        f"  loaded {postings:,} sales postings, {payments:,} payment entries in {time.perf_counter() - started:.1f} s"
    )
    print(f"  {'report':<40} {'rows':>6} {'cold s':>8} {'warm s':>8}")
    for label, report in REPORTS:
        db = Database(make_engine(url))  # a fresh pool: the first call pays for connecting and cold caches
        cold, result = _timed(lambda report=report, db=db: report(db))
        warm = min(_timed(lambda report=report, db=db: report(db))[0] for _ in range(3))
        db.dispose()
        print(f"  {label:<40} {_rows(result):>6} {cold:>8.3f} {warm:>8.3f}")


def _timed(call: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def _rows(result: object) -> int | str:
    if isinstance(result, dict):
        return len(result.get("rows", result.get("lines", [])))
    return f"{len(result) // 1024}K" if isinstance(result, bytes) else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines (two per order)")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"Finance reports, {args.lines:,} order lines, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    if args.only != "postgresql":
        folder = Path(tempfile.mkdtemp())
        url = f"sqlite:///{folder / 'bench.db'}"
        migrate.upgrade(make_engine(url))
        print("SQLite:")
        run(url, args.lines)
        shutil.rmtree(folder)
    if args.only != "sqlite":
        name = f"presale_erp_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
            migrate.upgrade(make_engine(url))
            print("PostgreSQL:")
            run(url, args.lines)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
