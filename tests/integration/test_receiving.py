"""Receiving and costing end to end on both databases: partial receipts into bins through the stock ledger, the
purchase order's received quantities and status, damaged units into the damaged bin (never sellable), landed
freight spread to the fen, the moving average cost updated to a hand-computed Decimal, and retried receipts."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal as D
from threading import Barrier

import pytest
from sqlalchemy import select

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import lookups, planning_repo, review_repo
from presale_erp.adapters.db.tables import (
    asn_lines,
    asns,
    bins,
    purchase_order_events,
    purchase_order_lines,
    purchase_orders,
    receipts,
    stock_positions,
    suppliers,
    webhook_deliveries,
)
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.costing import moving_average
from presale_erp.domain.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.domain.receiving import Arrival, OverReceipt
from presale_erp.domain.warehouse import ZoneKind
from presale_erp.services import costing, purchasing, receiving, stock, stock_views, warehouses, webhooks
from tests import builders
from tests.conftest import NOW


@pytest.fixture
def depot(db):
    """Warehouse HZ with bins A-01, A-02 and the damaged bin X-01 (残次品区); SKUs TEA (300 g, catalogue cost 80)
    and CUP; supplier WESTLAKE."""
    builders.warehouse(db, "HZ", bins=("A-01", "A-02"))
    warehouses.create_zone(db, SYSTEM, warehouse="HZ", code="X", name="残次品区", kind=ZoneKind.DEFECTIVE, now=NOW)
    warehouses.create_bins(db, SYSTEM, warehouse="HZ", zone="X", codes=["X-01"], now=NOW)
    builders.sku(db, "TEA")
    builders.sku(db, "CUP")
    purchasing.create_supplier(db, SYSTEM, purchasing.NewSupplier("WESTLAKE", "西湖茶厂"), now=NOW)
    return db


def place_order(db, code: str, lines: list[tuple[str, int, str]], status: str = "confirmed") -> None:
    """A placed purchase order (the lifecycle service owns draft -> sent -> confirmed): (sku, quantity, unit cost)."""
    with db.uow() as uow:
        conn = uow.conn
        supplier_id = conn.execute(select(suppliers.c.id).where(suppliers.c.code == "WESTLAKE")).scalar_one()
        sku_ids = lookups.sku_ids(conn, [s for s, _, _ in lines])
        po_id = conn.execute(
            purchase_orders.insert()
            .values(
                code=code,
                supplier_id=supplier_id,
                warehouse_id=lookups.warehouse_ids(conn, ["HZ"])["HZ"],
                status=status,
                note="",
                created_at=NOW,
                created_by="test",
            )
            .returning(purchase_orders.c.id)
        ).scalar_one()
        conn.execute(
            purchase_order_lines.insert(),
            [
                {
                    "purchase_order_id": po_id,
                    "line_no": n,
                    "sku_id": sku_ids[sku],
                    "quantity": quantity,
                    "unit_cost": D(cost),
                    "received_quantity": 0,
                }
                for n, (sku, quantity, cost) in enumerate(lines, start=1)
            ],
        )
        uow.commit()


def order_state(db, code: str) -> tuple[str, dict[int, int]]:
    with db.uow(write=False) as uow:
        po = uow.conn.execute(select(purchase_orders).where(purchase_orders.c.code == code)).mappings().one()
        rows = uow.conn.execute(
            select(purchase_order_lines.c.line_no, purchase_order_lines.c.received_quantity).where(
                purchase_order_lines.c.purchase_order_id == po["id"]
            )
        ).all()
    return po["status"], dict(rows)


def bins_of(db, sku: str) -> dict[str, int]:
    return {b["bin"]: b["on_hand"] for b in stock_views.position_detail(db, sku=sku, warehouse="HZ")["bins"]}


def position(db, sku: str) -> dict:
    return stock_views.position_detail(db, sku=sku, warehouse="HZ")


def test_partial_receipts_into_bins_then_complete_the_order(depot):
    place_order(depot, "PO-1", [("TEA", 100, "10.00"), ("CUP", 40, "5.00")])

    first = receiving.receive(depot, SYSTEM, "PO-1", [(1, 60, 0, "A-01"), (2, 40, 0, "A-02")], now=NOW)

    assert first["code"] == "PO-1-R01" and first["status"] == "partly_received"
    assert order_state(depot, "PO-1") == ("partly_received", {1: 60, 2: 40})
    assert bins_of(depot, "TEA") == {"A-01": 60} and bins_of(depot, "CUP") == {"A-02": 40}
    assert position(depot, "TEA")["available_to_sell"] == 60

    second = receiving.receive(depot, SYSTEM, "PO-1", [Arrival(1, 40, 0, "A-02")], now=NOW)

    assert second["code"] == "PO-1-R02" and second["status"] == "received"
    assert order_state(depot, "PO-1") == ("received", {1: 100, 2: 40})
    assert bins_of(depot, "TEA") == {"A-01": 60, "A-02": 40}
    assert costing.average_cost(depot, "TEA", "HZ") == D("10.000000")
    assert stock.ledger_discrepancies(depot) == []
    with pytest.raises(IllegalTransition):  # a received order takes nothing more
        receiving.receive(depot, SYSTEM, "PO-1", [(1, 1, 0, "A-01")], now=NOW)


def test_average_cost_with_freight_is_the_hand_computed_decimal(depot):
    place_order(depot, "PO-1", [("TEA", 100, "10.00")])
    place_order(depot, "PO-2", [("TEA", 50, "12.00"), ("CUP", 10, "60.00")])
    receiving.receive(depot, SYSTEM, "PO-1", [(1, 100, 0, "A-01")], now=NOW)

    got = receiving.receive(
        depot,
        SYSTEM,
        "PO-2",
        [(1, 50, 0, "A-01"), (2, 10, 0, "A-02")],
        landed_costs=[("freight", "60.00", "value")],
        now=NOW,
    )

    # freight 60.00 by value 600 : 600 -> 30.00 each; TEA: (100 × 10 + 50 × 12 + 30) / 150 = 10.866667
    assert [line["landed_cost"] for line in got["lines"]] == [D("30.00"), D("30.00")]
    assert got["average_costs"] == {"CUP": D("63.000000"), "TEA": D("10.866667")}
    assert costing.average_cost(depot, "TEA", "HZ") == D("10.866667")
    # CUP had no stock before: (10 × 60 + 30) / 10 = 63
    assert costing.average_cost(depot, "CUP", "HZ") == D("63.000000")
    stored = receiving.get_receipt(depot, got["code"])
    assert [(x["line_no"], x["bin"], x["unit_cost"], x["landed_cost"]) for x in stored["lines"]] == [
        (1, "A-01", D("12.00"), D("30.00")),
        (2, "A-02", D("60.00"), D("30.00")),
    ]
    assert stored["landed_costs"] == [{"kind": "freight", "amount": D("60.00"), "basis": "value"}]
    # valuation: TEA 150 × 10.866667 = 1630.00 ; CUP 10 × 63 = 630.00
    assert costing.valuation(depot) == [
        {
            "warehouse": "HZ",
            "units": 160,
            "value": D("2260.00"),
            "units_without_cost": 0,
            "damaged_units": 0,
            "damaged_value": D("0.00"),
            "damaged_units_without_cost": 0,
        }
    ]


def test_opening_stock_without_an_average_is_taken_at_the_catalogue_cost(depot):
    builders.receive(depot, "TEA", "HZ", 20)  # booked straight on the ledger: no average kept
    place_order(depot, "PO-1", [("TEA", 20, "86.00")])
    assert costing.stock_costs(depot, sku="TEA")[0]["source"] == "catalogue"

    receiving.receive(depot, SYSTEM, "PO-1", [(1, 20, 0, "A-01")], now=NOW)

    # (20 × 80 + 20 × 86) / 40 = 83
    assert costing.average_cost(depot, "TEA", "HZ") == D("83.000000")
    assert costing.stock_costs(depot, sku="TEA")[0] | {"value": None} == {
        "sku": "TEA",
        "warehouse": "HZ",
        "on_hand": 40,
        "damaged": 0,
        "unit_cost": D("83.000000"),
        "source": "moving_average",
        "value": None,
        "damaged_value": D("0.00"),
    }


def test_damaged_units_go_into_the_damaged_bin_never_sellable_and_stay_owed(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])

    got = receiving.receive(
        depot, SYSTEM, "PO-1", [(1, 8, 2, "A-01")], landed_costs=[("freight", "4.00", "quantity")], now=NOW
    )

    view = position(depot, "TEA")
    assert (view["on_hand"], view["damaged"], view["available_to_sell"]) == (8, 2, 8)
    assert [(b["bin"], b["sellable"], b["on_hand"]) for b in view["bins"]] == [("A-01", True, 8), ("X-01", False, 2)]
    assert got["damaged_bin"] == "X-01"
    assert order_state(depot, "PO-1") == ("partly_received", {1: 8})
    # the freight lands on the 8 good units; the damaged ones are claimed back: (8 × 10 + 4) / 8 = 10.5
    assert got["average_costs"] == {"TEA": D("10.500000")}
    assert receiving.get_receipt(depot, got["code"])["lines"][0]["damaged"] == 2
    with depot.uow(write=False) as uow:
        notes = uow.conn.execute(select(purchase_order_events.c.note).order_by(purchase_order_events.c.id)).scalars()
        assert [n for n in notes if "damaged" in n] == [
            f"Receipt {got['code']}: 8 accepted into A-01, 2 damaged into X-01 (still owed by the supplier)"
        ]
    assert stock.ledger_discrepancies(depot) == []


def test_over_receipt_beyond_tolerance_is_refused_and_changes_nothing(depot):
    place_order(depot, "PO-1", [("TEA", 100, "10.00")])

    with pytest.raises(OverReceipt, match="ordered 100, already received 0, 106 arriving, at most 105 more"):
        receiving.receive(depot, SYSTEM, "PO-1", [(1, 106, 0, "A-01")], now=NOW)

    assert order_state(depot, "PO-1") == ("confirmed", {1: 0})
    assert position(depot, "TEA")["on_hand"] == 0
    within = receiving.receive(depot, SYSTEM, "PO-1", [(1, 105, 0, "A-01")], now=NOW)
    assert within["lines"][0]["over_receipt"] == 5 and within["status"] == "received"


def test_a_receipt_against_an_asn_consumes_what_was_in_transit(depot):
    place_order(depot, "PO-1", [("TEA", 30, "10.00")])
    with depot.uow() as uow:
        po_id = uow.conn.execute(select(purchase_orders.c.id).where(purchase_orders.c.code == "PO-1")).scalar_one()
        asn_id = uow.conn.execute(
            asns.insert()
            .values(
                code="ASN-1",
                purchase_order_id=po_id,
                shipped_at=NOW,
                expected_on=NOW.date(),
                status="in_transit",
                created_at=NOW,
                created_by="test",
            )
            .returning(asns.c.id)
        ).scalar_one()
        sku_id = lookups.sku_ids(uow.conn, ["TEA"])["TEA"]
        uow.conn.execute(asn_lines.insert().values(asn_id=asn_id, line_no=1, sku_id=sku_id, quantity=30))
        uow.commit()
    stock.post_movement(
        depot,
        SYSTEM,
        "asn:ASN-1:1",
        MovementRequest(MovementKind.INBOUND_NOTICE, "TEA", "HZ", 30),
        reference="ASN-1",
        now=NOW,
    )

    receiving.receive(depot, SYSTEM, "PO-1", [(1, 27, 3, "A-01")], asn_code="ASN-1", now=NOW)

    # all 30 arrived (3 of them damaged): none is in transit any more, 27 are on the shelf
    assert (position(depot, "TEA")["in_transit_purchase"], position(depot, "TEA")["on_hand"]) == (0, 27)
    assert stock.ledger_discrepancies(depot) == []
    with pytest.raises(Conflict, match="already received"):
        receiving.receive(depot, SYSTEM, "PO-1", [(1, 3, 0, "A-01")], asn_code="ASN-1", now=NOW)


def test_the_received_event_goes_to_subscribers(depot):
    cipher = PiiCipher(b"r" * 32)
    webhooks.subscribe(
        depot, cipher, SYSTEM, "https://erp.example.com/hook", ["purchase_order.received"], "s" * 32, NOW
    )
    place_order(depot, "PO-1", [("TEA", 5, "10.00")])

    receiving.receive(depot, SYSTEM, "PO-1", [(1, 5, 0, "A-01")], now=NOW)

    with depot.uow(write=False) as uow:
        (delivery,) = uow.conn.execute(select(webhook_deliveries)).mappings().all()
    assert delivery["event"] == "purchase_order.received"
    assert delivery["payload"]["status"] == "received"
    assert delivery["payload"]["lines"][0]["unit_cost"] == "10.00"


@pytest.mark.parametrize(
    ("po", "lines", "kwargs", "error", "message"),
    [
        ("PO-X", [(1, 1, 0, "A-01")], {}, NotFound, "No purchase order PO-X"),
        ("PO-1", [(1, 1, 0, "Z-99")], {}, NotFound, "No bin Z-99"),
        ("PO-1", [(1, 1, 0, "A-01")], {"landed_costs": [("bribe", "1", "value")]}, InvalidRequest, "kind"),
        ("PO-1", [(1, 1, 0, "A-01")], {"asn_code": "ASN-X"}, NotFound, "No ASN"),
    ],
)
def test_bad_receipts_are_refused(depot, po, lines, kwargs, error, message):
    place_order(depot, "PO-1", [("TEA", 5, "10.00")])

    with pytest.raises(error, match=message):
        receiving.receive(depot, SYSTEM, po, lines, now=NOW, **kwargs)

    assert order_state(depot, "PO-1") == ("confirmed", {1: 0})


def test_a_draft_order_cannot_be_received(depot):
    place_order(depot, "PO-1", [("TEA", 5, "10.00")], status="draft")

    with pytest.raises(IllegalTransition):
        receiving.receive(depot, SYSTEM, "PO-1", [(1, 5, 0, "A-01")], now=NOW)


def test_concurrent_receipts_of_one_sku_never_lose_a_cost_update(depot):
    prices = ["8.00", "9.50", "11.00", "12.25", "13.00", "14.75", "16.00", "17.50"]
    for n, price in enumerate(prices):
        place_order(depot, f"PO-{n}", [("TEA", 10, price)])
    barrier = Barrier(len(prices))

    def one(n: int) -> None:
        barrier.wait()
        receiving.receive(depot, SYSTEM, f"PO-{n}", [(1, 10, 0, "A-01")], now=NOW)

    with ThreadPoolExecutor(max_workers=len(prices)) as pool:
        list(pool.map(one, range(len(prices))))

    # Each receipt must have averaged over the one booked before it: replay them in the order they were booked.
    with depot.uow(write=False) as uow:
        booked = uow.conn.execute(
            select(purchase_orders.c.code)
            .join(receipts, receipts.c.purchase_order_id == purchase_orders.c.id)
            .order_by(receipts.c.id)
        ).scalars()
        expected, on_hand = None, 0
        for code in booked:
            expected = moving_average(on_hand, expected, 10, 10 * D(prices[int(code.split("-")[1])]))
            on_hand += 10
    assert on_hand == position(depot, "TEA")["on_hand"] == 80
    assert costing.average_cost(depot, "TEA", "HZ") == expected
    assert stock.ledger_discrepancies(depot) == []


def test_review_and_planning_use_the_moving_average_cost(depot):
    place_order(depot, "PO-1", [("TEA", 30, "90.00")])
    receiving.receive(depot, SYSTEM, "PO-1", [(1, 30, 0, "A-01")], landed_costs=[("duty", "10.00", "value")], now=NOW)
    builders.receive(depot, "CUP", "HZ", 5)  # stock without a costed receipt: the catalogue cost (80.00)

    with depot.uow(write=False) as uow:
        ids = lookups.sku_ids(uow.conn, ["TEA", "CUP"])
        _, review_costs = review_repo.sku_history(uow.conn, set(ids.values()))
        planning_costs = {r["sku"]: r["unit_cost"] for r in planning_repo.stock_by_position(uow.conn)}

    # (30 × 90 + 10) / 30 = 90.333333: review compares prices with it; planning prices money to the fen
    assert review_costs == {ids["TEA"]: D("90.333333"), ids["CUP"]: D("80.00")}
    assert planning_costs == {"TEA": D("90.33"), "CUP": D("80.00")}


@pytest.mark.parametrize(
    ("line", "kwargs", "no_damaged_bin", "message"),
    [
        ((1, 8, 2, "A-01"), {}, True, "HZ has no non-sellable"),
        ((1, 8, 2, "A-01"), {"damaged_bin": "A-02"}, False, "A-02 of warehouse HZ is not a non-sellable"),
        ((1, 8, 0, "X-01"), {}, False, "X-01 is a non-sellable"),
    ],
    ids=["warehouse-without-damaged-bin", "named-bin-is-sellable", "accepted-into-damaged-bin"],
)
def test_damaged_and_accepted_units_must_go_into_the_right_kind_of_bin(depot, line, kwargs, no_damaged_bin, message):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])
    if no_damaged_bin:
        warehouses.update_bin(depot, SYSTEM, warehouse="HZ", code="X-01", sellable=True, now=NOW)

    with pytest.raises(InvalidRequest, match=message):
        receiving.receive(depot, SYSTEM, "PO-1", [line], now=NOW, **kwargs)

    assert order_state(depot, "PO-1") == ("confirmed", {1: 0})
    assert (position(depot, "TEA")["on_hand"], position(depot, "TEA")["damaged"]) == (0, 0)


def test_a_receipt_may_name_the_damaged_bin(depot):
    warehouses.create_bins(depot, SYSTEM, warehouse="HZ", zone="X", codes=["X-02"], now=NOW)
    place_order(depot, "PO-1", [("TEA", 10, "10.00"), ("CUP", 5, "3.00")])

    got = receiving.receive(depot, SYSTEM, "PO-1", [(1, 0, 3, None), (2, 4, 1, "A-02")], damaged_bin="X-02", now=NOW)

    assert got["damaged_bin"] == "X-02"
    assert bins_of(depot, "TEA") == {"X-02": 3} and bins_of(depot, "CUP") == {"A-02": 4, "X-02": 1}
    assert (position(depot, "TEA")["damaged"], position(depot, "CUP")["damaged"]) == (3, 1)
    assert order_state(depot, "PO-1") == ("partly_received", {1: 0, 2: 4})
    assert stock.ledger_discrepancies(depot) == []


def test_damaged_units_are_valued_apart_at_the_same_average_cost(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])

    receiving.receive(
        depot, SYSTEM, "PO-1", [(1, 8, 2, "A-01")], landed_costs=[("freight", "4.00", "quantity")], now=NOW
    )

    # average (8 × 10 + 4) / 8 = 10.5: 8 sellable units 84.00, the 2 damaged ones 21.00 in their own column
    (tea,) = costing.stock_costs(depot, sku="TEA")
    assert (tea["on_hand"], tea["value"], tea["damaged"], tea["damaged_value"]) == (8, D("84.00"), 2, D("21.00"))
    (hz,) = costing.valuation(depot)
    assert (hz["units"], hz["value"], hz["damaged_units"], hz["damaged_value"]) == (8, D("84.00"), 2, D("21.00"))


def test_re_inspection_scrapping_and_returns_move_damaged_stock_through_the_ledger(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])
    receiving.receive(depot, SYSTEM, "PO-1", [(1, 6, 4, "A-01")], now=NOW)

    def post(movement_id: str, request: MovementRequest) -> None:
        stock.post_movement(depot, SYSTEM, movement_id, request, reference=None, now=NOW)

    post("passed", MovementRequest(MovementKind.TRANSFER, "TEA", "HZ", 1, bin="X-01", to_bin="A-01"))  # 复检合格
    post("scrap", MovementRequest(MovementKind.ADJUSTMENT, "TEA", "HZ", -2, bin="X-01", reason="报损"))
    post("found", MovementRequest(MovementKind.TRANSFER, "TEA", "HZ", 3, bin="A-01", to_bin="X-01"))  # 货架发现破损
    post("back", MovementRequest(MovementKind.RETURN_RECEIPT, "TEA", "HZ", 2, bin="X-01"))  # 退货入库 (damaged)
    post("resell", MovementRequest(MovementKind.RETURN_RECEIPT, "TEA", "HZ", 1, bin="A-02"))  # 退货入库 (sellable)

    view = position(depot, "TEA")
    # on hand 6 + 1 - 3 + 1 = 5; damaged 4 - 1 - 2 + 3 + 2 = 6
    assert (view["on_hand"], view["damaged"], view["available_to_sell"]) == (5, 6, 5)
    assert bins_of(depot, "TEA") == {"A-01": 4, "A-02": 1, "X-01": 6}
    assert stock.ledger_discrepancies(depot) == []
    with pytest.raises(Conflict, match="still holds 6 units"):
        warehouses.update_bin(depot, SYSTEM, warehouse="HZ", code="X-01", sellable=True, now=NOW)


def test_the_ledger_check_sees_a_damaged_counter_that_disagrees_with_its_movements(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])
    receiving.receive(depot, SYSTEM, "PO-1", [(1, 8, 2, "A-01")], now=NOW)
    with depot.uow() as uow:
        uow.conn.execute(stock_positions.update().values(damaged=5))
        uow.commit()

    assert stock.ledger_discrepancies(depot) == [
        {"sku": "TEA", "warehouse": "HZ", "counter": "damaged", "kept": 5, "derived": 2}
    ]


def test_a_retried_receipt_answers_with_the_first_and_books_nothing(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00"), ("CUP", 5, "3.00")])
    lines = [(1, 8, 2, "A-01"), (2, 5, 0, "A-02")]
    costs = [("freight", "4.00", "quantity")]
    first = receiving.receive(depot, SYSTEM, "PO-1", lines, landed_costs=costs, receipt_code="RC-1", now=NOW)

    again = receiving.receive(depot, SYSTEM, "PO-1", lines, landed_costs=costs, receipt_code="RC-1", now=NOW)

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again | {"replayed": False} == first
    assert (position(depot, "TEA")["on_hand"], position(depot, "TEA")["damaged"]) == (8, 2)
    assert order_state(depot, "PO-1") == ("partly_received", {1: 8, 2: 5})
    assert stock.ledger_discrepancies(depot) == []


def test_a_retry_after_the_order_was_completed_still_answers_with_its_receipt(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])
    first = receiving.receive(depot, SYSTEM, "PO-1", [(1, 6, 0, "A-01")], receipt_code="RC-1", now=NOW)
    receiving.receive(depot, SYSTEM, "PO-1", [(1, 4, 0, "A-02")], receipt_code="RC-2", now=NOW)

    again = receiving.receive(depot, SYSTEM, "PO-1", [(1, 6, 0, "A-01")], receipt_code="RC-1", now=NOW)

    assert again["replayed"] and again["status"] == "received"  # the order as it stands now
    assert [(x["accepted"], x["received"], x["over_receipt"]) for x in again["lines"]] == [(6, 6, 0)]
    assert again["lines"] == first["lines"]
    assert position(depot, "TEA")["on_hand"] == 10


@pytest.mark.parametrize(
    ("lines", "kwargs"),
    [
        ([(1, 7, 2, "A-01")], {}),
        ([(1, 8, 2, "A-02")], {}),
        ([(1, 8, 2, "A-01")], {"landed_costs": [("freight", "5.00", "quantity")]}),
        ([(1, 8, 2, "A-01")], {"damaged_bin": "X-02"}),
    ],
    ids=["other-quantity", "other-bin", "other-landed-cost", "other-damaged-bin"],
)
def test_the_same_receipt_code_with_other_content_is_refused(depot, lines, kwargs):
    warehouses.create_bins(depot, SYSTEM, warehouse="HZ", zone="X", codes=["X-02"], now=NOW)
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])
    receiving.receive(
        depot,
        SYSTEM,
        "PO-1",
        [(1, 8, 2, "A-01")],
        landed_costs=[("freight", "4.00", "quantity")],
        receipt_code="RC-1",
        now=NOW,
    )

    asked = {"landed_costs": [("freight", "4.00", "quantity")], **kwargs}
    with pytest.raises(Conflict, match="RC-1 is already booked with other content"):
        receiving.receive(depot, SYSTEM, "PO-1", lines, receipt_code="RC-1", now=NOW, **asked)

    assert order_state(depot, "PO-1") == ("partly_received", {1: 8})


def test_the_ledger_check_sees_units_counted_in_the_wrong_bucket_for_their_bin(depot):
    place_order(depot, "PO-1", [("TEA", 10, "10.00")])
    receiving.receive(depot, SYSTEM, "PO-1", [(1, 8, 2, "A-01")], now=NOW)
    with depot.uow() as uow:  # behind the service's back: the damaged bin, still holding 2 units, made sellable
        uow.conn.execute(bins.update().where(bins.c.code == "X-01").values(sellable=True))
        uow.commit()

    assert stock.ledger_discrepancies(depot) == [
        {"sku": "TEA", "warehouse": "HZ", "counter": "bin X-01 damaged movements", "kept": 0, "derived": 2}
    ]
