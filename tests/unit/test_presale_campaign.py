"""Presale campaigns: windows that make sense and a status that only moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from presale_erp.domain.errors import IllegalTransition, InvalidRequest
from presale_erp.domain.presale import Campaign, CampaignSku, CampaignStatus, PresaleMode

T0 = datetime(2026, 10, 20, 20, tzinfo=UTC)
DAY = timedelta(days=1)


def campaign(**changes) -> Campaign:
    fields = {
        "code": "D11",
        "name": "双11",
        "mode": PresaleMode.DEPOSIT,
        "deposit_starts_at": T0,
        "deposit_ends_at": T0 + 10 * DAY,
        "balance_starts_at": T0 + 11 * DAY,
        "balance_ends_at": T0 + 12 * DAY,
        "ships_from": T0 + 14 * DAY,
    }
    return Campaign(**{**fields, **changes})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"deposit_ends_at": T0}, "deposit window must end after it starts"),
        ({"balance_starts_at": None}, "needs a balance window"),
        ({"balance_ends_at": T0 + 11 * DAY}, "balance window must end after it starts"),
        ({"ships_from": T0 + 10 * DAY}, "cannot ship before the balance window opens"),
        (
            {"mode": PresaleMode.FULL_PAYMENT, "ships_from": T0 - DAY},
            "cannot ship before the campaign starts",
        ),
    ],
)
def test_windows_that_make_no_sense_are_refused(changes, message):
    with pytest.raises(InvalidRequest, match=message):
        campaign(**changes)


def test_full_payment_presale_needs_no_balance_window():
    assert (
        campaign(mode=PresaleMode.FULL_PAYMENT, balance_starts_at=None, balance_ends_at=None).balance_due_at() is None
    )


@pytest.mark.parametrize(
    ("at", "phase"),
    [
        (T0 - DAY, "not_started"),
        (T0 + DAY, "deposit"),
        (T0 + 10.5 * DAY, "awaiting_balance"),
        (T0 + 11.5 * DAY, "balance"),
        (T0 + 13 * DAY, "awaiting_ship_date"),
        (T0 + 15 * DAY, "shipping"),
    ],
)
def test_phase_of_the_campaign_at_a_moment(at, phase):
    assert campaign().phase_at(at) == phase


def test_a_closed_campaign_cannot_be_reopened():
    c = campaign()
    c.move_to(CampaignStatus.OPEN)
    c.move_to(CampaignStatus.CLOSED)

    with pytest.raises(IllegalTransition, match="cannot go from 'closed' to 'open'"):
        c.move_to(CampaignStatus.OPEN)


@pytest.mark.parametrize(
    ("price", "deposit", "ok"),
    [
        ("398.00", "50.00", True),
        ("398.00", "0.00", True),
        ("398.00", "398.01", False),
        ("0.00", "0.00", False),
    ],
)
def test_the_deposit_lies_between_nothing_and_the_price(price, deposit, ok):
    make = lambda: CampaignSku("TEA", "HZ", 10, Decimal(price), Decimal(deposit))  # noqa: E731
    if ok:
        assert make().balance == Decimal(price) - Decimal(deposit)
    else:
        with pytest.raises(InvalidRequest):
            make()
