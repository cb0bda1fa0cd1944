"""The payments ledger (SQLite and PostgreSQL): entries derived from orders once, immutable, keyed, signed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from presale_erp.adapters.db.tables import payment_entries
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.finance import Channel, PaymentKind, PaymentSource
from presale_erp.services import payments
from tests import finance_builders as fb
from tests.conftest import NOW

SINCE = NOW - timedelta(days=30)


def entries(db, platform_order_id: str) -> list[tuple[str, str, Decimal, str, str]]:
    view = payments.order_payments(db, fb.order_id(db, platform_order_id))
    return [
        (e["entry_key"].split(":")[-1], e["kind"], e["amount"], e["channel"], e["external_ref"])
        for e in view["entries"]
    ]


def test_a_deposit_then_its_balance_become_two_entries_keyed_by_the_order_and_a_rerun_adds_nothing(db):
    fb.shop_and_stock(db)
    fb.push(db, "3001", stage="deposit", modified=NOW - timedelta(days=9))

    assert payments.record_from_orders(db, SYSTEM, since=SINCE, now=NOW) == 1
    fb.push(db, "3001", stage="paid", modified=NOW - timedelta(days=2))
    assert payments.record_from_orders(db, SYSTEM, since=SINCE, now=NOW) == 1
    assert payments.record_from_orders(db, SYSTEM, since=SINCE, now=NOW) == 0

    assert entries(db, "3001") == [
        ("deposit", "deposit", Decimal("50.00"), "alipay", "3001"),
        ("balance", "balance", Decimal("149.00"), "alipay", "3001"),
    ]
    view = payments.order_payments(db, fb.order_id(db, "3001"))
    assert (view["paid"], view["refunded"], view["net"]) == (Decimal("199.00"), Decimal("0.00"), Decimal("199.00"))


def test_a_spot_order_is_one_full_payment_and_orders_modified_before_the_window_are_left_alone(db):
    fb.shop_and_stock(db)
    fb.push(db, "3002", stage="paid", presale="none", modified=NOW - timedelta(days=1))
    fb.push(db, "3003", stage="paid", presale="none", modified=NOW - timedelta(days=40))
    fb.push(db, "3004", stage="unpaid", presale="none", modified=NOW - timedelta(days=1))

    assert payments.record_from_orders(db, SYSTEM, since=SINCE, now=NOW) == 1

    assert entries(db, "3002") == [("full_payment", "full_payment", Decimal("199.00"), "alipay", "3002")]
    assert entries(db, "3003") == [] and entries(db, "3004") == []


def _fee(db, amount: str, key: str = "fee:3002:tech", note: str = "") -> bool:
    entry = payments.manual_entry(
        entry_key=key,
        shop_id=1,
        order_id=fb.order_id(db, "3002"),
        kind=PaymentKind.PLATFORM_FEE,
        amount=Decimal(amount),
        channel=Channel.ALIPAY,
        external_ref="2026110122001",
        occurred_at=NOW,
        source=PaymentSource.SETTLEMENT,
        note=note,
    )
    return payments.record_entry(db, SYSTEM, entry, now=NOW)


def test_a_manual_entry_is_recorded_once_and_its_key_cannot_be_reused_for_other_content(db):
    fb.shop_and_stock(db)
    fb.push(db, "3002", stage="paid", presale="none", modified=NOW - timedelta(days=1))

    assert _fee(db, "-1.99") is True
    assert _fee(db, "-1.99") is False  # the retry
    with pytest.raises(Conflict):
        _fee(db, "-2.99")
    with pytest.raises(Conflict):
        _fee(db, "-1.99", note="other")

    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(func.count()).select_from(payment_entries)).scalar_one() == 1
    view = payments.order_payments(db, fb.order_id(db, "3002"))
    assert (view["fees"], view["net"]) == (Decimal("1.99"), Decimal("0.00"))


@pytest.mark.parametrize("amount", ["1.99", "0.00", "-1.999"])
def test_a_fee_must_be_money_out_to_the_fen(db, amount):
    fb.shop_and_stock(db)
    fb.push(db, "3002", stage="paid", presale="none", modified=NOW - timedelta(days=1))

    with pytest.raises(InvalidRequest):
        _fee(db, amount)


def test_the_payments_of_an_unknown_order_are_not_found(db):
    with pytest.raises(NotFound):
        payments.order_payments(db, 999)
