"""Orders lock stock at the moment the shop chose (下单锁 / 付定金锁 / 付款锁), exactly once, and give it back when
cancelled or refunded (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.services import catalog, intake, presale, stock, stock_views
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import builders
from tests.conftest import NOW
from tests.integration.test_order_intake import stored
from tests.integration.test_presale_campaigns import new_campaign

CIPHER = PiiCipher(b"l" * 32)
TEA = "TEA-250G"


def set_up(db, policy: StockLockPolicy, on_hand: int = 10, quota: int = 0) -> None:
    builders.stocked(db, on_hand, sku_code=TEA)
    if quota:
        presale.create_campaign(db, SYSTEM, new_campaign(quota, sku=TEA), now=NOW)
        presale.open_campaign(db, SYSTEM, "D11", now=NOW)
    catalog.create_shop(
        db,
        SYSTEM,
        code="TM-1",
        name="天猫",
        platform=Platform.TMALL,
        platform_shop_id="tm-1",
        stock_lock_policy=policy,
        now=NOW,
    )
    catalog.set_stock_locking(db, SYSTEM, "TM-1", policy=policy, warehouse="HZ", now=NOW)


def push(db, order_id: str, stage: str, units: int = 2, minutes: int = 0, presale_kind: str = "deposit") -> None:
    body = payloads.taobao(
        sample(
            order_id,
            stage=stage,
            presale=presale_kind,
            deposit=Decimal("50.00"),
            lines=[SimLine(TEA, units, Decimal("198.00"))],
            modified=NOW + timedelta(minutes=minutes),
            ship_by=NOW + timedelta(days=5),
        )
    )
    intake.intake(db, CIPHER, SYSTEM, "TM-1", [body], source="fetch", now=NOW)


def held(db) -> dict:
    view = stock_views.position_detail(db, sku=TEA, warehouse="HZ")
    return {k: view[k] for k in ("reserved", "presale_booked", "awaiting_review", "presale_quota_used")}


@pytest.mark.parametrize(
    ("policy", "locked_at"),
    [
        (StockLockPolicy.ON_ORDER, "unpaid"),
        (StockLockPolicy.ON_DEPOSIT, "deposit"),
        (StockLockPolicy.ON_PAYMENT, "paid"),
    ],
)
def test_stock_is_locked_at_the_moment_the_shop_chose(db, policy, locked_at):
    set_up(db, policy)
    stages = ["unpaid", "deposit", "paid"]
    seen = []
    for minutes, stage in enumerate(stages):
        push(db, "1001", stage, minutes=minutes)
        seen.append(held(db)["reserved"])

    assert seen == [0 if stages.index(s) < stages.index(locked_at) else 2 for s in stages]
    assert held(db)["presale_booked"] == 2  # presale lines lock as 预订单量
    assert stored(db, "1001")["stock_locked"] is True


def test_a_redelivered_order_never_locks_twice(db):
    set_up(db, StockLockPolicy.ON_DEPOSIT)
    push(db, "1001", "deposit")
    push(db, "1001", "deposit")
    push(db, "1001", "paid", minutes=5)

    assert held(db)["reserved"] == 2
    assert stock.ledger_discrepancies(db) == []


def test_a_cancelled_order_gives_its_stock_back(db):
    set_up(db, StockLockPolicy.ON_DEPOSIT)
    push(db, "1001", "deposit")

    push(db, "1001", "balance_lapsed", minutes=10)

    assert held(db)["reserved"] == 0
    assert stored(db, "1001")["status"] == "cancelled"
    assert stock.ledger_discrepancies(db) == []


def test_presale_bookings_sell_ahead_into_the_quota_and_the_rest_wait_with_a_reason(db):
    set_up(db, StockLockPolicy.ON_DEPOSIT, on_hand=2, quota=4)
    for n in range(4):
        push(db, str(2000 + n), "deposit", units=2, minutes=n)

    assert held(db) == {"reserved": 6, "presale_booked": 6, "awaiting_review": 0, "presale_quota_used": 4}
    last = stored(db, "2003")
    assert last["stock_locked"] is False
    assert last["lock_reason"] == f"缺货, 未锁库存 (stock short): {TEA} wanted 2, 0 available"


def test_a_shop_without_a_lock_warehouse_locks_nothing_at_intake(db):
    set_up(db, StockLockPolicy.ON_ORDER)
    catalog.set_stock_locking(db, SYSTEM, "TM-1", policy=StockLockPolicy.ON_ORDER, warehouse=None, now=NOW)

    push(db, "1001", "paid")

    assert held(db)["reserved"] == 0


def test_a_deposit_whose_balance_window_passes_unpaid_gives_its_stock_back(db):
    from presale_erp.services import balances

    set_up(db, StockLockPolicy.ON_DEPOSIT, on_hand=0, quota=10)
    push(db, "1001", "deposit")
    due = stored(db, "1001")["balance_due_at"]  # from the campaign's balance window

    before = balances.expire_unpaid_balances(db, SYSTEM, now=due - timedelta(minutes=1))
    after = balances.expire_unpaid_balances(db, SYSTEM, now=due + timedelta(minutes=1))
    again = balances.expire_unpaid_balances(db, SYSTEM, now=due + timedelta(minutes=2))

    assert (before.expired, after.expired, again.expired) == (0, 1, 0)
    assert held(db)["reserved"] == 0 and held(db)["presale_quota_used"] == 0
    assert stored(db, "1001")["balance_expired_at"] is not None
    assert stock.ledger_discrepancies(db) == []


def test_douyin_says_itself_when_the_balance_is_due():
    from presale_erp.adapters.platforms import douyin

    due = NOW + timedelta(days=2)
    order = douyin.parse_order(
        payloads.douyin(
            sample(
                "6920000000000000001",
                stage="deposit",
                presale="deposit",
                deposit=Decimal("50.00"),
                extra_balance_due=due,
            )
        )
    )

    assert order.balance_due_at == due.replace(microsecond=0)


def test_a_refunded_order_gives_back_every_unit_even_when_its_lines_say_refunded(db):
    set_up(db, StockLockPolicy.ON_PAYMENT)
    push(db, "1001", "paid", presale_kind="none")

    push(db, "1001", "refunded", minutes=10, presale_kind="none")  # TRADE_CLOSED with each line SUCCESS

    assert held(db)["reserved"] == 0
    assert stock.ledger_discrepancies(db) == []


def test_an_order_whose_stock_was_given_back_does_not_lock_again_by_itself(db):
    from presale_erp.services import balances

    set_up(db, StockLockPolicy.ON_DEPOSIT, on_hand=0, quota=10)
    push(db, "1001", "deposit")
    due = stored(db, "1001")["balance_due_at"]
    balances.expire_unpaid_balances(db, SYSTEM, now=due + timedelta(minutes=1))

    push(db, "1001", "paid", minutes=30)  # the balance came late after all

    assert held(db)["reserved"] == 0
    assert stored(db, "1001")["status"] == "paid"


def test_an_order_that_locked_the_last_units_is_not_held_for_lack_of_them(db):
    from presale_erp.services import review

    set_up(db, StockLockPolicy.ON_PAYMENT, on_hand=2)
    push(db, "1001", "paid", units=2, presale_kind="none")

    report = review.review_pending(db, CIPHER, SYSTEM, now=NOW + timedelta(hours=2))

    assert held(db)["reserved"] == 2
    assert "insufficient_stock" not in (stored(db, "1001")["review_rules_hit"] or "")
    assert report.reviewed == 1


def test_a_pre_order_that_already_holds_its_stock_is_activated_on_its_date(db):
    from presale_erp.services import preorders

    set_up(db, StockLockPolicy.ON_DEPOSIT, on_hand=2)
    push(db, "1001", "paid", units=2, presale_kind="full_payment")

    outcome = preorders.activate_due(db, SYSTEM, now=NOW + timedelta(days=6))

    assert outcome.activated == 1


def test_a_page_prepared_before_a_campaign_opened_is_stored_with_the_campaigns_balance_deadline(db, monkeypatch):
    """Intake builds a page's rows ahead of storing it, outside the write lock; what changed meanwhile wins."""
    set_up(db, StockLockPolicy.ON_DEPOSIT, on_hand=10)
    prepare = intake.prepare

    def prepared_then_campaign_opened(*args):
        ready = prepare(*args)
        presale.create_campaign(db, SYSTEM, new_campaign(10, sku=TEA), now=NOW)
        presale.open_campaign(db, SYSTEM, "D11", now=NOW)
        return ready

    monkeypatch.setattr(intake, "prepare", prepared_then_campaign_opened)
    line = SimLine(TEA, 1, Decimal("198.00"))
    body = payloads.taobao(sample("1001", stage="deposit", presale="deposit", deposit=Decimal("50.00"), lines=[line]))

    intake.intake_pages(db, CIPHER, SYSTEM, "TM-1", [[body]], source="fetch", now=NOW)

    assert stored(db, "1001")["balance_due_at"] == new_campaign().balance_ends_at
