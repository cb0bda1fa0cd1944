"""Presale campaigns drive the quota on stock positions (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import IllegalTransition, InsufficientStock, InvalidRequest
from presale_erp.domain.ledger import ReservationStage
from presale_erp.domain.presale import CampaignSku, PresaleMode
from presale_erp.services import presale, stock, stock_views
from tests import builders
from tests.conftest import NOW

DAY = timedelta(days=1)


def new_campaign(quota: int = 40, sku: str = "TEA-250G") -> presale.NewCampaign:
    return presale.NewCampaign(
        code="D11",
        name="双11 预售",
        mode=PresaleMode.DEPOSIT,
        shop=None,
        deposit_starts_at=NOW,
        deposit_ends_at=NOW + 7 * DAY,
        balance_starts_at=NOW + 8 * DAY,
        balance_ends_at=NOW + 9 * DAY,
        ships_from=NOW + 12 * DAY,
        skus=[CampaignSku(sku, "HZ", quota, Decimal("398.00"), Decimal("50.00"))],
    )


def book(db, n: int, quantity: int):
    return stock.reserve(
        db,
        SYSTEM,
        [stock.ReservationLine(f"T{n}:1", "TEA-250G", "HZ", quantity, ReservationStage.PRESALE_BOOKED)],
        shop=None,
        order_ref=f"T{n}",
        expires_at=None,
        now=NOW,
    )


def position(db) -> dict:
    return stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")


def test_opening_a_campaign_lets_its_skus_sell_ahead_of_stock(db):
    builders.stocked(db, 10)
    presale.create_campaign(db, SYSTEM, new_campaign(40), now=NOW)

    presale.open_campaign(db, SYSTEM, "D11", now=NOW)
    outcome = book(db, 1, 45)

    assert outcome.reservations[0]["from_quota"] == 35
    view = position(db)
    assert (view["presale_quota_used"], view["presale_booked"], view["available_to_sell"]) == (35, 45, 5)
    with pytest.raises(InsufficientStock):
        book(db, 2, 6)


def test_a_draft_campaign_sells_nothing_ahead(db):
    builders.stocked(db, 10)
    presale.create_campaign(db, SYSTEM, new_campaign(40), now=NOW)

    with pytest.raises(InsufficientStock):
        book(db, 1, 11)


def test_closing_a_campaign_stops_selling_ahead_but_keeps_bookings_backed(db):
    builders.stocked(db, 10)
    presale.create_campaign(db, SYSTEM, new_campaign(40), now=NOW)
    presale.open_campaign(db, SYSTEM, "D11", now=NOW)
    book(db, 1, 30)

    closed = presale.close_campaign(db, SYSTEM, "D11", now=NOW)

    view = position(db)
    assert closed["status"] == "closed"
    assert (
        view["presale_quota"],
        view["presale_quota_used"],
        view["available_to_sell"],
        view["shortage"],
    ) == (20, 20, 0, 0)
    with pytest.raises(IllegalTransition):
        presale.open_campaign(db, SYSTEM, "D11", now=NOW)


def test_only_presale_capable_skus_can_join_a_campaign(db):
    builders.warehouse(db)
    builders.sku(db, "PLAIN", presale=False)

    with pytest.raises(InvalidRequest, match="not marked presale-capable"):
        presale.create_campaign(db, SYSTEM, new_campaign(sku="PLAIN"), now=NOW)
