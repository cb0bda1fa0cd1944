"""Background jobs run by a real worker process: on Huey's SQLite queue (the embedded default) and on Redis."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.engine import make_engine
from presale_erp.domain.access import SYSTEM
from presale_erp.jobs.queue import huey, make_huey, settle_start_up_objects
from presale_erp.jobs.tasks import register
from presale_erp.services import stock, stock_views
from presale_erp.settings import Settings
from tests import builders
from tests.conftest import NOW

REDIS_URL = os.environ.get("PRESALE_ERP_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip() -> str:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI but unreachable at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_URL}; ./dev test starts it when it is installed")
    return REDIS_URL


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def queue_settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    queue_url = None if request.param == "sqlite-queue" else _redis_or_skip()
    return Settings(
        data_dir=tmp_path,
        database_url=database_url,
        queue_url=queue_url,
        queue_name=f"test-{uuid.uuid4().hex[:8]}",
    )


def _env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "PRESALE_ERP_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": settings.resolved_database_url,
        "PRESALE_ERP_QUEUE_NAME": settings.queue_name,
    }
    env.pop("PRESALE_ERP_QUEUE_URL", None)
    if settings.queue_url:
        env["PRESALE_ERP_QUEUE_URL"] = settings.queue_url
    return env


@pytest.fixture
def worker(queue_settings: Settings) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "presale_erp",
            "worker",
            "--workers",
            "2",
            "--worker-type",
            "process",
            "--no-periodic",
        ],
        env=_env(queue_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_a_worker_freezes_its_start_up_objects_out_of_the_collectors_way():
    assert huey._startup["settle_start_up_objects"] is settle_start_up_objects  # run as each worker comes online
    try:
        settle_start_up_objects()
        assert gc.get_freeze_count() > 10_000  # modules, tables, settings: what a full collection would walk
    finally:
        gc.unfreeze()


def test_a_worker_process_releases_expired_leases(db, queue_settings: Settings, worker):
    builders.stocked(db, 5)
    stock.reserve(
        db,
        SYSTEM,
        [stock.ReservationLine("T1:1", "TEA-250G", "HZ", 2)],
        shop=None,
        order_ref="T1",
        expires_at=NOW + timedelta(minutes=5),
        now=NOW,
    )
    jobs = register(make_huey(queue_settings))

    released = jobs.expire_reservations()(blocking=True, timeout=60)

    assert released == 1
    assert stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")["reserved"] == 0


def test_the_ledger_check_runs_once_per_key_however_often_it_is_delivered(db, queue_settings: Settings, worker):
    builders.stocked(db, 5)
    jobs = register(make_huey(queue_settings))

    results = [jobs.check_ledger("ledger-check:test")(blocking=True, timeout=60) for _ in range(3)]

    assert results[0]["ok"] is True and results[0]["discrepancies"] == []
    assert results[1] == results[0] == results[2]


def test_a_job_that_fails_is_retried_with_backoff_until_it_succeeds(tmp_path: Path):
    """The database is not there yet when the job first runs; it appears a moment later and a retry succeeds."""
    database_file = tmp_path / "later" / "erp.db"
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{database_file}", queue_name="retry-test")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "presale_erp",
            "worker",
            "--workers",
            "1",
            "--worker-type",
            "thread",
            "--no-periodic",
        ],
        env=_env(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        jobs = register(make_huey(settings))
        result = jobs.check_ledger("ledger-check:retry")
        time.sleep(1.0)  # first attempt fails: no such database
        database_file.parent.mkdir()
        engine = make_engine(f"sqlite:///{database_file}")
        migrate.upgrade(engine)
        engine.dispose()

        outcome = result(blocking=True, timeout=60)
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=20)[0]

    assert outcome["ok"] is True
    assert "retries" in output.lower() or "retrying" in output.lower()
