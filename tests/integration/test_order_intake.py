"""Order intake on a real database (SQLite and PostgreSQL): exactly once, newest version wins, nothing lost."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from threading import Barrier

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.tables import dead_letters, order_events, order_lines, orders
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.errors import InvalidRequest
from presale_erp.services import catalog, intake
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import builders
from tests.conftest import NOW

CIPHER = PiiCipher(b"k" * 32)


def shop(db, code: str = "TB-1", platform: Platform = Platform.TAOBAO) -> str:
    catalog.create_shop(
        db,
        SYSTEM,
        code=code,
        name=code,
        platform=platform,
        platform_shop_id=f"id-{code}",
        stock_lock_policy=StockLockPolicy.ON_PAYMENT,
        now=NOW,
    )
    return code


def push(db, code: str, *bodies, source: str = "webhook"):
    return intake.intake(db, CIPHER, SYSTEM, code, list(bodies), source=source, now=NOW)


def count(db, table) -> int:
    with db.uow(write=False) as uow:
        return uow.conn.execute(select(func.count()).select_from(table)).scalar_one()


def stored(db, platform_order_id: str) -> dict:
    with db.uow(write=False) as uow:
        return dict(
            uow.conn.execute(select(orders).where(orders.c.platform_order_id == platform_order_id)).mappings().one()
        )


def test_an_order_delivered_twice_is_stored_once(db):
    code = shop(db)
    body = payloads.taobao(sample("1001"))

    first = push(db, code, body)
    again = push(db, code, body)

    assert (first.created, again.created, again.unchanged) == (1, 0, 1)
    assert count(db, orders) == 1 and count(db, order_lines) == 2
    assert stored(db, "1001")["versions_seen"] == 2


def test_a_newer_version_replaces_the_order_and_records_the_change(db):
    code = shop(db)
    push(db, code, payloads.taobao(sample("1001", stage="deposit", presale="deposit", deposit=Decimal("50.00"))))

    report = push(
        db,
        code,
        payloads.taobao(
            sample("1001", stage="paid", presale="deposit", deposit=Decimal("50.00"), modified=NOW + timedelta(hours=1))
        ),
    )

    assert report.updated == 1
    assert stored(db, "1001")["status"] == "paid"
    with db.uow(write=False) as uow:
        moves = uow.conn.execute(
            select(order_events.c.from_status, order_events.c.to_status).order_by(order_events.c.id)
        ).all()
    assert [tuple(m) for m in moves] == [(None, "deposit_paid"), ("deposit_paid", "paid")]


def test_an_older_copy_arriving_late_never_regresses_the_order(db):
    code = shop(db)
    newer = payloads.taobao(sample("1001", stage="shipped", modified=NOW + timedelta(hours=2)))
    older = payloads.taobao(sample("1001", stage="paid", modified=NOW + timedelta(hours=1)))

    push(db, code, newer)
    late = push(db, code, older)

    assert late.unchanged == 1
    assert stored(db, "1001")["status"] == "shipped"


def test_within_one_batch_the_newest_copy_wins(db):
    code = shop(db)
    copies = [
        payloads.taobao(sample("1001", stage=stage, modified=NOW + timedelta(minutes=m)))
        for stage, m in (("shipped", 30), ("paid", 10), ("completed", 50), ("paid", 20))
    ]

    report = push(db, code, *copies)

    assert (report.created, report.unchanged) == (1, 3)
    assert stored(db, "1001")["status"] == "completed"


def test_a_malformed_payload_is_kept_on_the_dead_letter_list_with_its_reason(db):
    code = shop(db)
    broken = payloads.taobao(sample("1002")) | {"payment": "12.345"}

    report = push(db, code, payloads.taobao(sample("1001")), broken)

    assert (report.created, report.dead_lettered) == (1, 1)
    with db.uow(write=False) as uow:
        letter = uow.conn.execute(select(dead_letters)).mappings().one()
    assert letter["reason"] == "payment has fractions of a fen: '12.345'"
    assert '"tid_str": "1002"' in letter["payload"]


def test_a_fixed_dead_letter_is_retried_into_an_order(db):
    code = shop(db)
    report = push(db, code, payloads.taobao(sample("1002")) | {"payment": "12.345"})
    letter_id = report.dead_letter_ids[0]

    still_bad = intake.retry_dead_letter(db, CIPHER, SYSTEM, letter_id, payload=None, now=NOW)
    fixed = intake.retry_dead_letter(db, CIPHER, SYSTEM, letter_id, payload=payloads.taobao(sample("1002")), now=NOW)

    assert still_bad["status"] == "open" and "fractions of a fen" in still_bad["reason"]
    assert fixed == {"id": letter_id, "status": "resolved", "reason": still_bad["reason"], "order": "1002"}
    assert stored(db, "1002")["status"] == "paid"
    with pytest.raises(InvalidRequest, match="already resolved"):
        intake.retry_dead_letter(db, CIPHER, SYSTEM, letter_id, payload=None, now=NOW)


def test_a_body_that_is_not_json_is_kept_as_received(db):
    code = shop(db)

    report = push(db, code, *intake.decode_body(b"<xml>not json</xml>"))

    assert report.dead_lettered == 1
    with db.uow(write=False) as uow:
        letter = uow.conn.execute(select(dead_letters)).mappings().one()
    assert letter["payload"] == "<xml>not json</xml>" and letter["reason"].startswith("not JSON")


@pytest.mark.parametrize("in_pages", [False, True], ids=["one batch", "a fetch window's pages, sealed ahead"])
def test_buyer_details_are_encrypted_at_rest_and_indexed_blindly(db, in_pages):
    code = shop(db)
    bodies = [
        payloads.taobao(sample("1001", phone="13912345678", buyer_id="buyer-7")),
        payloads.taobao(sample("1002", phone="139 1234 5678", street="文三路 90号 2幢 301")),
    ]
    if in_pages:
        intake.intake_pages(db, CIPHER, SYSTEM, code, iter([bodies[:1], bodies[1:]]), source="fetch", now=NOW)
    else:
        push(db, code, *bodies)

    first, second = stored(db, "1001"), stored(db, "1002")

    assert "13912345678" not in first["buyer_phone"] and "张三" not in first["buyer_name"]
    clear = [CIPHER.decrypt(first[column]) for column in ("buyer_name", "buyer_phone", "street")]
    assert clear == ["张三", "13912345678", "文三路 90 号 2 幢 301"]
    assert first["phone_index"] == second["phone_index"] != ""
    assert first["address_index"] == second["address_index"] != ""  # spacing does not count
    assert first["buyer_index"] == CIPHER.blind_index("buyer-7") != second["buyer_index"]


def test_lines_are_matched_to_our_skus_by_merchant_code(db):
    builders.sku(db, "TEA-LJ-250G")
    code = shop(db)
    push(db, code, payloads.taobao(sample("1001")))

    with db.uow(write=False) as uow:
        matched = uow.conn.execute(
            select(order_lines.c.sku_code, order_lines.c.sku_id.is_not(None)).order_by(order_lines.c.line_no)
        ).all()
    assert [tuple(m) for m in matched] == [("TEA-LJ-250G", True), ("TEA-TIN-S", False)]


def test_ten_thousand_orders_from_five_platforms_each_delivered_twice_out_of_order(db):
    """A presale night's intake: every order at least twice, versions shuffled, some payloads broken."""
    rng = random.Random(11)
    platforms = [Platform.TAOBAO, Platform.JD, Platform.PINDUODUO, Platform.DOUYIN, Platform.SHOPIFY]
    final: dict[str, str] = {}
    deliveries: dict[Platform, list] = {p: [] for p in platforms}
    broken = 0
    for n in range(10_000):
        platform = platforms[n % 5]
        order_id = str(9_000_000_000 + n)
        line = SimLine(rng.choice(["TEA-LJ-250G", "MOON-GIFT-6", "TEA-PE-357G"]), rng.randint(1, 3), Decimal("158.00"))
        stages = ["paid", "shipped"] if platform is Platform.JD else ["deposit", "paid", "shipped"]
        presale = "none" if platform is Platform.JD else "deposit"
        versions = [
            payloads.BUILDERS[platform.value](
                sample(
                    order_id,
                    stage=s,
                    presale=presale,
                    deposit=Decimal("30.00"),
                    lines=[line],
                    modified=NOW + timedelta(minutes=i),
                )
            )
            for i, s in enumerate(stages)
        ]
        final[order_id] = stages[-1]
        deliveries[platform] += [*versions, rng.choice(versions)]
        if n % 500 == 0:  # a damaged copy now and then: a list that is not a list, or no order at all
            damaged = versions[0] | {"line_items": 1} if platform is Platform.SHOPIFY else {"garbage": n}
            deliveries[platform].append(damaged)
            broken += 1
    for platform in platforms:
        code = shop(db, f"S-{platform.value}", platform)
        batch = deliveries[platform]
        rng.shuffle(batch)
        for start in range(0, len(batch), 1000):
            push(db, code, *batch[start : start + 1000], source="fetch")

    assert count(db, orders) == 10_000
    assert count(db, dead_letters) == broken
    with db.uow(write=False) as uow:
        statuses = dict(uow.conn.execute(select(orders.c.platform_order_id, orders.c.status)).all())
    assert statuses == final


def test_a_newer_version_with_an_impossible_status_change_is_kept_aside_not_applied(db):
    code = shop(db)
    push(db, code, payloads.taobao(sample("1001", stage="shipped")))

    report = push(db, code, payloads.taobao(sample("1001", stage="unpaid", modified=NOW + timedelta(hours=1))))

    assert (report.updated, report.dead_lettered) == (0, 1)
    assert stored(db, "1001")["status"] == "shipped"
    with db.uow(write=False) as uow:
        reason = uow.conn.execute(select(dead_letters.c.reason)).scalar_one()
    assert "illegal transition from 'shipped' to 'awaiting_payment'" in reason


def test_a_paid_presale_order_waits_in_the_pre_order_queue_until_date_and_stock_allow(db):
    from presale_erp.services import preorders

    builders.stocked(db, 0, sku_code="TEA-LJ-250G")
    code = shop(db)
    ship_from = NOW + timedelta(days=2)
    push(
        db,
        code,
        payloads.taobao(
            sample(
                "1001",
                stage="paid",
                presale="deposit",
                deposit=Decimal("50.00"),
                ship_by=ship_from,
                lines=[SimLine("TEA-LJ-250G", 2, Decimal("398.00"))],
            )
        ),
    )
    assert stored(db, "1001")["preorder_status"] == "waiting"

    early = preorders.activate_due(db, SYSTEM, now=NOW + timedelta(days=1))
    on_date_no_stock = preorders.activate_due(db, SYSTEM, now=ship_from + timedelta(hours=1))
    reason = stored(db, "1001")["preorder_reason"]
    builders.receive(db, "TEA-LJ-250G", "HZ", 5)
    with_stock = preorders.activate_due(db, SYSTEM, now=ship_from + timedelta(hours=2))

    assert (early.activated, on_date_no_stock.activated, with_stock.activated) == (0, 0, 1)
    assert reason == "缺货 (stock short): TEA-LJ-250G wanted 2, 0 free"
    assert stored(db, "1001")["preorder_status"] == "activated"


def test_two_changes_within_one_second_keep_the_later_state(db):
    code = shop(db)
    push(db, code, payloads.taobao(sample("1001", stage="paid")))

    report = push(db, code, payloads.taobao(sample("1001", stage="shipped")))  # same modified second

    assert report.updated == 1
    assert stored(db, "1001")["status"] == "shipped"


def test_eight_intakes_of_the_same_orders_at_once_store_each_order_once(db):
    """A webhook push and two overlapping fetches land together: the ones that lose the race to insert an
    order treat it as existing and compare versions; nothing is duplicated or refused."""
    code = shop(db)
    bodies = [payloads.taobao(sample(str(7_000_000 + n), buyer_id=f"b{n}")) for n in range(120)]
    barrier = Barrier(8)

    def deliver(n: int):
        barrier.wait()
        return intake.intake(
            db, CIPHER, SYSTEM, code, random.Random(n).sample(bodies, len(bodies)), source="fetch", now=NOW
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        reports = list(pool.map(deliver, range(8)))

    with db.uow(write=False) as uow:
        stored = uow.conn.execute(select(func.count()).select_from(orders)).scalar_one()
        lines = uow.conn.execute(select(func.count()).select_from(order_lines)).scalar_one()
    assert stored == 120 and lines == 240
    assert sum(r.created for r in reports) == 120 and sum(r.dead_lettered for r in reports) == 0


# A database that refuses one order (as a full disk or a lost connection would refuse a page).
REFUSE_ONE_ORDER = {
    "sqlite": [
        "CREATE TRIGGER refuse_order BEFORE INSERT ON orders"
        " WHEN NEW.platform_order_id = '2005' BEGIN SELECT RAISE(ABORT, 'order refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_order() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'order refused'; END $$",
        "CREATE TRIGGER refuse_order BEFORE INSERT ON orders FOR EACH ROW"
        " WHEN (NEW.platform_order_id = '2005') EXECUTE FUNCTION refuse_order()",
    ],
}
ALLOW_ORDERS = {
    "sqlite": ["DROP TRIGGER refuse_order"],
    "postgresql": ["DROP TRIGGER refuse_order ON orders", "DROP FUNCTION refuse_order()"],
}


def pages_of_three(first: int, pages: int) -> list[list[dict]]:
    return [[payloads.taobao(sample(str(first + 3 * p + n))) for n in range(3)] for p in range(pages)]


def test_a_fetch_windows_pages_are_stored_each_once_and_counted_together(db):
    code = shop(db)
    pages = pages_of_three(2000, 4)

    report = intake.intake_pages(db, CIPHER, SYSTEM, code, iter(pages + pages[:1]), source="fetch", now=NOW)

    assert (report.received, report.created, report.unchanged) == (15, 12, 3)
    assert count(db, orders) == 12


def test_a_page_the_database_refuses_stops_the_run_and_the_pages_before_it_are_kept(db):
    code = shop(db)
    builders.run_sql(db, REFUSE_ONE_ORDER[db.engine.dialect.name])
    try:
        with pytest.raises(DBAPIError, match="order refused"):
            intake.intake_pages(db, CIPHER, SYSTEM, code, iter(pages_of_three(2000, 4)), source="fetch", now=NOW)
    finally:
        builders.run_sql(db, ALLOW_ORDERS[db.engine.dialect.name])

    with db.uow(write=False) as uow:
        kept = set(uow.conn.execute(select(orders.c.platform_order_id)).scalars())
    assert kept == {"2000", "2001", "2002"}  # page 2 (2003-2005) refused whole; pages 3 and 4 not stored
