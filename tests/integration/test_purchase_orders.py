"""Purchase orders on both databases: the story from a replenishment suggestion to an at-risk alert that names
the presale orders waiting on the goods, Excel import, and the changes a purchase order refuses.

The story is told by `story_up_to_the_risk_alert`, which returns where it stopped, so receiving can carry it on
(partial receipt into bins, average cost) in its own test."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook

from presale_erp.domain.access import SYSTEM, Actor, Permission
from presale_erp.domain.catalog import StockLockPolicy
from presale_erp.domain.errors import Conflict, IllegalTransition, InvalidRequest, NotFound
from presale_erp.domain.warehouse import ZoneKind
from presale_erp.services import (
    alerts,
    auth,
    costing,
    demand_history,
    purchase_orders,
    purchasing,
    receiving,
    replenishment,
    stock,
    stock_views,
    warehouses,
    webhooks,
)
from presale_erp.services import supplier_portal as portal
from presale_erp.services.purchase_orders import NewAsn, NewLine, NewPurchaseOrder
from tests import builders
from tests.conftest import NOW
from tests.integration.test_order_stock_locks import push, set_up
from tests.integration.test_planning import plan, steady_history

DAY = timedelta(days=1)
TEA = "TEA-250G"
BUYER = Actor("user", "li.na", frozenset({Permission.PURCHASING_READ, Permission.PURCHASING_WRITE}))


def suppliers(db) -> None:
    """The usual tea farm, and a dearer but faster one the merchant could switch to."""
    for code, name, cost, lead in (("WESTLAKE-TEA", "西湖茶厂", "75.00", "14"), ("ANJI-TEA", "安吉茶园", "82.00", "7")):
        purchasing.create_supplier(db, SYSTEM, purchasing.NewSupplier(code, name), now=NOW)
        purchasing.set_supplier_terms(
            db, SYSTEM, code, TEA, unit_cost=Decimal(cost), min_order=50, lead_time_days=Decimal(lead), now=NOW
        )


@dataclass(frozen=True)
class StoryAtRisk:
    """Where the story stops: the purchase order, the supplier's key, and the open alert."""

    po: str
    supplier_key: str
    supplier: Actor
    alert: dict
    checked_at: object  # the moment of the risk check


def story_up_to_the_risk_alert(db) -> StoryAtRisk:
    # Four tins are on the shelf and a 双11 presale sells ahead of stock: three buyers pay deposits for 2 tins each.
    set_up(db, StockLockPolicy.ON_DEPOSIT, on_hand=4, quota=100)
    for n in range(3):
        push(db, f"200{n}", "deposit", units=2, minutes=n)
    demand_history.import_history(db, SYSTEM, steady_history(TEA, 10), now=NOW)
    suppliers(db)

    # Planning suggests buying; the buyer turns the suggestion into a purchase order and sends it.
    plan(db)
    suggestion = next(s for s in replenishment.list_suggestions(db) if s["supplier"] == "WESTLAKE-TEA")
    (draft,) = purchasing.draft_from_suggestions(db, BUYER, [suggestion["id"]], now=NOW)
    sent = purchase_orders.send(db, BUYER, draft["code"], now=NOW)
    assert sent["status"] == "sent" and sent["lines"][0]["promised_on"] == date(2026, 11, 16)

    # The tea farm gets its own key, confirms, and reports its materials in on day 3.
    key = auth.create_supplier_api_key(db, BUYER, supplier="WESTLAKE-TEA", name="西湖茶厂 portal", now=NOW)["key"]
    farm = auth.authenticate(db, key, now=NOW)
    assert farm.supplier == "WESTLAKE-TEA" and farm.permissions == {Permission.SUPPLIER_PORTAL}
    assert portal.confirm(db, farm, draft["code"], promised=None, note="好的", now=NOW + DAY)["status"] == "confirmed"
    portal.report_milestone(db, farm, draft["code"], "materials_in", line_no=None, note="", now=NOW + 3 * DAY)

    # Day 8: production should have started by day 7, and nothing was heard: the line is at risk.
    checked_at = NOW + 8 * DAY
    report = purchase_orders.check_risks(db, SYSTEM, now=checked_at)
    assert (report.at_risk, report.late, report.alerts_opened) == (1, 0, 1)
    (alert,) = alerts.list_alerts(db, kind="po_line_at_risk")
    return StoryAtRisk(draft["code"], key, farm, alert, checked_at)


def test_from_suggestion_to_an_at_risk_alert_naming_the_presale_orders_that_wait(db):
    story = story_up_to_the_risk_alert(db)

    alert = story.alert
    assert alert["severity"] == "warning" and alert["sku"] == TEA and alert["warehouse"] == "HZ"
    assert "in_production was due by 2026-11-09, only materials_in" in alert["reason"]
    # The shelf's four tins serve the first two orders; the third waits on this delivery.
    details = alert["details"]
    assert [o["platform_order_id"] for o in details["affected_orders"]] == ["2002"]
    assert alert["money_at_stake"] == Decimal(details["revenue_at_stake"]) == Decimal("396.00")
    assert "1 presale order(s) worth ¥396.00 wait on it" in alert["reason"]
    (other,) = details["alternatives"]
    assert (other["supplier"], other["lead_time_days"], other["unit_cost"]) == ("ANJI-TEA", "7", "82.00")
    assert "ANJI-TEA (7 days, ¥82.00)" in alert["action"]

    po = purchase_orders.detail(db, story.po)
    assert po["lines"][0]["risk"] == "at_risk"
    assert [(e["kind"], e["actor"]) for e in po["history"]] == [
        ("sent", "user:li.na"),
        ("confirmed", "api_key:西湖茶厂 portal"),
        ("milestone", "api_key:西湖茶厂 portal"),
    ]


def test_rescheduling_reruns_the_checks_and_resolves_the_alert(db):
    story = story_up_to_the_risk_alert(db)

    purchase_orders.reschedule(db, BUYER, story.po, {1: date(2026, 12, 20)}, note="agreed later", now=story.checked_at)

    assert alerts.list_alerts(db, kind="po_line_at_risk") == []
    assert purchase_orders.detail(db, story.po)["lines"][0]["risk"] == "on_track"
    assert purchase_orders.history(db, story.po)[-1]["promised_on"] == date(2026, 12, 20)


def test_a_late_line_raises_a_critical_alert_and_a_shipping_notice_is_recorded(db):
    story = story_up_to_the_risk_alert(db)
    shipped = NewAsn("ASN-77", story.checked_at, date(2026, 11, 15), {1: 10}, "SF", "SF123")
    portal.send_asn(db, story.supplier, story.po, shipped, now=story.checked_at)

    report = purchase_orders.check_risks(db, SYSTEM, now=story.checked_at + 10 * DAY)

    assert report.late == 1
    (late,) = alerts.list_alerts(db, kind="po_line_late")
    assert late["severity"] == "critical" and "day(s) ago" in late["reason"]
    assert alerts.list_alerts(db, kind="po_line_at_risk") == []  # the at-risk alert gave way to the late one
    assert purchase_orders.detail(db, story.po)["asns"][0]["code"] == "ASN-77"


def test_risk_alerts_and_po_changes_reach_webhook_subscribers(db):
    from sqlalchemy import select

    from presale_erp.adapters.crypto import PiiCipher
    from presale_erp.adapters.db.tables import webhook_deliveries

    webhooks.subscribe(db, PiiCipher(b"w" * 32), SYSTEM, "https://erp.example.com/hooks", ["*"],
                       "a-secret-of-some-length", NOW)  # fmt: skip
    story_up_to_the_risk_alert(db)

    with db.uow(write=False) as uow:
        events = set(uow.conn.execute(select(webhook_deliveries.c.event)).scalars())
    assert {"purchase_order.sent", "purchase_order.confirmed", "purchase_order.milestone", "alert.opened"} <= events


# --- By hand and from Excel -----------------------------------------------------------------------------------


@pytest.fixture
def tea_and_suppliers(db):
    builders.stocked(db, 0)
    builders.sku(db, "TEA-500G")
    suppliers(db)
    return db


def test_a_purchase_order_made_by_hand_gets_the_suppliers_lead_time_where_no_date_is_given(tea_and_suppliers):
    db = tea_and_suppliers
    lines = [NewLine(TEA, 60, Decimal("82.00")), NewLine("TEA-500G", 10, Decimal("150.00"), date(2026, 12, 1))]
    new = NewPurchaseOrder("ANJI-TEA", "HZ", lines)

    po = purchase_orders.create(db, BUYER, new, now=NOW)

    assert po["status"] == "draft" and po["total"] == Decimal("6420.00")
    assert [line["promised_on"] for line in po["lines"]] == [date(2026, 11, 9), date(2026, 12, 1)]


@pytest.mark.parametrize(
    ("from_action", "action", "error"),
    [
        ([], lambda db, c: purchase_orders.confirm(db, BUYER, c, now=NOW), IllegalTransition),
        ([], lambda db, c: purchase_orders.close(db, BUYER, c, reason="x", now=NOW), IllegalTransition),
        (["send"], lambda db, c: purchase_orders.send(db, BUYER, c, now=NOW), IllegalTransition),
        (["cancel"], lambda db, c: purchase_orders.send(db, BUYER, c, now=NOW), IllegalTransition),
        (["cancel"], lambda db, c: purchase_orders.reschedule(db, BUYER, c, {1: date(2026, 12, 1)}, now=NOW),
         Conflict),
        ([], lambda db, c: purchase_orders.report_milestone(db, BUYER, c, "shipped", now=NOW), Conflict),
        (["send"], lambda db, c: purchase_orders.report_milestone(db, BUYER, c, "painted", now=NOW), InvalidRequest),
        (["send"], lambda db, c: purchase_orders.cancel(db, BUYER, c, reason=" ", now=NOW), InvalidRequest),
        (["send"], lambda db, c: purchase_orders.add_asn(
            db, BUYER, c, NewAsn("A1", NOW, date(2026, 11, 20), {1: 61}), now=NOW), InvalidRequest),
    ],
)  # fmt: skip
def test_changes_a_purchase_order_refuses(tea_and_suppliers, from_action, action, error):
    db = tea_and_suppliers
    code = purchase_orders.create(db, BUYER, NewPurchaseOrder("ANJI-TEA", "HZ", [NewLine(TEA, 60, Decimal("82"))]),
                                  now=NOW)["code"]  # fmt: skip
    for step in from_action:
        if step == "send":
            purchase_orders.send(db, BUYER, code, now=NOW)
        else:
            purchase_orders.cancel(db, BUYER, code, reason="wrong supplier", now=NOW)
    status = purchase_orders.detail(db, code)["status"]

    with pytest.raises(error):
        action(db, code)
    assert purchase_orders.detail(db, code)["status"] == status  # nothing half-applied


def sheet(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_excel_sheet_becomes_one_draft_per_purchase_order_number(tea_and_suppliers):
    db = tea_and_suppliers
    content = sheet([
        ["采购单号", "供应商", "仓库", "商家编码", "数量", "单价", "承诺交期", "备注"],
        ["CG-1", "ANJI-TEA", "HZ", TEA, 60, "82.00", date(2026, 11, 20), "双11 补货"],
        ["CG-1", "ANJI-TEA", "HZ", "TEA-500G", 10, 150, "2026-11-25", None],
        ["CG-2", "WESTLAKE-TEA", "HZ", TEA, 100, 75, None, None],
        [None, None, None, None, None, None, None, None],
    ])  # fmt: skip

    first, second = purchase_orders.import_sheet(db, BUYER, content, now=NOW)

    assert (first["supplier"], first["note"], len(first["lines"])) == ("ANJI-TEA", "双11 补货", 2)
    assert [line["promised_on"] for line in first["lines"]] == [date(2026, 11, 20), date(2026, 11, 25)]
    assert first["total"] == Decimal("6420.00")
    assert (second["supplier"], second["lines"][0]["promised_on"]) == ("WESTLAKE-TEA", date(2026, 11, 16))


def test_a_sheet_with_bad_rows_imports_nothing_and_names_every_bad_row(tea_and_suppliers):
    db = tea_and_suppliers
    content = sheet([
        ["供应商", "仓库", "SKU", "数量", "单价"],
        ["ANJI-TEA", "HZ", TEA, 60, "82.00"],
        ["ANJI-TEA", "HZ", TEA, "很多", "82.00"],
        ["ANJI-TEA", "", TEA, 5, "82.00"],
    ])  # fmt: skip

    with pytest.raises(InvalidRequest, match=r"row 3: quantity '很多'.*row 4: warehouse empty"):
        purchase_orders.import_sheet(db, BUYER, content, now=NOW)
    assert purchasing.list_purchase_orders(db) == []
    with pytest.raises(InvalidRequest, match="Missing column"):
        purchase_orders.import_sheet(db, BUYER, sheet([["供应商", "数量"], ["ANJI-TEA", 1]]), now=NOW)


def test_a_supplier_sees_only_its_own_placed_orders(tea_and_suppliers):
    db = tea_and_suppliers
    mine = purchase_orders.create(db, BUYER, NewPurchaseOrder("ANJI-TEA", "HZ", [NewLine(TEA, 60, Decimal("82"))]),
                                  now=NOW)["code"]  # fmt: skip
    theirs = purchase_orders.create(
        db, BUYER, NewPurchaseOrder("WESTLAKE-TEA", "HZ", [NewLine(TEA, 60, Decimal("75"))]), now=NOW
    )["code"]
    purchase_orders.send(db, BUYER, theirs, now=NOW)
    key = auth.create_supplier_api_key(db, BUYER, supplier="ANJI-TEA", name="", now=NOW)["key"]
    anji = auth.authenticate(db, key, now=NOW)

    assert portal.my_orders(db, anji) == []  # its only order is still a draft
    purchase_orders.send(db, BUYER, mine, now=NOW)
    assert [o["code"] for o in portal.my_orders(db, anji)] == [mine]
    with pytest.raises(NotFound):
        portal.my_order(db, anji, theirs)
    with pytest.raises(NotFound):
        portal.confirm(db, anji, theirs, promised=None, note="", now=NOW)
    assert purchase_orders.detail(db, theirs)["status"] == "sent"


def test_reliability_is_unknown_until_the_supplier_has_delivered(tea_and_suppliers):
    found = purchase_orders.reliability(tea_and_suppliers, "ANJI-TEA")
    assert (found["deliveries"], found["score"]) == (0, None)


def receive(db, code: str, units: int, at) -> str:
    """What receiving does inside its transaction (a receipt row, then `record_receipt`), without bins or costs."""
    from presale_erp.adapters.db import purchase_order_repo
    from presale_erp.adapters.db.tables import receipt_lines, receipts

    with db.uow() as uow:
        po = purchase_order_repo.header(uow.conn, code)
        (line,) = purchase_order_repo.lines(uow.conn, [po["id"]])
        receipt_id = uow.conn.execute(
            receipts.insert()
            .values(code=f"R-{code}-{units}", purchase_order_id=po["id"], warehouse_id=po["warehouse_id"],
                    received_at=at, received_by="user:wang")
            .returning(receipts.c.id)
        ).scalar_one()  # fmt: skip
        uow.conn.execute(receipt_lines.insert().values(receipt_id=receipt_id, line_no=1, sku_id=line["sku_id"],
                         accepted=units, damaged=0, unit_cost=line["unit_cost"], landed_cost=Decimal("0")))  # fmt: skip
        status = purchase_orders.record_receipt(uow.conn, BUYER, po["id"], {1: units}, now=at)
        uow.commit()
    return status


def test_receipts_move_the_order_on_and_teach_the_suppliers_reliability(tea_and_suppliers):
    db = tea_and_suppliers
    codes = []
    for _ in range(2):  # two orders of 60, both promised for 11-09 (7 days' lead time)
        new = NewPurchaseOrder("ANJI-TEA", "HZ", [NewLine(TEA, 60, Decimal("82.00"))])
        codes.append(purchase_orders.create(db, BUYER, new, now=NOW)["code"])
        purchase_orders.send(db, BUYER, codes[-1], now=NOW)

    assert receive(db, codes[0], 60, NOW + 6 * DAY) == "received"  # in full, a day early
    assert receive(db, codes[1], 30, NOW + 9 * DAY) == "partly_received"  # half, two days late
    purchase_orders.close(db, BUYER, codes[1], reason="the rest is out of season", now=NOW + 10 * DAY)

    found = purchase_orders.reliability(db, "ANJI-TEA")
    assert (found["deliveries"], found["on_time_rate"], found["fill_rate"]) == (2, Decimal("0.5"), Decimal("0.75"))
    assert (found["lead_time_mean_days"], found["lead_time_std_days"]) == (Decimal("7.5"), Decimal("1.5"))
    assert found["score"] == 64  # 50 % × 0.5 + 30 % × 0.75 + 20 % × (1 - 1.5 / 7.5), rounded
    assert [e["kind"] for e in purchase_orders.history(db, codes[1])] == ["sent", "received", "closed"]


def test_the_story_ends_with_a_partial_receipt_into_bins_and_the_exact_new_average_cost(db):
    story = story_up_to_the_risk_alert(db)
    on_hand_before = stock_views.position_detail(db, sku=TEA, warehouse="HZ")["on_hand"]
    warehouses.create_zone(db, SYSTEM, warehouse="HZ", code="X", name="残次品区", kind=ZoneKind.DEFECTIVE, now=NOW)
    warehouses.create_bins(db, SYSTEM, warehouse="HZ", zone="X", codes=["X-01"], now=NOW)

    receipt = receiving.receive(
        db, SYSTEM, story.po, [(1, 30, 2, "A-02")], landed_costs=[("freight", "45.00", "value")], now=story.checked_at
    )

    assert receipt["status"] == "partly_received"
    bins = {b["bin"]: b["on_hand"] for b in stock_views.position_detail(db, sku=TEA, warehouse="HZ")["bins"]}
    assert bins["A-02"] == 30 and on_hand_before == 4
    assert bins["X-01"] == 2  # the damaged units wait in the damaged bin, not sellable
    # 4 on hand at the catalogue cost of 80.00, 30 accepted at 75.00 plus all 45.00 of freight (the 2 damaged
    # units are still owed, so the freight rides on the accepted ones): (320 + 2250 + 45) / 34 = 76.9117647…
    assert costing.average_cost(db, TEA, "HZ") == Decimal("76.911765")
    assert purchase_orders.detail(db, story.po)["lines"][0]["received_quantity"] == 30
    assert stock.ledger_discrepancies(db) == []
