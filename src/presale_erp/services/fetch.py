"""Automatic fetching (自动抓单): pull everything modified since the watermark, window by window within the
platform's limits, page by page, into intake. The watermark only moves once a window is stored, and each run
starts a few minutes before it (overlap), so a late-indexed order is never missed; intake makes the repeats
harmless. The window end stays a little behind now (lag), as Pinduoduo requires."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import audit_repo, fetch_repo
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.adapters.platforms.clients import (
    CLIENTS,
    Credentials,
    Http,
    PlatformClient,
    PlatformError,
    PlatformUnavailable,
    windows,
)
from presale_erp.domain.access import Actor
from presale_erp.domain.catalog import Platform
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.services import intake


@dataclass
class FetchReport:
    shop: str
    start: datetime | None = None
    end: datetime | None = None
    windows: int = 0
    pages: int = 0
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dead_lettered: int = 0
    throttled: int = 0


def configure(
    db: Database,
    cipher: PiiCipher,
    actor: Actor,
    shop: str,
    *,
    base_url: str,
    app_key: str,
    app_secret: str,
    access_token: str,
    enabled: bool = True,
    overlap_seconds: int = 300,
    lag_seconds: int = 180,
    backfill_hours: int = 24,
    now: datetime,
) -> dict[str, Any]:
    if not base_url.startswith(("http://", "https://")):
        raise InvalidRequest("base_url must be an http(s) address.")
    if overlap_seconds < 0 or lag_seconds < 0 or not 1 <= backfill_hours <= 24 * 90:
        raise InvalidRequest("overlap and lag cannot be negative; backfill is 1 hour to 90 days.")
    with db.uow() as uow:
        shop_row = repo.shop_by_code(uow.conn, shop)
        if shop_row is None:
            raise NotFound(f"No shop with code {shop}.")
        if Platform(shop_row["platform"]) not in CLIENTS:
            raise InvalidRequest(f"Orders cannot be fetched from {shop_row['platform']}.")
        fetch_repo.save_settings(
            uow.conn,
            {
                "shop_id": shop_row["id"],
                "enabled": enabled,
                "base_url": base_url.rstrip("/"),
                "app_key": app_key,
                "app_secret": cipher.encrypt(app_secret),
                "access_token": cipher.encrypt(access_token),
                "overlap_seconds": overlap_seconds,
                "lag_seconds": lag_seconds,
                "backfill_hours": backfill_hours,
                "updated_at": now,
                "updated_by": actor.label,
            },
        )
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="shop.fetch.configure",
            entity="shop",
            entity_id=shop,
            at=now,
            details={"base_url": base_url, "enabled": enabled},
        )
        uow.commit()
    return status(db, shop)


def status(db: Database, shop: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        row = fetch_repo.settings_of(uow.conn, shop)
    if row is None:
        raise NotFound(f"Shop {shop} has no order fetching set up.")
    return {k: v for k, v in row.items() if k not in ("app_secret", "access_token", "shop_id")}


def fetch_shop(
    db: Database,
    cipher: PiiCipher,
    actor: Actor,
    shop: str,
    *,
    now: datetime,
    http_factory: Callable[[str], Http] | None = None,
) -> FetchReport:
    with db.uow(write=False) as uow:
        config = fetch_repo.settings_of(uow.conn, shop)
    if config is None or not config["enabled"]:
        raise InvalidRequest(f"Order fetching is not enabled for shop {shop}.")
    overlap = timedelta(seconds=config["overlap_seconds"])
    start = config["watermark"] - overlap if config["watermark"] else now - timedelta(hours=config["backfill_hours"])
    end = now - timedelta(seconds=config["lag_seconds"])
    report = FetchReport(shop=shop, start=start, end=end)
    if end <= start:
        return report
    credentials = Credentials(
        config["base_url"],
        config["app_key"],
        cipher.decrypt(config["app_secret"]),
        cipher.decrypt(config["access_token"]),
    )
    http = http_factory(credentials.base_url) if http_factory else Http(credentials.base_url)
    client: PlatformClient = CLIENTS[Platform(config["platform"])](credentials, http)
    try:
        for window_start, window_end in windows(start, end, client.max_window):
            pages = _counted(client.pages(window_start, window_end), report)
            _add(report, intake.intake_pages(db, cipher, actor, shop, pages, source="fetch", now=now))
            report.windows += 1
            report.throttled = http.throttled
            with db.uow() as uow:  # progress is kept window by window
                fetch_repo.advance(uow.conn, config["shop_id"], watermark=window_end, at=now, report=_jsonable(report))
                uow.commit()
    except (PlatformError, PlatformUnavailable) as failure:
        with db.uow() as uow:
            fetch_repo.record_failure(uow.conn, config["shop_id"], at=now, error=str(failure))
            uow.commit()
        raise
    finally:
        http.close()
    return report


def _counted(pages: Iterable[list[Any]], report: FetchReport) -> Iterator[list[Any]]:
    """The window's pages as the platform gives them, counted; an empty one has nothing to store."""
    for page in pages:
        report.pages += 1
        if page:
            yield page


def _add(report: FetchReport, part: intake.IntakeReport) -> None:
    for name in ("received", "created", "updated", "unchanged", "dead_lettered"):
        setattr(report, name, getattr(report, name) + getattr(part, name))


def _jsonable(report: FetchReport) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(report).items()}


def shops_to_fetch(db: Database) -> list[str]:
    with db.uow(write=False) as uow:
        return fetch_repo.enabled_shops(uow.conn)
