"""Smart review on a real database (SQLite and PostgreSQL): known bad orders are held, good ones approved,
staff decide the held ones, and changes after review send an order back."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.tables import orders
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.review.model import Action
from presale_erp.services import catalog, intake, review
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import builders
from tests.conftest import NOW

CIPHER = PiiCipher(b"r" * 32)
LATER = NOW + timedelta(hours=1)  # past every order's cooling-off time
TEA = [SimLine("TEA-LJ-250G", 1, Decimal("398.00"))]


def shop_with_stock(db) -> None:
    catalog.create_shop(
        db,
        SYSTEM,
        code="TB-1",
        name="淘宝店",
        platform=Platform.TAOBAO,
        platform_shop_id="tb-1",
        stock_lock_policy=StockLockPolicy.ON_PAYMENT,
        now=NOW,
    )
    builders.stocked(db, 10_000, sku_code="TEA-LJ-250G")


def push(db, *bodies) -> None:
    intake.intake(db, CIPHER, SYSTEM, "TB-1", list(bodies), source="webhook", now=NOW)


def good_order(n: int, rng: random.Random) -> dict:
    return payloads.taobao(
        sample(
            str(7_000_000 + n),
            lines=[SimLine("TEA-LJ-250G", rng.randint(1, 2), Decimal("398.00"))],
            phone=f"139{rng.randint(10**7, 10**8 - 1)}",
            street=f"文三路 {n} 号",
            buyer_id=f"buyer-{n}",
            created=NOW - timedelta(hours=2),
            modified=NOW - timedelta(hours=2),
        )
    )


BAD_KINDS = {
    "address_incomplete": {"street": ""},
    "phone_invalid": {"phone": "12345"},
    "remark_present": {"buyer_remark": "周五前务必送到"},
    "quantity_outlier": {"lines": [SimLine("TEA-LJ-250G", 60, Decimal("398.00"))]},
    "price_below_cost": {"lines": [SimLine("TEA-LJ-250G", 1, Decimal("1.00"))]},
    "unmatched_sku": {"lines": [SimLine("NOT-OURS", 1, Decimal("398.00"))]},
}


def test_known_bad_orders_are_held_and_good_ones_approved_precision_and_recall(db):
    shop_with_stock(db)
    rng = random.Random(3)
    bodies, bad_ids = [], set()
    for n in range(400):
        bodies.append(good_order(n, rng))
    for n, change in enumerate(BAD_KINDS.values()):
        for k in range(5):
            order_id = str(8_000_000 + n * 100 + k)
            fields = {
                "buyer_id": f"bad-{n}-{k}",
                "phone": f"1380000{n}{k:03d}",
                "street": f"人民路 {n}{k} 号",
                "created": NOW - timedelta(hours=2),
                "modified": NOW - timedelta(hours=2),
            }
            bodies.append(payloads.taobao(sample(order_id, **(fields | change))))
            bad_ids.add(order_id)
    brusher = [
        payloads.taobao(
            sample(
                str(9_000_000 + k),
                buyer_id=f"brush-{k}",
                phone="13700000000",
                created=NOW - timedelta(hours=2),
                modified=NOW - timedelta(hours=2),
            )
        )
        for k in range(8)
    ]
    bad_ids |= {str(9_000_000 + k) for k in range(8)}
    push(db, *bodies, *brusher)

    report = review.review_pending(db, CIPHER, SYSTEM, now=LATER, batch=150)

    with db.uow(write=False) as uow:
        decided = dict(uow.conn.execute(select(orders.c.platform_order_id, orders.c.review_status)).all())
    flagged = {pid for pid, status in decided.items() if status in ("held", "rejected")}
    precision = len(flagged & bad_ids) / len(flagged)
    recall = len(flagged & bad_ids) / len(bad_ids)
    print(
        f"\nreview on {len(decided)} orders with {len(bad_ids)} known bad: precision {precision:.3f}, "
        f"recall {recall:.3f}"
    )
    assert report.reviewed == len(decided)
    assert recall == 1.0
    assert precision == 1.0


def test_a_blacklisted_phone_is_rejected(db):
    shop_with_stock(db)
    review.add_to_blacklist(db, CIPHER, SYSTEM, kind="phone", value="138 0013 8000", note="恶意退款", now=NOW)
    push(db, payloads.taobao(sample("1001", phone="13800138000", created=NOW - timedelta(hours=2), lines=TEA)))

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    with db.uow(write=False) as uow:
        row = uow.conn.execute(select(orders.c.review_status, orders.c.review_rules_hit)).one()
    assert row.review_status == "rejected" and ",blacklisted," in row.review_rules_hit


def test_an_order_in_its_cooling_off_time_waits_for_the_next_run(db):
    shop_with_stock(db)
    push(db, payloads.taobao(sample("1001", created=NOW - timedelta(minutes=3), modified=NOW, lines=TEA)))

    first = review.review_pending(db, CIPHER, SYSTEM, now=NOW)
    later = review.review_pending(db, CIPHER, SYSTEM, now=NOW + timedelta(minutes=30))

    assert (first.waiting, later.approved) == (1, 1)


def test_staff_approve_held_orders_in_bulk_and_cannot_decide_others(db):
    shop_with_stock(db)
    push(
        db,
        *[
            payloads.taobao(sample(str(1000 + n), buyer_remark="请包装好", created=NOW - timedelta(hours=2), lines=TEA))
            for n in range(3)
        ],
    )
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    with db.uow(write=False) as uow:
        ids = list(uow.conn.execute(select(orders.c.id).where(orders.c.review_status == "held")).scalars())

    assert review.decide(db, SYSTEM, ids, approve=True, note="已联系买家", now=LATER) == 3
    with pytest.raises(InvalidRequest, match="not held"):
        review.decide(db, SYSTEM, ids[:1], approve=False, note="", now=LATER)


def test_an_address_changed_after_approval_sends_the_order_back_to_a_person(db):
    shop_with_stock(db)
    push(
        db,
        payloads.taobao(sample("1001", created=NOW - timedelta(hours=2), modified=NOW - timedelta(hours=2), lines=TEA)),
    )
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    push(
        db,
        payloads.taobao(
            sample("1001", street="解放路 1 号", created=NOW - timedelta(hours=2), modified=NOW, lines=TEA)
        ),
    )

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    with db.uow(write=False) as uow:
        status, rules = uow.conn.execute(select(orders.c.review_status, orders.c.review_rules_hit)).one()
    assert (status, rules) == ("held", ",changed_after_review,")


def test_a_rule_can_be_switched_to_tag_only(db):
    shop_with_stock(db)
    review.update_rule(
        db,
        SYSTEM,
        "remark_present",
        enabled=True,
        action=Action.TAG,
        priority=13,
        weight=10,
        params={"seller": False},
        now=NOW,
    )
    push(db, payloads.taobao(sample("1001", buyer_remark="送人", created=NOW - timedelta(hours=2), lines=TEA)))

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(orders.c.review_status)).scalar_one() == "approved"
    with pytest.raises(InvalidRequest, match="no parameter"):
        review.update_rule(
            db,
            SYSTEM,
            "remark_present",
            enabled=True,
            action=Action.TAG,
            priority=1,
            weight=1,
            params={"nonsense": 1},
            now=NOW,
        )


def test_a_shop_that_wants_financial_review_gets_it_after_customer_service(db):
    shop_with_stock(db)
    catalog.set_financial_review(db, SYSTEM, "TB-1", enabled=True, now=NOW)
    push(
        db,
        payloads.taobao(sample("1001", created=NOW - timedelta(hours=2), lines=TEA)),
        payloads.taobao(sample("1002", buyer_remark="开发票", created=NOW - timedelta(hours=2), lines=TEA)),
    )

    report = review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    with db.uow(write=False) as uow:
        ids = dict(uow.conn.execute(select(orders.c.platform_order_id, orders.c.id)).all())
    review.decide(db, SYSTEM, [ids["1002"]], approve=True, note="客审通过", now=LATER)
    review.decide(db, SYSTEM, [ids["1001"], ids["1002"]], approve=True, note="财审通过", now=LATER, stage="finance")

    assert (report.awaiting_finance, report.held) == (1, 1)
    with db.uow(write=False) as uow:
        assert set(uow.conn.execute(select(orders.c.review_status)).scalars()) == {"approved"}
    with pytest.raises(InvalidRequest, match="awaiting_finance"):
        review.decide(db, SYSTEM, [ids["1001"]], approve=True, note="", now=LATER, stage="finance")


def test_a_refund_requested_after_approval_sends_the_order_back_and_holds_it(db):
    shop_with_stock(db)
    push(
        db,
        payloads.taobao(sample("1001", created=NOW - timedelta(hours=2), modified=NOW - timedelta(hours=2), lines=TEA)),
    )
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    asking = payloads.taobao(sample("1001", created=NOW - timedelta(hours=2), modified=NOW, lines=TEA))
    asking["orders"]["order"][0]["refund_status"] = "WAIT_SELLER_AGREE"
    push(db, asking)

    review.review_pending(db, CIPHER, SYSTEM, now=LATER)

    with db.uow(write=False) as uow:
        status, rules = uow.conn.execute(select(orders.c.review_status, orders.c.review_rules_hit)).one()
    assert (status, rules) == ("held", ",changed_after_review,refund_requested,")


# A database that refuses one order's verdict (as a full disk or a lost connection would refuse a batch's).
REFUSE_ONE_VERDICT = {
    "sqlite": [
        "CREATE TRIGGER refuse_verdict BEFORE UPDATE OF review_status ON orders"
        " WHEN NEW.platform_order_id = '7000005' BEGIN SELECT RAISE(ABORT, 'verdict refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_verdict() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'verdict refused'; END $$",
        "CREATE TRIGGER refuse_verdict BEFORE UPDATE OF review_status ON orders FOR EACH ROW"
        " WHEN (NEW.platform_order_id = '7000005') EXECUTE FUNCTION refuse_verdict()",
    ],
}
ALLOW_VERDICTS = {
    "sqlite": ["DROP TRIGGER refuse_verdict"],
    "postgresql": ["DROP TRIGGER refuse_verdict ON orders", "DROP FUNCTION refuse_verdict()"],
}


def test_a_batch_whose_verdicts_cannot_be_written_stops_the_run_and_its_orders_stay_pending(db):
    shop_with_stock(db)
    rng = random.Random(5)
    push(db, *[good_order(n, rng) for n in range(10)])
    builders.run_sql(db, REFUSE_ONE_VERDICT[db.engine.dialect.name])
    try:
        with pytest.raises(DBAPIError, match="verdict refused"):
            review.review_pending(db, CIPHER, SYSTEM, now=LATER, batch=4)
    finally:
        builders.run_sql(db, ALLOW_VERDICTS[db.engine.dialect.name])

    with db.uow(write=False) as uow:
        statuses = dict(uow.conn.execute(select(orders.c.platform_order_id, orders.c.review_status)).all())
    # the first batch was written; the refused one and the one decided meanwhile wait for the next run
    assert statuses == {str(7_000_000 + n): "approved" if n < 4 else "pending" for n in range(10)}
    assert review.review_pending(db, CIPHER, SYSTEM, now=LATER, batch=4).approved == 6
