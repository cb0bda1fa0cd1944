"""The `presale-erp` command: serve, worker, demo, db upgrade, user create, ledger check."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from presale_erp.settings import get_settings

app = typer.Typer(
    help="presale-erp: ERP for presale (预售) e-commerce.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
ledger_app = typer.Typer(help="The stock ledger.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(ledger_app, name="ledger")
console = Console()
err = Console(stderr=True)
# The demo's account at its own carrier simulator (no real carrier is ever called by the demo).
DEMO_CARRIER_ID = "1109259"
DEMO_CARRIER_KEY = "demo-carrier-app-key"


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def _database():
    from presale_erp.adapters.db.engine import make_engine
    from presale_erp.adapters.db.unit_of_work import Database

    return Database(make_engine(get_settings().resolved_database_url))


def _upgrade() -> None:
    from sqlalchemy.exc import OperationalError

    from presale_erp.adapters.db import migrate

    db = _database()
    try:
        migrate.upgrade(db.engine)
    except OperationalError as exc:
        raise _fail(f"cannot reach the database ({get_settings().resolved_database_url}): {exc.orig}") from exc
    finally:
        db.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (creates the SQLite file on first run)."""
    _upgrade()
    console.print(f"[green]database is up to date[/] ({_safe_url()})")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().resolved_database_url).render_as_string(hide_password=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[int, typer.Option(help="HTTP worker processes")] = 1,
) -> None:
    """Serve the API (OpenAPI at /docs, health at /healthz)."""
    import uvicorn

    settings = get_settings()
    _require_migrated()
    console.print(f"serving on http://{host or settings.host}:{port or settings.port}  (API docs at /docs)")
    uvicorn.run(
        "presale_erp.api.asgi:app",
        host=host or settings.host,
        port=port or settings.port,
        workers=workers,
        log_level="info",
    )


def _require_migrated() -> None:
    from sqlalchemy.exc import OperationalError

    from presale_erp.adapters.db import migrate

    db = _database()
    try:
        if migrate.current_revision(db.engine) is None:
            raise _fail("the database has no schema yet: run `presale-erp db upgrade` first")
    except OperationalError as exc:
        raise _fail(f"cannot reach the database ({_safe_url()}): {exc.orig}") from exc
    finally:
        db.dispose()


@app.command()
def worker(
    workers: Annotated[int, typer.Option(help="Worker processes (or threads)")] = 2,
    worker_type: Annotated[str, typer.Option(help="process, thread or greenlet")] = "process",
    periodic: Annotated[
        bool,
        typer.Option(
            "--periodic/--no-periodic",
            help="Run the scheduled jobs too; with several worker hosts, let only one of them do so",
        ),
    ] = True,
) -> None:
    """Run background jobs from the task queue (SQLite queue by default, Redis with PRESALE_ERP_QUEUE_URL)."""
    if worker_type not in ("process", "thread", "greenlet"):
        raise _fail("--worker-type must be process, thread or greenlet")
    import logging

    from presale_erp.jobs import tasks  # noqa: F401  registers the tasks on the queue
    from presale_erp.jobs.queue import huey

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    consumer = huey.create_consumer(
        workers=workers, worker_type=worker_type, periodic=periodic, check_worker_health=True
    )
    console.print(f"worker: {workers} {worker_type}(es) on {type(huey).__name__}")
    consumer.run()


@app.command()
def demo(
    serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve after seeding")] = True,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    simulator_port: Annotated[int, typer.Option(help="Port of the local platform simulators")] = 8100,
) -> None:
    """Migrate, seed the presale demo (once), then serve the API with one background worker beside it and the
    platform simulators feeding the shops' automatic order fetching."""
    from presale_erp.demo.seed import connect_shops_to_simulators, seed

    _upgrade()
    db = _database()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("seeding the demo", total=None)
        report = seed(db, now=datetime.now(UTC), progress=lambda step: bar.update(task, description=f"seeding {step}"))
    console.print("[green]demo seeded[/]" if report.seeded else "demo data already present; left as it is")
    table = Table(title="Demo users (username / password)")
    table.add_column("role")
    table.add_column("sign in with")
    for role, credentials in report.users.items():
        table.add_row(role, credentials)
    console.print(table)
    if not serve_after:
        db.dispose()
        return
    os.environ.setdefault("PRESALE_ERP_CARRIER_URL", f"http://127.0.0.1:{simulator_port}/carrier")
    os.environ.setdefault("PRESALE_ERP_CARRIER_ID", DEMO_CARRIER_ID)
    os.environ.setdefault("PRESALE_ERP_CARRIER_KEY", DEMO_CARRIER_KEY)
    get_settings.cache_clear()  # the server below reads the carrier account from the environment
    children = [_start([sys.executable, "-m", "presale_erp", "simulator", "serve", "--port", str(simulator_port)])]
    try:
        base_url = f"http://127.0.0.1:{simulator_port}"
        _wait_for(base_url + "/docs")
        connect_shops_to_simulators(db, _cipher(), base_url, now=datetime.now(UTC))
        db.dispose()
        console.print(f"shops fetch their orders from the simulators at {base_url} every minute")
        children.append(
            _start([sys.executable, "-m", "presale_erp", "worker", "--workers", "2", "--worker-type", "thread"])
        )
        serve(host=None, port=port, workers=1)
    finally:
        for child in children:
            child.terminate()
            child.wait(timeout=10)


def _start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, env=os.environ.copy())


def _wait_for(url: str) -> None:
    import time

    import httpx

    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise _fail(f"{url} did not answer")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument(help="Login name, lower case")],
    role: Annotated[
        list[str],
        typer.Option(
            "--role",
            "-r",
            help="admin, customer_service, warehouse, purchaser, finance or viewer; repeat for several",
        ),
    ],
    display_name: Annotated[str, typer.Option(help="Name shown in the console")] = "",
    password: Annotated[
        str | None, typer.Option(help="Asked for if not given", envvar="PRESALE_ERP_NEW_USER_PASSWORD")
    ] = None,
) -> None:
    """Create a user with one or more roles."""
    from presale_erp.domain.access import SYSTEM, Role
    from presale_erp.domain.errors import DomainError
    from presale_erp.services import auth

    known = {r.value: r for r in Role}
    unknown = [r for r in role if r not in known]
    if unknown:
        raise _fail(f"unknown role(s) {', '.join(unknown)}; choose from {', '.join(known)}")
    if password is None:
        password = getpass.getpass("password: ")
    _require_migrated()
    db = _database()
    try:
        user = auth.create_user(
            db,
            SYSTEM,
            username=username,
            display_name=display_name,
            password=password,
            roles=[known[r] for r in role],
            now=datetime.now(UTC),
        )
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    finally:
        db.dispose()
    console.print(f"[green]created[/] {user['username']} with roles {', '.join(user['roles'])}")


@ledger_app.command("check")
def ledger_check() -> None:
    """Compare every stock counter with the movements and reservations behind it; exit 1 if any disagree."""
    from presale_erp.services import stock

    _require_migrated()
    db = _database()
    problems = stock.ledger_discrepancies(db)
    db.dispose()
    if not problems:
        console.print("[green]ledger balances[/]: every counter equals the movements behind it")
        return
    table = Table(title="Ledger discrepancies")
    for column in ("sku", "warehouse", "counter", "kept", "derived"):
        table.add_column(column)
    for p in problems:
        table.add_row(p["sku"], p["warehouse"], p["counter"], str(p["kept"]), str(p["derived"]))
    console.print(table)
    raise typer.Exit(code=1)


orders_app = typer.Typer(help="Orders: fetching and dead letters.", no_args_is_help=True)
app.add_typer(orders_app, name="orders")
simulator_app = typer.Typer(
    help="Local platform simulators (for the demo, tests and benchmarks).", no_args_is_help=True
)
app.add_typer(simulator_app, name="simulator")


def _cipher():
    from presale_erp.adapters.crypto import PiiCipher, load_master_key

    settings = get_settings()
    return PiiCipher(load_master_key(settings.secret_key, settings.data_dir))


@orders_app.command("fetch")
def orders_fetch(shop: Annotated[str, typer.Argument(help="Shop code")]) -> None:
    """Fetch a shop's orders now (the worker does this every minute for every enabled shop)."""
    from presale_erp.adapters.platforms.clients import PlatformError, PlatformUnavailable
    from presale_erp.domain.access import SYSTEM
    from presale_erp.domain.errors import DomainError
    from presale_erp.services import fetch

    _require_migrated()
    db = _database()
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
            bar.add_task(f"fetching {shop}", total=None)
            report = fetch.fetch_shop(db, _cipher(), SYSTEM, shop, now=datetime.now(UTC))
    except (DomainError, PlatformError, PlatformUnavailable) as exc:
        raise _fail(getattr(exc, "detail", str(exc))) from exc
    finally:
        db.dispose()
    console.print(
        f"[green]{shop}[/]: {report.pages} pages, {report.received} received, {report.created} new, "
        f"{report.updated} updated, {report.unchanged} unchanged, {report.dead_lettered} dead letters"
    )


@orders_app.command("import")
def orders_import(
    shop: Annotated[str, typer.Argument(help="Offline shop code")],
    file: Annotated[
        Path, typer.Argument(help="Excel (.xlsx) or CSV, one row per order line", exists=True, dir_okay=False)
    ],
) -> None:
    """Import offline orders (订单号, 下单时间, 商家编码, 数量, 单价, 收货人, 手机, 省, 市, 区, 地址, ...)."""
    from presale_erp.domain.access import SYSTEM
    from presale_erp.domain.errors import DomainError
    from presale_erp.services import intake

    _require_migrated()
    db = _database()
    try:
        report = intake.import_file(db, _cipher(), SYSTEM, shop, file, now=datetime.now(UTC))
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    finally:
        db.dispose()
    console.print(
        f"[green]{file.name}[/]: {report.received} orders, {report.created} new, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.dead_lettered} dead letters"
    )
    if report.dead_lettered:
        console.print("see them with: presale-erp orders dead-letters --shop " + shop)


@orders_app.command("dead-letters")
def dead_letters_list(
    shop: Annotated[str | None, typer.Option(help="Only this shop")] = None,
    status: Annotated[str, typer.Option(help="open, resolved or discarded")] = "open",
) -> None:
    """List payloads that could not be read, with the reason."""
    from presale_erp.services import order_views

    if status not in ("open", "resolved", "discarded"):
        raise _fail("--status must be open, resolved or discarded")
    _require_migrated()
    db = _database()
    rows = order_views.list_dead_letters(db, shop=shop, status=status, after_id=None, limit=500)
    db.dispose()
    table = Table(title=f"Dead letters ({status})")
    for column in ("id", "shop", "source", "received", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(str(row["id"]), row["shop"], row["source"], f"{row['received_at']:%Y-%m-%d %H:%M}", row["reason"])
    console.print(table)


@orders_app.command("retry")
def dead_letter_retry(
    letter_id: Annotated[int, typer.Argument(help="Dead letter id")],
    payload_file: Annotated[typer.FileText | None, typer.Option(help="A corrected payload (JSON)")] = None,
) -> None:
    """Run a dead letter through intake again, as stored or corrected."""
    import json

    from presale_erp.domain.access import SYSTEM
    from presale_erp.domain.errors import DomainError
    from presale_erp.services import intake

    payload = None
    if payload_file is not None:
        try:
            payload = json.load(payload_file)
        except ValueError as exc:
            raise _fail(f"{payload_file.name} is not JSON: {exc}") from exc
    _require_migrated()
    db = _database()
    try:
        outcome = intake.retry_dead_letter(db, _cipher(), SYSTEM, letter_id, payload=payload, now=datetime.now(UTC))
    except DomainError as exc:
        raise _fail(exc.detail) from exc
    finally:
        db.dispose()
    if outcome["status"] != "resolved":
        raise _fail(f"still unreadable: {outcome['reason']}")
    console.print(f"[green]resolved[/]: order {outcome['order']} stored")


@simulator_app.command("serve")
def simulator_serve(
    port: Annotated[int, typer.Option(help="Port")] = 8100,
    orders: Annotated[int, typer.Option(help="Order histories per platform")] = 300,
    hours: Annotated[float, typer.Option(help="Spread them over the last N hours (and the next N)")] = 6.0,
) -> None:
    """Serve the platform simulators with generated presale order histories."""
    from datetime import timedelta

    import uvicorn

    from presale_erp.simulators.carrier_server import make_carrier_app
    from presale_erp.simulators.generator import histories
    from presale_erp.simulators.server import SimulatorState, create_simulator

    state = SimulatorState(throttle_every=25, stale_share=0.1)
    start = datetime.now(UTC) - timedelta(hours=hours)
    for n, platform in enumerate(("taobao", "jd", "pinduoduo", "douyin", "shopify")):
        state.histories[platform] = histories(platform, orders, start, seed=n + 1, span=timedelta(hours=2 * hours))
    console.print(f"simulators on http://127.0.0.1:{port} (app key {state.app_key}, secret {state.app_secret})")
    app = create_simulator(state)
    # The carrier's waybill API (Kdniao style) beside the platforms, so the demo's parcels get tracking numbers.
    app.mount("/carrier", make_carrier_app(DEMO_CARRIER_ID, DEMO_CARRIER_KEY))
    console.print(f"carrier simulator on http://127.0.0.1:{port}/carrier")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


forecast_app = typer.Typer(help="Demand forecasting: baseline models and their backtests.", no_args_is_help=True)
app.add_typer(forecast_app, name="forecast")


@forecast_app.command("backtest")
def forecast_backtest(
    dataset: Annotated[
        Path, typer.Option(help="Demand history: a long CSV/Parquet (id, date, quantity, ...) or an M5 file or folder")
    ],
    horizon: Annotated[int, typer.Option(help="Periods forecast from each origin")] = 28,
    origins: Annotated[int, typer.Option(help="Rolling origins; the last window ends at the end of the data")] = 3,
    step: Annotated[int | None, typer.Option(help="Periods between origins (default: the horizon)")] = None,
    models: Annotated[
        str, typer.Option(help="Comma-separated: seasonal_naive, production, lightgbm, auto_ets, croston_sba, ...")
    ] = "seasonal_naive,production",
    plot: Annotated[Path | None, typer.Option(help="Write actual vs forecast and MASE per model to this PNG")] = None,
    threads: Annotated[int, typer.Option(help="CPU threads for the models")] = 1,
) -> None:
    """Rolling-origin backtest: MASE, RMSSE and scaled pinball loss per model, scaled by in-sample seasonal naive."""
    from presale_erp.adapters.datasets import DatasetError, load
    from presale_erp.domain.errors import DomainError
    from presale_erp.domain.forecasting import backtest as bt
    from presale_erp.domain.forecasting.demand import Settings

    if not dataset.exists():
        raise _fail(f"{dataset} does not exist; give a demand file or folder with --dataset")
    chosen = [m.strip() for m in models.split(",") if m.strip()]
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
            bar.add_task(f"backtesting {', '.join(chosen)} on {dataset.name}", total=None)
            result = bt.backtest(load(dataset), horizon, origins, step, chosen, settings=Settings(threads=threads))
    except (DatasetError, DomainError) as exc:
        raise _fail(getattr(exc, "detail", str(exc))) from exc
    title = (
        f"{dataset.name}: {len(result.demand.ids)} series, {result.demand.freq}, horizon {horizon}, "
        f"{result.detail['origin'].nunique()} origins"
    )
    columns = ["model", "mase", "rmsse", "pinball", "coverage", "seconds"]
    console.print(_backtest_table(title, list(result.summary[columns].itertuples(index=False, name=None))))
    if plot is not None:
        console.print(f"plot written to {bt.plot(result, plot)}")


def _backtest_table(title: str, rows: list[tuple[str, float, float, float, float, float]]) -> Table:
    table = Table(title=title)
    for column in ("model", "MASE", "RMSSE", "pinball", "80% cover", "seconds"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for model, mase, rmsse, pinball, coverage, seconds in rows:
        table.add_row(model, f"{mase:.3f}", f"{rmsse:.3f}", f"{pinball:.3f}", f"{coverage:.0%}", f"{seconds:.1f}")
    return table
