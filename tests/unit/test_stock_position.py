"""The stock position: what may be promised, what may ship, and how the presale quota behaves."""

from __future__ import annotations

import pytest

from presale_erp.domain.errors import InsufficientStock, InvalidRequest
from presale_erp.domain.ledger import ReservationStage, StockPosition

BOOKED = ReservationStage.PRESALE_BOOKED


def test_presale_quota_lets_a_sku_sell_ahead_of_stock_up_to_the_quota():
    position = StockPosition(sku="TEA-500G", warehouse="HZ", on_hand=10, presale_quota=40)

    position.reserve(45, BOOKED)

    assert position.available_to_sell == 5
    with pytest.raises(InsufficientStock):
        position.reserve(6, BOOKED)


@pytest.mark.parametrize("stage", [ReservationStage.AWAITING_REVIEW, ReservationStage.AWAITING_SHIPMENT])
def test_only_presale_bookings_may_be_sold_ahead_of_stock(stage: ReservationStage):
    position = StockPosition(sku="TEA", warehouse="HZ", on_hand=2, presale_quota=40)

    with pytest.raises(InsufficientStock, match="only 2 available"):
        position.reserve(3, stage)


def test_reservations_take_free_stock_before_the_quota():
    position = StockPosition(sku="TEA", warehouse="HZ", on_hand=10, presale_quota=40)

    assert position.reserve(8, BOOKED) == 0
    assert position.reserve(5, BOOKED) == 3
    assert (position.presale_quota_used, position.presale_quota_left) == (3, 37)


def test_stock_arriving_later_does_not_give_back_quota_already_sold():
    position = StockPosition(sku="TEA", warehouse="HZ", on_hand=10, presale_quota=40)
    position.reserve(45, BOOKED)

    position.on_hand += 35  # the purchase the quota was sold against arrives

    assert position.available_to_sell == 5
    assert position.shortage == 0


def test_releasing_a_presale_booking_returns_its_units_to_the_quota_while_the_campaign_is_open():
    position = StockPosition(sku="TEA", warehouse="HZ")
    position.open_presale(10)
    from_quota = position.reserve(4, BOOKED)

    position.release(4, from_quota, BOOKED)

    assert (position.reserved, position.presale_quota_used, position.presale_booked) == (0, 0, 0)
    assert position.available_to_sell == 10


def test_without_a_quota_nothing_beyond_free_stock_can_be_reserved():
    position = StockPosition(sku="TEA", warehouse="HZ", on_hand=3)

    with pytest.raises(InsufficientStock) as refused:
        position.reserve(4)

    assert refused.value.lines[0].available == 3
    assert "wanted 4, only 3 available" in refused.value.detail


@pytest.mark.parametrize(
    ("counters", "to_sell", "to_ship", "shortage"),
    [
        ({"on_hand": 10}, 10, 10, 0),
        ({"on_hand": 10, "reserved": 4, "awaiting_review": 4}, 6, 10, 0),
        ({"on_hand": 10, "reserved": 4, "awaiting_shipment": 4}, 6, 6, 0),
        ({"on_hand": 2, "reserved": 5, "awaiting_shipment": 5}, 0, 0, 3),
        (
            {"on_hand": 2, "reserved": 5, "presale_booked": 5, "presale_quota": 9, "presale_quota_used": 3},
            6,
            2,
            0,
        ),
    ],
    ids=["idle stock", "awaiting review", "awaiting shipment", "count loss shortage", "presale booked"],
)
def test_derived_counters(counters: dict[str, int], to_sell: int, to_ship: int, shortage: int):
    position = StockPosition(sku="S", warehouse="W", **counters)

    assert (position.available_to_sell, position.available_to_ship, position.shortage) == (
        to_sell,
        to_ship,
        shortage,
    )


@pytest.mark.parametrize("quantity", [0, -1])
def test_a_reservation_is_for_at_least_one_unit(quantity: int):
    with pytest.raises(InvalidRequest):
        StockPosition(sku="S", warehouse="W", on_hand=5).reserve(quantity)


def test_each_stage_is_counted_and_restaging_moves_the_count():
    position = StockPosition(sku="S", warehouse="W", on_hand=10)
    position.reserve(3, ReservationStage.AWAITING_REVIEW)

    position.restage(3, ReservationStage.AWAITING_REVIEW, ReservationStage.AWAITING_SHIPMENT)

    assert (position.awaiting_review, position.awaiting_shipment, position.reserved) == (0, 3, 3)


def test_a_booking_released_after_the_campaign_closed_does_not_reopen_selling_ahead():
    position = StockPosition(sku="TEA", warehouse="HZ")
    position.open_presale(10)
    from_quota = position.reserve(4, BOOKED)
    position.close_presale(10)

    position.release(4, from_quota, BOOKED)

    assert (position.presale_quota, position.presale_quota_used, position.available_to_sell) == (0, 0, 0)


def test_quota_kept_for_an_earlier_campaign_goes_when_the_last_campaign_closes():
    """Found by the ledger property test: a booking from campaign 1 keeps its quota after campaign 1 closes; it
    is released while campaign 2 (with no quota of its own) runs; closing campaign 2 must leave nothing to sell
    ahead."""
    position = StockPosition(sku="TEA", warehouse="HZ")
    position.open_presale(1)
    from_quota = position.reserve(1, BOOKED)
    position.close_presale(1)
    position.open_presale(0)
    position.release(1, from_quota, BOOKED)

    position.close_presale(0)

    assert (position.presale_quota, position.presale_quota_left, position.available_to_sell) == (0, 0, 0)


def test_closing_one_of_two_campaigns_keeps_the_other_selling_ahead():
    position = StockPosition(sku="TEA", warehouse="HZ")
    position.open_presale(10)
    position.open_presale(5)
    position.reserve(3, BOOKED)

    position.close_presale(10)

    assert (position.presale_quota, position.presale_quota_left, position.presale_campaigns_open) == (5, 2, 1)


def test_the_quota_cannot_be_cut_below_what_was_already_sold_ahead():
    position = StockPosition(sku="S", warehouse="W", presale_quota=10)
    position.reserve(6, BOOKED)

    with pytest.raises(InvalidRequest, match="already sold 6 ahead"):
        position.set_presale_quota(5)


def test_a_position_is_low_when_what_can_be_sold_reaches_the_threshold():
    assert StockPosition(sku="S", warehouse="W", on_hand=20, low_stock_threshold=20).is_low
    assert not StockPosition(sku="S", warehouse="W", on_hand=21, low_stock_threshold=20).is_low
