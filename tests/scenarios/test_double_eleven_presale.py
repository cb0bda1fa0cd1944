"""A 双11 presale told in the merchant's words, checking what the stock screen shows at every step
(on SQLite and on PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

from presale_erp.domain.access import SYSTEM
from presale_erp.domain.ledger import MovementKind, ReservationStage
from presale_erp.domain.movements import MovementRequest
from presale_erp.services import presale, stock, stock_views
from tests import builders
from tests.conftest import NOW
from tests.integration.test_presale_campaigns import new_campaign

K = MovementKind
SKU, WH = "TEA-250G", "HZ"


def screen(db) -> dict:
    view = stock_views.position_detail(db, sku=SKU, warehouse=WH)
    return {
        k: view[k]
        for k in (
            "on_hand",
            "reserved",
            "presale_booked",
            "presale_quota_used",
            "available_to_sell",
            "awaiting_shipment",
            "available_to_ship",
            "in_transit_purchase",
            "shortage",
        )
    }


def move(db, id_: str, request: MovementRequest, hours: int) -> None:
    stock.post_movement(db, SYSTEM, id_, request, reference=id_, now=NOW + timedelta(hours=hours))


def test_a_deposit_presale_from_first_deposit_to_last_parcel(db):
    # Ten tins are on the shelf; the merchant expects a big night and may sell 40 more ahead of stock.
    builders.stocked(db, 10)
    presale.create_campaign(db, SYSTEM, new_campaign(40), now=NOW)
    presale.open_campaign(db, SYSTEM, "D11", now=NOW)
    assert screen(db)["available_to_sell"] == 50

    # Deposits pour in: thirty buyers each book one tin. Ten are covered by the shelf, twenty by the quota.
    for n in range(30):
        stock.reserve(
            db,
            SYSTEM,
            [stock.ReservationLine(f"TM:{n}:1", SKU, WH, 1, ReservationStage.PRESALE_BOOKED)],
            shop=None,
            order_ref=f"TM{n}",
            expires_at=None,
            now=NOW,
        )
    assert (screen(db)["presale_booked"], screen(db)["presale_quota_used"], screen(db)["available_to_sell"]) == (
        30,
        20,
        20,
    )

    # One buyer changes their mind before paying the balance: the tin goes back to the quota.
    stock.release(db, SYSTEM, ["TM:29:1"], now=NOW + timedelta(hours=2))
    assert (screen(db)["presale_booked"], screen(db)["presale_quota_used"]) == (29, 19)

    # The tea farm ships 30 tins: the screen shows them on the road before they land.
    move(db, "ASN-1", MovementRequest(K.INBOUND_NOTICE, SKU, WH, 30), hours=24)
    assert screen(db)["in_transit_purchase"] == 30

    # They arrive. The quota already sold stays sold: the new tins cover bookings, they do not reopen the quota.
    move(db, "RCV-1", MovementRequest(K.RECEIPT, SKU, WH, 30, bin="A-02", clears_in_transit=True), hours=48)
    assert screen(db) == {
        "on_hand": 40,
        "reserved": 29,
        "presale_booked": 29,
        "presale_quota_used": 19,
        "available_to_sell": 11 + 21,
        "awaiting_shipment": 0,
        "available_to_ship": 40,
        "in_transit_purchase": 0,
        "shortage": 0,
    }

    # Balances are paid and the ship date comes: every booking moves to 待发货.
    stock.restage(
        db, SYSTEM, [f"TM:{n}:1" for n in range(29)], ReservationStage.AWAITING_SHIPMENT, now=NOW + timedelta(days=10)
    )
    assert (screen(db)["awaiting_shipment"], screen(db)["available_to_ship"]) == (29, 11)

    # The warehouse ships every parcel, ten from A-01 and the rest from A-02.
    for n in range(29):
        bin_code = "A-01" if n < 10 else "A-02"
        move(
            db,
            f"SHIP-{n}",
            MovementRequest(K.SHIPMENT, SKU, WH, 1, bin=bin_code, reservation_id=f"TM:{n}:1"),
            hours=24 * 11,
        )

    # The campaign closes: eleven tins are left, nothing more may be sold ahead, and the books balance.
    presale.close_campaign(db, SYSTEM, "D11", now=NOW + timedelta(days=12))
    assert screen(db) == {
        "on_hand": 11,
        "reserved": 0,
        "presale_booked": 0,
        "presale_quota_used": 19,
        "available_to_sell": 11,
        "awaiting_shipment": 0,
        "available_to_ship": 11,
        "in_transit_purchase": 0,
        "shortage": 0,
    }
    assert stock.ledger_discrepancies(db) == []
