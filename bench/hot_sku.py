"""Hot SKU (a presale flash sale): many concurrent clients reserving one unit each of one SKU, on SQLite and
PostgreSQL. Prints figures; asserts nothing about time.

    .venv/bin/python bench/hot_sku.py [--clients 64] [--seconds 5] [--only sqlite|postgresql] [--cpu N] [--lanes N]

`--cpu N` runs this process (the clients, the desk and the baseline's connections alike) on CPU N only, the
database server wherever it runs. A process whose threads take turns on one GIL loses much of its time to waking
threads on other CPUs (on a virtual machine each cross-CPU wake-up is an interrupt the host must deliver); an
API worker holding the desk would be pinned the same way in production. Both figures belong in a report.

Two phases on the same database in the same run, each for the same time:
- baseline: each client on its own raw DBAPI connection loops one conditional
  `UPDATE stock_positions SET reserved = reserved + 1 WHERE ... AND on_hand - reserved >= 1` and a commit;
- product: each client a coroutine of one event loop awaiting ReservationDesk.reserve_async, as the API's
  POST /api/v1/reservations does for each request (group commit, reservation and audit rows): the figure compared
  with the baseline;
- product, a thread per client: the same through ReservationDesk.reserve, for callers that block a thread each;
- ceiling (PostgreSQL): 64 coroutines handing requests to one bare group-commit loop in this process (lock the
  row, insert the reservation rows, bump `reserved`, commit; no domain, audit or idempotency): what one Python
  process can reach on this machine at all, to read the product's figure against.
After each phase: nothing oversold (reserved <= on_hand, and every counted success is in `reserved`), and after
the product phases the ledger check is clean.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

import psycopg
from sqlalchemy import create_engine, make_url, text

if __package__:  # imported as bench.hot_sku
    from .fixtures import one_bin_warehouse
else:  # run as a script, like the other benches
    from fixtures import one_bin_warehouse

from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import InsufficientStock
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import catalog, stock, stock_views
from presale_erp.services.reservation_desk import ReservationDesk

NOW = datetime.now(UTC)
SKU, WAREHOUSE = "HOT-1", "HZ"
ON_HAND = 10_000_000  # enough that neither phase runs out: every attempt is a reservation


def measure(url: str, clients: int = 64, seconds: float = 5.0, lanes: int = 0) -> dict[str, Any]:
    """Both phases on the (empty) database at `url`; returns the figures and the oversell checks."""
    db = Database(make_engine(url, pool_size=clients))
    try:
        migrate.upgrade(db.engine)
        _set_up(db)
        baseline, baseline_s = _run_clients(clients, seconds, _baseline_client(url))
        base = _report("baseline (conditional UPDATE)", db, baseline, baseline_s)
        _reset_reserved(db)
        with ReservationDesk(db, lanes=lanes) as desk:
            product, product_s = _run_coroutines(clients, seconds, _product_coroutine(desk, "async"))
            prod = _report("product (desk, async callers)", db, product, product_s)
            before = stock_views.position_detail(db, sku=SKU, warehouse=WAREHOUSE)["reserved"]
            threaded, threaded_s = _run_clients(clients, seconds, _product_client(desk, "threads"))
            threads = _report("product (desk, a thread each)", db, threaded, threaded_s, before=before)
        discrepancies = stock.ledger_discrepancies(db)
        if db.engine.dialect.name == "postgresql":
            ceiling, ceiling_s = _run_coroutines(clients, seconds, _bare_group_commit(url, seconds))
            rate = ceiling / ceiling_s
            print(f"  {'ceiling (bare group commit)':<32} {ceiling:>8} in {ceiling_s:5.2f} s = {rate:8.0f}/s")
    finally:
        db.dispose()
    ratio = prod["per_s"] / base["per_s"]
    print(f"  product / baseline: {ratio:.1f}x   ledger discrepancies after product phases: {len(discrepancies)}")
    phases = (base, prod, threads)
    return {
        "clients": clients,
        "seconds": seconds,
        "baseline": base,
        "product": prod,
        "product_threads": threads,
        "ratio": ratio,
        "ledger_discrepancies": discrepancies,
        "clean": not any(p["oversold"] or p["lost"] for p in phases) and not discrepancies,
    }


def _set_up(db: Database) -> None:
    one_bin_warehouse(db, NOW, code=WAREHOUSE)
    catalog.create_product(db, SYSTEM, code="P-HOT", name="Flash sale", category=None, now=NOW)
    catalog.create_sku(db, SYSTEM, catalog.NewSku(SKU, "P-HOT", SKU, None, 100, True), now=NOW)
    stock.post_movement(
        db,
        SYSTEM,
        "bench:hot",
        MovementRequest(MovementKind.RECEIPT, SKU, WAREHOUSE, ON_HAND, bin="A-01"),
        reference=None,
        now=NOW,
    )


Client = Callable[[int, float], int]  # (client number, deadline) -> reservations made
Coroutine = Callable[[int, float], Awaitable[int]]  # the same, for a coroutine


def _run_clients(clients: int, seconds: float, client: Client) -> tuple[int, float]:
    """Start every client at once; each works until the deadline. Returns reservations made and wall time."""
    start = threading.Barrier(clients + 1)
    deadline: list[float] = []

    def one(n: int) -> int:
        start.wait()
        return client(n, deadline[0])

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(one, n) for n in range(clients)]
        deadline.append(time.perf_counter() + seconds)
        started = time.perf_counter()
        start.wait()
        made = sum(f.result() for f in futures)
        return made, time.perf_counter() - started


def _run_coroutines(clients: int, seconds: float, client: Coroutine) -> tuple[int, float]:
    """Every client a coroutine of one event loop (as an async API worker serves its requests), started at once,
    each working until the deadline. Returns reservations made and wall time."""

    async def everyone() -> int:
        deadline = time.perf_counter() + seconds
        return sum(await asyncio.gather(*(client(n, deadline) for n in range(clients))))

    started = time.perf_counter()
    made = asyncio.run(everyone())
    return made, time.perf_counter() - started


def _baseline_client(url: str) -> Client:
    sql = (
        "UPDATE stock_positions SET reserved = reserved + 1 WHERE sku_id = {0} AND warehouse_id = {0}"
        " AND on_hand - reserved >= 1"
    )
    sku_id, warehouse_id = _position_ids(url)

    def client(_n: int, deadline: float) -> int:
        conn, mark = _raw_connection(url)
        statement = sql.format(mark)
        made = 0
        try:
            while time.perf_counter() < deadline:
                cursor = conn.cursor()
                cursor.execute(statement, (sku_id, warehouse_id))
                made += cursor.rowcount
                conn.commit()
                cursor.close()
        finally:
            conn.close()
        return made

    return client


def _product_client(desk: ReservationDesk, phase: str) -> Client:
    """Each reservation with an id of its own: an id used before would be answered as a replay, reserving nothing."""

    def client(n: int, deadline: float) -> int:
        made = 0
        while time.perf_counter() < deadline:
            try:
                desk.reserve(SYSTEM, **_one_unit(f"{phase}:{n}:{made}"))
            except InsufficientStock:
                break
            made += 1
        return made

    return client


def _one_unit(ref: str) -> dict[str, Any]:
    """A buyer's request for one unit of the hot SKU, as the desk's reserve takes it after the actor."""
    line = stock.ReservationLine(ref, SKU, WAREHOUSE, 1)
    return {"lines": [line], "shop": None, "order_ref": ref, "expires_at": None, "now": NOW}


def _product_coroutine(desk: ReservationDesk, phase: str) -> Coroutine:
    async def client(n: int, deadline: float) -> int:
        made = 0
        while time.perf_counter() < deadline:
            try:
                await desk.reserve_async(SYSTEM, **_one_unit(f"{phase}:{n}:{made}"))
            except InsufficientStock:
                break
            made += 1
        return made

    return client


def _bare_group_commit(url: str, seconds: float) -> Coroutine:
    """One committer thread on a raw connection serving every client, and waking the clients' event loop once
    per batch: the least Python a group commit needs."""
    requests: SimpleQueue[tuple[str, asyncio.Future, asyncio.AbstractEventLoop]] = SimpleQueue()
    sku_id, warehouse_id = _position_ids(url)
    stop_at = time.perf_counter() + seconds + 1.0

    def committer() -> None:
        conn, _ = _raw_connection(url)
        with conn:
            while time.perf_counter() < stop_at:
                try:
                    batch = [requests.get(timeout=0.05)]
                except Empty:
                    continue
                while len(batch) < 512:
                    try:
                        batch.append(requests.get_nowait())
                    except Empty:
                        break
                _bare_commit(conn, sku_id, warehouse_id, [rid for rid, _, _ in batch])
                batch[0][2].call_soon_threadsafe(_answer_all, [answered for _, answered, _ in batch])

    threading.Thread(target=committer, daemon=True).start()

    async def client(n: int, deadline: float) -> int:
        made = 0
        loop = asyncio.get_running_loop()
        while time.perf_counter() < deadline:
            answered = loop.create_future()
            requests.put((f"bare:{n}:{made}", answered, loop))
            await answered
            made += 1
        return made

    return client


def _answer_all(answered: list[asyncio.Future]) -> None:
    for future in answered:
        future.set_result(None)


def _bare_commit(conn: Any, sku_id: int, warehouse_id: int, ids: list[str]) -> None:
    cursor = conn.cursor()
    cursor.execute(
        "SELECT on_hand - reserved FROM stock_positions WHERE sku_id = %s AND warehouse_id = %s FOR UPDATE",
        (sku_id, warehouse_id),
    )
    rows = [
        {
            "id": i,
            "sku_id": sku_id,
            "warehouse_id": warehouse_id,
            "quantity": 1,
            "from_quota": 0,
            "stage": "awaiting_review",
            "status": "pending",
            "created_at": NOW.isoformat(),
            "created_by": "bench",
        }
        for i in ids
    ]
    cursor.execute(
        "WITH bumped AS (UPDATE stock_positions SET reserved = reserved + %s WHERE sku_id = %s AND warehouse_id = %s)"
        " INSERT INTO reservations SELECT * FROM json_populate_recordset(NULL::reservations, %s)",
        (len(ids), sku_id, warehouse_id, json.dumps(rows)),
    )
    conn.commit()


def _raw_connection(url: str) -> tuple[Any, str]:
    """A plain driver connection (no pool, no ORM) and its parameter mark, set up as the product's engine is."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database or "", timeout=60, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA busy_timeout=60000")
        return conn, "?"
    return psycopg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False)), "%s"


def _position_ids(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT s.id, w.id FROM skus s, warehouses w WHERE s.code = :sku AND w.code = :wh",
                ),
                {"sku": SKU, "wh": WAREHOUSE},
            ).one()
    finally:
        engine.dispose()
    return row[0], row[1]


def _reset_reserved(db: Database) -> None:
    """The baseline's bare UPDATEs leave `reserved` without reservation rows; the product phase starts from 0."""
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE stock_positions SET reserved = 0"))


def _report(label: str, db: Database, made: int, seconds: float, *, before: int = 0) -> dict[str, Any]:
    """`before`: what the position held reserved when the phase began."""
    view = stock_views.position_detail(db, sku=SKU, warehouse=WAREHOUSE)
    oversold = max(view["reserved"] - view["on_hand"], 0)
    lost = made - (view["reserved"] - before)  # a success the position does not show (or one nobody was told of)
    rate = made / seconds
    print(
        f"  {label:<32} {made:>8} in {seconds:5.2f} s = {rate:8.0f}/s   "
        f"reserved {view['reserved']}, oversold {oversold}, uncounted {lost}"
    )
    return {"reservations": made, "seconds": seconds, "per_s": rate, "oversold": oversold, "lost": lost}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--pg-admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--cpu", type=int, help="run this process on this CPU only (see above)")
    parser.add_argument("--lanes", type=int, default=0, help="the desk's lanes (PRESALE_ERP_RESERVATION_LANES)")
    args = parser.parse_args()
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
        print(f"(this process on CPU {args.cpu} only)")
    results = []
    if args.only != "postgresql":
        folder = Path(tempfile.mkdtemp())
        try:
            print(f"SQLite (WAL), {args.clients} clients, {args.seconds:g} s per phase:")
            results.append(measure(f"sqlite:///{folder / 'bench.db'}", args.clients, args.seconds, args.lanes))
        finally:
            shutil.rmtree(folder)
    if args.only != "sqlite":
        name = f"presale_erp_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            print(f"PostgreSQL, {args.clients} clients, {args.seconds:g} s per phase:")
            url = args.pg_admin_url.rsplit("/", 1)[0] + f"/{name}"
            results.append(measure(url, args.clients, args.seconds, args.lanes))
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    if not all(r["clean"] for r in results):
        sys.exit("Oversold, uncounted or ledger discrepancies: see above.")


if __name__ == "__main__":
    main()
