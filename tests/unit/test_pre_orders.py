"""The pre-order queue (预订单): an order goes when its date has come and the shelves hold its goods; earliest
payers first; a waiting order always says why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from presale_erp.domain.orders import PreOrder, activate

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TEA = 7
CODES = {TEA: "TEA-LJ-250G"}


def pre(order_id: int, units: int, *, planned: datetime | None = NOW - timedelta(days=1), paid_minutes_ago: int = 60):
    return PreOrder(order_id, planned, NOW - timedelta(minutes=paid_minutes_ago), {TEA: units})


def test_an_order_whose_date_has_come_and_whose_goods_are_there_is_activated():
    assert activate([pre(1, 2)], {TEA: 5}, NOW, CODES) == {1: ""}


def test_an_order_before_its_planned_ship_date_waits_and_says_so():
    outcome = activate([pre(1, 2, planned=NOW + timedelta(days=3))], {TEA: 5}, NOW, CODES)

    assert outcome[1].startswith("计划发货 2026-11-23 09:00 未到")


def test_when_stock_is_short_the_earliest_payers_go_first():
    queue = [pre(1, 2, paid_minutes_ago=10), pre(2, 2, paid_minutes_ago=300), pre(3, 1, paid_minutes_ago=100)]

    outcome = activate(queue, {TEA: 3}, NOW, CODES)

    assert (outcome[2], outcome[3]) == ("", "")
    assert outcome[1] == "缺货 (stock short): TEA-LJ-250G wanted 2, 0 free"
