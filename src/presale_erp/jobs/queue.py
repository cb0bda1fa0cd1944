"""The task queue. One Huey instance per process, chosen by PRESALE_ERP_QUEUE_URL:

- empty (default): Huey's SQLite storage in <data_dir>/queue.db, so the embedded product needs no server;
- redis://host:6379/0: Redis, for production, with any number of worker processes on any number of hosts.
"""

from __future__ import annotations

import gc
from functools import lru_cache

from huey import Huey, RedisHuey, SqliteHuey

from presale_erp.adapters.carriers.kdniao import KdniaoClient
from presale_erp.adapters.crypto import PiiCipher, load_master_key
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.settings import Settings, get_settings


def make_huey(settings: Settings, *, immediate: bool = False) -> Huey:
    url = settings.queue_url or ""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(settings.queue_name, url=url, immediate=immediate, utc=True)
    if url and not url.startswith("sqlite"):
        raise ValueError(f"PRESALE_ERP_QUEUE_URL={url!r}: use redis://host:port/db, or leave it empty for SQLite")
    filename = url.removeprefix("sqlite:///") if url else str(settings.queue_file)
    return SqliteHuey(settings.queue_name, filename=filename, immediate=immediate, utc=True)


huey = make_huey(get_settings())


@huey.on_startup()
def settle_start_up_objects() -> None:
    """A worker runs for hours of peak-night batches. The objects its start-up made (modules, tables, settings:
    some 300,000) live as long as it does, yet each full collection of the garbage collector walks them all
    again: dozens of times in a 100,000-order run. Frozen, the collector leaves them alone."""
    gc.freeze()


@lru_cache
def job_database() -> Database:
    """The database a worker process uses; created on first use, once per process."""
    return Database(make_engine(get_settings().resolved_database_url, pool_size=4))


@lru_cache
def job_cipher() -> PiiCipher:
    settings = get_settings()
    return PiiCipher(load_master_key(settings.secret_key, settings.data_dir))


@lru_cache
def job_carrier() -> KdniaoClient | None:
    """The carrier account waybills are requested from, if one is configured."""
    settings = get_settings()
    if not settings.carrier_url:
        return None
    return KdniaoClient(settings.carrier_url, settings.carrier_id, settings.carrier_key)
