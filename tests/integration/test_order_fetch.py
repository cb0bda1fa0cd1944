"""Automatic fetching over real HTTP from the platform simulators (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.tables import dead_letters, orders, shops
from presale_erp.adapters.platforms.clients import Http, PlatformError
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.services import catalog, fetch
from presale_erp.simulators.generator import histories
from presale_erp.simulators.server import PLATFORM_PATHS, SimulatorState
from tests.conftest import NOW
from tests.simulator_server import running

CIPHER = PiiCipher(b"f" * 32)
START = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
PLATFORMS = [Platform.TAOBAO, Platform.JD, Platform.PINDUODUO, Platform.DOUYIN, Platform.SHOPIFY]


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def fast_http(base_url: str) -> Http:
    return Http(base_url, first_delay=0.01, sleep=lambda _: None)


def set_up_shops(db, base_url: str, state: SimulatorState, **overrides) -> None:
    for platform in PLATFORMS:
        code = f"{platform.value}-1"
        catalog.create_shop(
            db,
            SYSTEM,
            code=code,
            name=code,
            platform=platform,
            platform_shop_id=code,
            stock_lock_policy=StockLockPolicy.ON_DEPOSIT,
            now=NOW,
        )
        fetch.configure(
            db,
            CIPHER,
            SYSTEM,
            code,
            base_url=base_url + PLATFORM_PATHS[platform.value],
            app_key=state.app_key,
            app_secret=overrides.get("secret", state.app_secret),
            access_token=state.access_token,
            overlap_seconds=overrides.get("overlap", 1800),
            lag_seconds=180,
            backfill_hours=1,
            now=NOW,
        )


def test_ten_thousand_presale_orders_from_five_platforms_arrive_exactly_once_in_their_final_state(db):
    clock = Clock(START)
    state = SimulatorState(now=clock, throttle_every=9, stale_share=0.15)
    expected: dict[tuple[str, str], str] = {}
    broken: set[tuple[str, str]] = set()
    for n, platform in enumerate(PLATFORMS):
        made = histories(platform.value, 2000, START, seed=n + 1, broken_every=100, span=timedelta(hours=4))
        state.histories[platform.value] = made
        expected |= {(f"{platform.value}-1", h.order_id): h.final_status for h in made}
        broken |= {(f"{platform.value}-1", h.order_id) for h in made if h.broken}

    with running(state) as base_url:
        set_up_shops(db, base_url, state)
        # The night goes by in 20-minute steps; every shop is fetched at each step, as the worker would. The
        # 30-minute overlap means every order is fetched at least twice, outliving the replica's lag.
        while clock.at < START + timedelta(hours=14):
            clock.at += timedelta(minutes=20)
            for platform in PLATFORMS:
                fetch.fetch_shop(db, CIPHER, SYSTEM, f"{platform.value}-1", now=clock.at, http_factory=fast_http)

    with db.uow(write=False) as uow:
        stored = {
            (shop, pid): status
            for shop, pid, status in uow.conn.execute(
                select(shops.c.code, orders.c.platform_order_id, orders.c.status).join(shops)
            )
        }
        letters = uow.conn.execute(select(shops.c.code, dead_letters.c.payload).join(shops)).all()
        fewest_deliveries = uow.conn.execute(select(func.min(orders.c.versions_seen))).scalar_one()
    assert len(stored) == 10_000
    assert stored == expected
    assert fewest_deliveries >= 2
    assert letters, "the damaged copies should have been seen"
    assert all(any(pid in payload for s, pid in broken if s == shop) for shop, payload in letters)


def test_a_wrong_secret_is_refused_by_the_platform_and_recorded(db):
    state = SimulatorState(now=Clock(START + timedelta(hours=2)))
    state.histories["taobao"] = histories("taobao", 5, START, seed=3, broken_every=0)
    with running(state) as base_url:
        set_up_shops(db, base_url, state, secret="wrong")
        with pytest.raises(PlatformError, match="Invalid signature"):
            fetch.fetch_shop(db, CIPHER, SYSTEM, "taobao-1", now=START + timedelta(hours=2), http_factory=fast_http)

    assert "Invalid signature" in fetch.status(db, "taobao-1")["last_error"]
    assert fetch.status(db, "taobao-1")["watermark"] is None


def test_the_watermark_moves_only_as_far_as_what_was_stored(db):
    clock = Clock(START + timedelta(hours=3))
    state = SimulatorState(now=clock)
    state.histories["douyin"] = histories("douyin", 50, START, seed=5, broken_every=0, span=timedelta(hours=2))
    with running(state) as base_url:
        set_up_shops(db, base_url, state)
        first = fetch.fetch_shop(db, CIPHER, SYSTEM, "douyin-1", now=clock.at, http_factory=fast_http)
        again = fetch.fetch_shop(db, CIPHER, SYSTEM, "douyin-1", now=clock.at, http_factory=fast_http)

    assert fetch.status(db, "douyin-1")["watermark"] == clock.at - timedelta(seconds=180)
    assert first.created > 0 and again.created == 0
