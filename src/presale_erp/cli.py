"""The `presale-erp` command: serve, worker, demo, db upgrade, user create, ledger check."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
from datetime import UTC, datetime
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
) -> None:
    """Migrate, seed the presale demo (once), then serve the API with one background worker beside it."""
    from presale_erp.demo.seed import seed

    _upgrade()
    db = _database()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("seeding the demo", total=None)
        report = seed(db, now=datetime.now(UTC), progress=lambda step: bar.update(task, description=f"seeding {step}"))
    db.dispose()
    console.print("[green]demo seeded[/]" if report.seeded else "demo data already present; left as it is")
    table = Table(title="Demo users (username / password)")
    table.add_column("role")
    table.add_column("sign in with")
    for role, credentials in report.users.items():
        table.add_row(role, credentials)
    console.print(table)
    if not serve_after:
        return
    worker_process = subprocess.Popen(
        [sys.executable, "-m", "presale_erp", "worker", "--workers", "1", "--worker-type", "thread"],
        env=os.environ.copy(),
    )
    try:
        serve(host=None, port=port, workers=1)
    finally:
        worker_process.terminate()
        worker_process.wait(timeout=10)


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
