"""The peak-night pipeline: intake -> review -> allocation (split, merge, gifts, carrier choice) for presale
orders, on SQLite and PostgreSQL, against a bare-SQL floor measured in the same run; then waybills over HTTP
and the hot-SKU figure.

    .venv/bin/python bench/pipeline.py [--orders 100000] [--batch 2000] [--only sqlite|postgresql]
                                       [--waybills 5000] [--hot-seconds 5]

Floor: the same order and line rows inserted with the driver's executemany, and stock reserved with one
set-based conditional UPDATE per batch (no application logic). Product: the real services, batch by batch,
first stage after stage (each stage's figure; end to end is their sum), then on a fresh database with the three
stages at once, each in a worker process of its own, as the queue's workers run them on a peak night.
Waybills (tracking numbers from the carrier simulator, one HTTP call per parcel as the carrier's API has it)
are timed apart, on a sample: they are I/O against a third party, not the database's work."""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import multiprocessing.connection
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import hot_sku
from fixtures import one_bin_warehouse
from intake_review import CIPHER, NOW, _plain, create_shops, make_payloads
from sqlalchemy import create_engine, text

from presale_erp.adapters.carriers.kdniao import KdniaoClient
from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.tables import order_lines
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import catalog, fulfilment, intake, parcels, review, stock
from presale_erp.services import fulfilment_settings as settings
from presale_erp.services.intake import _line_row, _order_row, parse_all
from presale_erp.simulators.carrier_server import make_carrier_app

SKUS = ("TEA-LJ-250G", "MOON-GIFT-6", "TEA-TIN-S")
T = TypeVar("T")
_START_TIMEOUT_S = 300  # a worker that has not started by then has failed (its error is on stderr)
PROVINCES_OF = {"HZ": ["浙江省", "江苏省", "上海市"], "GZ": ["广东省", "广西壮族自治区"]}


def set_up(db: Database) -> None:
    create_shops(db)
    catalog.create_product(db, SYSTEM, code="P", name="P", category=None, now=NOW)
    for wh, provinces in PROVINCES_OF.items():
        one_bin_warehouse(db, NOW, wh)
        settings.set_coverage(db, SYSTEM, wh, dict.fromkeys(provinces, 1), now=NOW)
    for code in SKUS:
        catalog.create_sku(db, SYSTEM, catalog.NewSku(code, "P", code, None, 400, True, Decimal("50.00")), now=NOW)
        for wh in PROVINCES_OF:
            stock.post_movement(
                db,
                SYSTEM,
                f"bench:{code}:{wh}",
                MovementRequest(MovementKind.RECEIPT, code, wh, 10**6, bin="A-01"),
                reference=None,
                now=NOW,
            )
    for carrier, fee in (("ZTO", "4.50"), ("YD", "4.20")):
        settings.set_rate(
            db,
            SYSTEM,
            carrier,
            warehouse=None,
            province=None,
            first_weight_grams=1000,
            first_fee=Decimal(fee),
            extra_fee_per_kg=Decimal("1.50"),
            now=NOW,
        )


def product(db: Database, data: dict, batch: int) -> dict[str, float]:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    for platform, bodies in data.items():  # each shop's orders as a fetch receives them: page by page
        pages = (bodies[start : start + batch] for start in range(0, len(bodies), batch))
        intake.intake_pages(db, CIPHER, SYSTEM, f"S-{platform.value}", pages, source="fetch", now=NOW)
    seconds["intake"] = time.perf_counter() - started
    started = time.perf_counter()
    reviewed = review.review_pending(db, CIPHER, SYSTEM, now=NOW, batch=batch)
    seconds["review"] = time.perf_counter() - started
    started = time.perf_counter()
    allocated = fulfilment.allocate(db, SYSTEM, now=NOW, batch=batch)
    seconds["allocation+split/merge+carrier choice"] = time.perf_counter() - started
    print(
        f"    reviewed {reviewed.reviewed} ({reviewed.approved} approved, {reviewed.held} held); allocated "
        f"{allocated.allocated} into {allocated.parcels} parcels ({allocated.waiting} waiting: {allocated.reasons})"
    )
    return seconds


def floor(db: Database, data: dict, batch: int) -> float:
    """Insert the same orders and lines with executemany, then one set-based conditional UPDATE per batch that
    reserves the batch's units of each SKU in one warehouse: the database's own speed for this work."""
    with db.uow(write=False) as uow:
        shop_ids = dict(uow.conn.execute(text("SELECT code, id FROM shops")).all())
        warehouse_id = uow.conn.execute(text("SELECT id FROM warehouses WHERE code = 'HZ'")).scalar_one()
    sqlite = db.engine.dialect.name == "sqlite"
    prepared = []
    next_id = 10**9  # clear of the product's ids
    for platform, bodies in data.items():
        parsed = [item.order for item in parse_all(platform, bodies)[0]]
        shop_id = shop_ids[f"S-{platform.value}"]
        for start in range(0, len(parsed), batch):
            order_rows, line_rows = [], []
            first = next_id + 1
            for o in parsed[start : start + batch]:
                next_id += 1
                row = {"id": next_id, **_order_row(o, shop_id, CIPHER, NOW)}
                order_rows.append(tuple(_plain(v, sqlite) for v in row.values()))
                line_rows += [
                    tuple(_plain(v, sqlite) for v in _line_row(next_id, shop_id, n, line, {}).values())
                    for n, line in enumerate(o.lines, start=1)
                ]
            prepared.append((list(row), order_rows, line_rows, first, next_id))
    mark = "?" if sqlite else "%s"
    line_columns = [c.name for c in order_lines.columns]
    insert_lines = (
        f"INSERT INTO order_lines ({', '.join(line_columns)}) VALUES ({', '.join([mark] * len(line_columns))})"
    )
    # sku_code -> stock row by code: the floor's lines carry codes (it does no SKU matching)
    reserve = (
        "UPDATE stock_positions SET reserved = reserved + d.units FROM ("
        " SELECT s.id AS sku_id, sum(l.quantity) AS units FROM order_lines l JOIN skus s ON s.code = l.sku_code"
        f" WHERE l.order_id BETWEEN {mark} AND {mark} GROUP BY s.id) AS d"
        f" WHERE stock_positions.sku_id = d.sku_id AND stock_positions.warehouse_id = {mark}"
        " AND stock_positions.on_hand - stock_positions.reserved >= d.units"
    )
    raw = db.engine.raw_connection()
    try:
        started = time.perf_counter()
        for columns, order_rows, line_rows, first, last in prepared:
            cursor = raw.cursor()
            if sqlite:
                cursor.execute("BEGIN")
            cursor.executemany(
                f"INSERT INTO orders ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})", order_rows
            )
            cursor.executemany(insert_lines, line_rows)
            cursor.execute(reserve, (first, last, warehouse_id))
            raw.commit()
            cursor.close()
        return time.perf_counter() - started
    finally:
        raw.close()


def waybills(db: Database, sample: int) -> None:
    """Tracking numbers for `sample` parcels from the carrier simulator over real HTTP (pooled, concurrent)."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(make_carrier_app("bench", "bench-key"), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        with KdniaoClient(f"http://127.0.0.1:{port}", "bench", "bench-key", concurrency=16) as client:
            limited = _Limited(client, sample)
            started = time.perf_counter()
            report = parcels.request_waybills(db, CIPHER, limited, SYSTEM, now=NOW, batch=500)
            took = time.perf_counter() - started
        rate = report.issued / took
        print(f"  waybills (HTTP, 16 connections)  {report.issued:>7} parcels in {took:6.2f} s = {rate:9.0f}/s")
    finally:
        server.should_exit = True
        thread.join(timeout=5)


class _Limited:
    """Stops asking once the sample is issued (the rest stay due, as they would until the next run)."""

    def __init__(self, client: KdniaoClient, sample: int) -> None:
        self.client, self.left = client, sample

    def request_waybills(self, requests):
        if self.left <= 0:
            from presale_erp.domain.shipping import CarrierError

            raise CarrierError("bench sample issued")
        self.left -= len(requests)
        return self.client.request_waybills(requests)


def run(url: str, count: int, batch: int, sample: int) -> float:
    """The floor, then the product stage after stage; returns the floor's seconds."""
    data = make_payloads(count)
    db = Database(make_engine(url))
    set_up(db)
    # The payloads stand for what the platforms' APIs deliver page by page: no worker holds 100,000 of them. They
    # are frozen with this process's start-up objects, as a worker freezes its own at start-up
    # (jobs.queue.settle_start_up_objects), so the collector does not walk them again on every full collection
    # of the product's run (~8 s of 70 at 40,000 orders on PostgreSQL).
    gc.freeze()
    floor_seconds = floor(db, data, batch)
    floor_rate = count / floor_seconds
    print(f"  floor (insert + set-based reserve)  {count:>7} orders in {floor_seconds:6.2f} s = {floor_rate:9.0f}/s")
    with db.engine.begin() as conn:  # the product starts from empty order tables and untouched stock
        conn.execute(text("DELETE FROM order_lines WHERE order_id >= 1000000000"))
        conn.execute(text("DELETE FROM orders WHERE id >= 1000000000"))
        conn.execute(text("UPDATE stock_positions SET reserved = 0, awaiting_shipment = 0"))
    seconds = product(db, data, batch)
    for stage, took in seconds.items():
        print(f"  {stage:<38} {count:>7} orders in {took:6.2f} s = {count / took:9.0f}/s")
    total = sum(seconds.values())
    print(
        f"  end to end                             {count:>7} orders in {total:6.2f} s = {count / total:9.0f}/s"
        f"  ({total / floor_seconds:.1f}x the floor's time)"
    )
    print(f"  ledger check: {len(stock.ledger_discrepancies(db))} discrepancies")
    if sample:
        waybills(db, sample)
    db.dispose()
    return floor_seconds


def stages_at_once(url: str, count: int, batch: int, floor_seconds: float) -> None:
    """The same orders through the same services, the three stages at once, each in a worker process of its own:
    how a peak night runs them (the queue's workers are processes, and the fetch, review and allocation jobs run
    side by side, each taking what the stage before it has committed). Timed from the moment every worker is
    ready until the allocation worker has allocated what review approved after intake's last page."""
    db = Database(make_engine(url))
    set_up(db)
    db.dispose()
    spawn = mp.get_context("spawn")
    ready = spawn.Barrier(4)
    taken, reviewed = spawn.Event(), spawn.Event()
    results = spawn.Queue()
    workers = [
        spawn.Process(target=_stage, args=(_intake, url, ready, count, batch, taken, results), name="intake"),
        spawn.Process(target=_stage, args=(_review, url, ready, batch, taken, reviewed, results), name="review"),
        spawn.Process(target=_stage, args=(_allocation, url, ready, batch, reviewed, results), name="allocation"),
    ]
    for worker in workers:
        worker.start()
    try:
        ready.wait(timeout=_START_TIMEOUT_S)
    except threading.BrokenBarrierError:
        for worker in workers:
            worker.terminate()
        raise SystemExit("a stage's worker failed to start (its error is above)") from None
    started = time.perf_counter()
    _until_all_end(workers)
    took = time.perf_counter() - started
    counts = dict(results.get(timeout=10) for _ in workers)
    print(f"    {counts['intake']} taken in; {counts['review']} reviewed; {counts['allocation']} allocated")
    print(
        f"  end to end, stages at once            {count:>7} orders in {took:6.2f} s = {count / took:9.0f}/s"
        f"  ({took / floor_seconds:.1f}x the floor's time)"
    )
    db = Database(make_engine(url))
    print(f"  ledger check: {len(stock.ledger_discrepancies(db))} discrepancies")
    db.dispose()


def _until_all_end(workers: list[mp.process.BaseProcess]) -> None:
    """Wait for every worker; should one fail, stop the others (they would wait for it for ever)."""
    running = list(workers)
    while running:
        mp.connection.wait([w.sentinel for w in running])
        for worker in [w for w in running if not w.is_alive()]:
            running.remove(worker)
            if worker.exitcode:
                for other in running:
                    other.terminate()
                raise SystemExit(f"the {worker.name} worker failed (exit code {worker.exitcode})")


def _stage(work: Callable[..., None], url: str, ready, *args: Any) -> None:
    """A stage's worker process: its own engine, its start-up objects frozen (as jobs.queue does for a worker),
    then `work` from the start line. One that fails before the start line breaks it for all at once."""
    try:
        db = Database(make_engine(url))
        work(db, ready, *args)
    except BaseException:
        ready.abort()
        raise


def _start(ready) -> None:
    gc.freeze()
    ready.wait(timeout=_START_TIMEOUT_S)


def _intake(db: Database, ready, count: int, batch: int, taken, results) -> None:
    data = make_payloads(count)
    _start(ready)
    for platform, bodies in data.items():
        pages = (bodies[start : start + batch] for start in range(0, len(bodies), batch))
        intake.intake_pages(db, CIPHER, SYSTEM, f"S-{platform.value}", pages, source="fetch", now=NOW)
    taken.set()
    results.put(("intake", sum(len(bodies) for bodies in data.values())))


def _review(db: Database, ready, batch: int, taken, reviewed, results) -> None:
    _start(ready)
    decided = 0
    while True:
        last_round = taken.is_set()  # read before the run: a run started after intake ended sees all its orders
        report = review.review_pending(db, CIPHER, SYSTEM, now=NOW, batch=batch)
        decided += report.reviewed - report.waiting
        if last_round:
            break
        if report.reviewed == report.waiting:  # nothing decided: orders left waiting are no work to hurry for
            time.sleep(0.02)
    reviewed.set()
    results.put(("review", decided))


def _allocation(db: Database, ready, batch: int, reviewed, results) -> None:
    _start(ready)
    allocated = 0
    while True:
        last_round = reviewed.is_set()
        report = fulfilment.allocate(db, SYSTEM, now=NOW, batch=batch)
        allocated += report.allocated
        if last_round:
            break
        if not report.allocated:
            time.sleep(0.02)
    results.put(("allocation", allocated))


def on_new_database(kind: str, pg_admin_url: str, work: Callable[[str], T]) -> T:
    """Run `work(url)` on a fresh, migrated database of that kind, dropped afterwards; returns what it returns."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp())
        try:
            url = f"sqlite:///{folder / 'bench.db'}"
            migrate.upgrade(make_engine(url))
            return work(url)
        finally:
            shutil.rmtree(folder)
    name = f"presale_erp_pipeline_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
        migrate.upgrade(make_engine(url))
        return work(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--waybills", type=int, default=5000, help="parcels to request tracking numbers for")
    parser.add_argument("--hot-seconds", type=float, default=5.0, help="0 to skip the hot-SKU figure")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for kind, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        if args.only not in (None, kind):
            continue
        print(f"{label}, {args.orders} orders:")
        floor_seconds = on_new_database(
            kind, args.pg_admin_url, lambda url: run(url, args.orders, args.batch, args.waybills)
        )
        at_once = partial(stages_at_once, count=args.orders, batch=args.batch, floor_seconds=floor_seconds)
        on_new_database(kind, args.pg_admin_url, at_once)
        if args.hot_seconds:
            print(f"{label}, hot SKU (64 clients, one SKU):")
            on_new_database(
                kind, args.pg_admin_url, lambda url: hot_sku.measure(url, clients=64, seconds=args.hot_seconds)
            )


if __name__ == "__main__":
    main()
