"""Ledger throughput through the product's own use cases, on SQLite and PostgreSQL. Prints figures; asserts
nothing about time.

    .venv/bin/python bench/ledger.py [--reservations 2000] [--clients 16] [--pg-admin-url URL]

Figures: movements posted per second (one client), reservations per second on many SKUs (one client), and a
hot SKU: N concurrent clients reserving one unit each of one SKU (a flash sale), with the oversell check.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from fixtures import one_bin_warehouse
from sqlalchemy import create_engine, text

from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import check_code
from presale_erp.domain.errors import InsufficientStock
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import catalog, stock, stock_views

NOW = datetime.now(UTC)


def _setup(db: Database, skus: int) -> None:
    one_bin_warehouse(db, NOW)
    catalog.create_product(db, SYSTEM, code="P", name="P", category=None, now=NOW)
    for n in range(skus):
        catalog.create_sku(
            db, SYSTEM, catalog.NewSku(check_code("SKU", f"S{n}"), "P", f"S{n}", None, 100, True), now=NOW
        )


def _rate(label: str, count: int, work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    seconds = time.perf_counter() - started
    print(f"  {label:<48} {count:>7} in {seconds:6.2f} s = {count / seconds:8.0f}/s")
    return count / seconds


def run(db: Database, reservations: int, clients: int) -> None:
    skus = 50
    _setup(db, skus)

    def receipts() -> None:
        for n in range(skus):
            stock.post_movement(
                db,
                SYSTEM,
                f"r{n}",
                MovementRequest(MovementKind.RECEIPT, f"S{n}", "HZ", 10_000, bin="A-01"),
                reference=None,
                now=NOW,
            )

    _rate("movements posted (1 client)", skus, receipts)

    def many_skus() -> None:
        for n in range(reservations):
            stock.reserve(
                db,
                SYSTEM,
                [stock.ReservationLine(f"m{n}", f"S{n % skus}", "HZ", 1)],
                shop=None,
                order_ref=f"o{n}",
                expires_at=None,
                now=NOW,
            )

    _rate("reservations, many SKUs (1 client)", reservations, many_skus)

    hot_units = reservations // 2
    stock.post_movement(
        db,
        SYSTEM,
        "hot",
        MovementRequest(
            MovementKind.ADJUSTMENT, "S0", "HZ", hot_units - 10_000 + reservations // skus, bin="A-01", reason="bench"
        ),
        reference=None,
        now=NOW,
    )
    outcomes: list[bool] = []

    def one(n: int) -> None:
        try:
            stock.reserve(
                db,
                SYSTEM,
                [stock.ReservationLine(f"h{n}", "S0", "HZ", 1)],
                shop=None,
                order_ref=f"h{n}",
                expires_at=None,
                now=NOW,
            )
            outcomes.append(True)
        except InsufficientStock:
            outcomes.append(False)

    def hot() -> None:
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(one, range(reservations)))

    _rate(f"hot SKU, {clients} concurrent clients", reservations, hot)
    view = stock_views.position_detail(db, sku="S0", warehouse="HZ")
    oversold = max(view["reserved"] - view["on_hand"], 0)
    print(
        f"  hot SKU: {sum(outcomes)} reserved, {outcomes.count(False)} refused, oversold {oversold}, "
        f"ledger discrepancies {len(stock.ledger_discrepancies(db))}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reservations", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp())
    print("SQLite (WAL, BEGIN IMMEDIATE):")
    db = Database(make_engine(f"sqlite:///{folder / 'bench.db'}", pool_size=args.clients))
    migrate.upgrade(db.engine)
    run(db, args.reservations, args.clients)
    db.dispose()
    shutil.rmtree(folder)

    name = f"presale_erp_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        print("PostgreSQL (SELECT ... FOR UPDATE in key order):")
        db = Database(make_engine(args.pg_admin_url.rsplit("/", 1)[0] + f"/{name}", pool_size=args.clients))
        migrate.upgrade(db.engine)
        run(db, args.reservations, args.clients)
        db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
