"""Per-shop fetch settings and watermark (自动抓单)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import shop_fetch, shops
from presale_erp.adapters.db.upsert import upsert


def save_settings(conn: Connection, row: dict[str, Any]) -> None:
    keep = [
        c
        for c in row
        if c not in ("shop_id", "watermark", "last_run_at", "last_success_at", "last_error", "last_report")
    ]
    upsert(conn, shop_fetch, [row], key=["shop_id"], update=keep)


def settings_of(conn: Connection, shop: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = (
        select(shop_fetch, shops.c.code.label("shop"), shops.c.platform)
        .join(shops, shops.c.id == shop_fetch.c.shop_id)
        .where(shops.c.code == shop)
    )
    if for_update:
        query = query.with_for_update(of=shop_fetch)
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def enabled_shops(conn: Connection) -> list[str]:
    return list(
        conn.execute(
            select(shops.c.code)
            .join(shop_fetch, shop_fetch.c.shop_id == shops.c.id)
            .where(shop_fetch.c.enabled.is_(True), shops.c.active.is_(True))
            .order_by(shops.c.code)
        ).scalars()
    )


def advance(conn: Connection, shop_id: int, *, watermark: datetime, at: datetime, report: dict[str, Any]) -> None:
    conn.execute(
        update(shop_fetch)
        .where(shop_fetch.c.shop_id == shop_id)
        .values(watermark=watermark, last_run_at=at, last_success_at=at, last_error=None, last_report=report)
    )


def record_failure(conn: Connection, shop_id: int, *, at: datetime, error: str) -> None:
    conn.execute(
        update(shop_fetch).where(shop_fetch.c.shop_id == shop_id).values(last_run_at=at, last_error=error[:1000])
    )
