"""Intake + review throughput on SQLite and PostgreSQL, against a bare-SQL floor measured in the same run.

    .venv/bin/python bench/intake_review.py [--orders 100000] [--batch 2000] [--only sqlite|postgresql]

Product path: platform payloads (five platforms' formats) -> adapters -> batched idempotent upsert with PII
encryption and SKU matching -> smart review with bulk context. Floor: the same order and line rows upserted
with plain executemany, no application logic. Prints orders per second per stage and the ratio."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from fixtures import one_bin_warehouse
from sqlalchemy import create_engine, text

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.order_repo import FULFILMENT_COLUMNS
from presale_erp.adapters.db.tables import order_lines, orders
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import catalog, intake, review, stock
from presale_erp.services.intake import _line_row, _order_row, parse_all
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, SimOrder

PLATFORMS = [Platform.TAOBAO, Platform.JD, Platform.PINDUODUO, Platform.DOUYIN, Platform.SHOPIFY]
NOW = datetime.now(UTC)
CIPHER = PiiCipher(b"b" * 32)


def make_payloads(count: int) -> dict[Platform, list[dict]]:
    rng = random.Random(42)
    made: dict[Platform, list[dict]] = {p: [] for p in PLATFORMS}
    for n in range(count):
        platform = PLATFORMS[n % len(PLATFORMS)]
        presale = platform is not Platform.JD and rng.random() < 0.8
        order = SimOrder(
            order_id=str(5_000_000_000_000 + n),
            stage="paid",
            created=NOW - timedelta(hours=3),
            modified=NOW - timedelta(hours=3) + timedelta(seconds=n % 3600),
            lines=[
                SimLine(
                    rng.choice(["TEA-LJ-250G", "MOON-GIFT-6"]), rng.randint(1, 3), Decimal("158.00"), str(10**8 + n)
                ),
                SimLine("TEA-TIN-S", 1, Decimal("99.00"), str(2 * 10**8 + n)),
            ],
            presale="deposit" if presale else "none",
            deposit=Decimal("30.00"),
            ship_by=NOW - timedelta(hours=1),  # balance night: ship date reached, stock on the shelves
            buyer_id=f"b{n}",
            phone=f"139{n:08d}",
            street=f"文三路 {n} 号",
            buyer_remark="请尽快发货" if n % 50 == 0 else "",
        )
        made[platform].append(payloads.BUILDERS[platform.value](order))
    return made


def create_shops(db: Database) -> None:
    """One shop per platform, S-<platform>, locking stock on payment."""
    for platform in PLATFORMS:
        catalog.create_shop(
            db,
            SYSTEM,
            code=f"S-{platform.value}",
            name=platform.value,
            platform=platform,
            platform_shop_id=platform.value,
            stock_lock_policy=StockLockPolicy.ON_PAYMENT,
            now=NOW,
        )


def set_up(db: Database) -> None:
    create_shops(db)
    catalog.create_product(db, SYSTEM, code="P", name="P", category=None, now=NOW)
    one_bin_warehouse(db, NOW)
    for code in ("TEA-LJ-250G", "MOON-GIFT-6", "TEA-TIN-S"):
        catalog.create_sku(db, SYSTEM, catalog.NewSku(code, "P", code, None, 100, True, Decimal("50.00")), now=NOW)
        stock.post_movement(
            db,
            SYSTEM,
            f"bench:{code}",
            MovementRequest(MovementKind.RECEIPT, code, "HZ", 10**6, bin="A-01"),
            reference=None,
            now=NOW,
        )


def product_path(db: Database, batches: dict[Platform, list[dict]], batch: int) -> tuple[float, float]:
    started = time.perf_counter()
    for platform, bodies in batches.items():
        for start in range(0, len(bodies), batch):
            intake.intake(
                db, CIPHER, SYSTEM, f"S-{platform.value}", bodies[start : start + batch], source="fetch", now=NOW
            )
    intake_seconds = time.perf_counter() - started
    started = time.perf_counter()
    report = review.review_pending(db, CIPHER, SYSTEM, now=NOW, batch=batch)
    review_seconds = time.perf_counter() - started
    print(f"    review: {report.approved} approved, {report.held} held, {report.rejected} rejected")
    return intake_seconds, review_seconds


def floor_path(db: Database, batches: dict[Platform, list[dict]], batch: int) -> float:
    """The database's own speed: the same order and line rows, already converted to plain column values
    (outside the timer), upserted with the driver's executemany, one transaction per batch."""
    with db.uow(write=False) as uow:
        shop_ids = dict(uow.conn.execute(text("SELECT code, id FROM shops")).all())
    sqlite = db.engine.dialect.name == "sqlite"
    # intake writes every order column but the id and those fulfilment owns (they keep their defaults)
    order_columns = [c.name for c in orders.columns if c.name != "id" and c.name not in FULFILMENT_COLUMNS]
    line_columns = [c.name for c in order_lines.columns]
    prepared = []
    next_id = 0
    for platform, bodies in batches.items():
        parsed = [item.order for item in parse_all(platform, bodies)[0]]
        shop_id = shop_ids[f"S-{platform.value}"]
        for start in range(0, len(parsed), batch):
            chunk = parsed[start : start + batch]
            order_rows, line_rows = [], []
            for o in chunk:
                next_id += 1
                order_rows.append(tuple(_plain(_order_row(o, shop_id, CIPHER, NOW)[c], sqlite) for c in order_columns))
                line_rows += [
                    tuple(_plain(_line_row(next_id, shop_id, n, line, {})[c], sqlite) for c in line_columns)
                    for n, line in enumerate(o.lines, start=1)
                ]
            prepared.append((order_rows, line_rows))
    mark = "?" if sqlite else "%s"
    upsert_orders = (
        f"INSERT INTO orders ({', '.join(order_columns)}) VALUES ({', '.join([mark] * len(order_columns))})"
        " ON CONFLICT (shop_id, platform_order_id) DO UPDATE SET status = excluded.status,"
        " platform_modified_at = excluded.platform_modified_at"
    )
    upsert_lines = (
        f"INSERT INTO order_lines ({', '.join(line_columns)}) VALUES "
        f"({', '.join([mark] * len(line_columns))}) ON CONFLICT (order_id, line_no) DO UPDATE SET "
        "quantity = excluded.quantity"
    )
    raw = db.engine.raw_connection()
    try:
        started = time.perf_counter()
        for order_rows, line_rows in prepared:
            cursor = raw.cursor()
            if sqlite:
                cursor.execute("BEGIN")
            cursor.executemany(upsert_orders, order_rows)
            cursor.executemany(upsert_lines, line_rows)
            raw.commit()
            cursor.close()
        return time.perf_counter() - started
    finally:
        raw.close()


def _plain(value, sqlite: bool):
    """What the driver gets: fen for money, UTC for times (naive on SQLite), JSON as text."""
    if isinstance(value, Decimal):
        return int(value * 100)
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(sep=" ") if sqlite else value
    if isinstance(value, list | dict):
        return json.dumps(value)
    return value


def run(url: str, count: int, batch: int) -> None:
    data = make_payloads(count)
    for label, measure in (("floor (bare SQL upserts)", floor_path), ("product", None)):
        db = Database(make_engine(url))
        with db.engine.begin() as conn:  # each path starts from empty order tables
            for table in ("order_lines", "order_events", "audit_log", "orders"):
                conn.execute(text(f"DELETE FROM {table}"))
        if measure is floor_path:
            if not _has_shops(db):
                set_up(db)
            with db.engine.begin() as conn:  # the floor's rows must not collide with the product's ids
                conn.execute(text("DELETE FROM order_lines"))
            seconds = floor_path(db, data, batch)
            floor_rate = count / seconds
            print(f"  {label:<28} {count:>7} orders in {seconds:6.2f} s = {floor_rate:9.0f} orders/s")
        else:
            intake_s, review_s = product_path(db, data, batch)
            total = intake_s + review_s
            print(
                f"  intake (parse+encrypt+upsert) {count:>7} orders in {intake_s:6.2f} s = "
                f"{count / intake_s:9.0f} orders/s"
            )
            print(
                f"  review (bulk context+rules)   {count:>7} orders in {review_s:6.2f} s = "
                f"{count / review_s:9.0f} orders/s"
            )
            print(
                f"  end to end                    {count:>7} orders in {total:6.2f} s = "
                f"{count / total:9.0f} orders/s  ({floor_rate / (count / total):.1f}x the floor's time)"
            )
        db.dispose()


def _has_shops(db: Database) -> bool:
    with db.uow(write=False) as uow:
        return uow.conn.execute(text("SELECT count(*) FROM shops")).scalar_one() > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.only != "postgresql":
        folder = Path(tempfile.mkdtemp())
        url = f"sqlite:///{folder / 'bench.db'}"
        migrate.upgrade(make_engine(url))
        print(f"SQLite, {args.orders} orders:")
        run(url, args.orders, args.batch)
        shutil.rmtree(folder)
    if args.only != "sqlite":
        name = f"presale_erp_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
            migrate.upgrade(make_engine(url))
            print(f"PostgreSQL, {args.orders} orders:")
            run(url, args.orders, args.batch)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
