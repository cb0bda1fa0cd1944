"""Vouchers from the payments ledger and sales postings on both databases: exact lines, Beijing days,
numbering, idempotent regeneration, supplements for late facts, and the mapping."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from threading import Barrier

import pytest
from sqlalchemy import func, select

from presale_erp.adapters.db.tables import account_mappings
from presale_erp.adapters.db.tables import vouchers as voucher_table
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.chart_of_accounts import DEFAULT_RULES, Account, AccountRole, MappingRule
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.services import vouchers
from tests.conftest import NOW
from tests.voucher_facts import payment, posting, shop_with_an_order

OCT30, OCT31 = date(2026, 10, 30), date(2026, 10, 31)


def two_days_of_facts(db) -> int:
    """A presale order of two units at 199.00 (定金 50 + 尾款 348) shipped, partly refunded (20.00 kept goods) and
    one unit returned (189.00 back), plus two deposits of orders not shipped yet."""
    order = shop_with_an_order(db)
    # 2026-10-30 in Beijing, including 00:30 (still 10-29 in UTC) and 23:59
    payment(db, order, "deposit", "50.00", "alipay", "2026-10-30 10:00")
    payment(db, order, "deposit", "30.00", "alipay", "2026-10-30 00:30")
    payment(db, order, "deposit", "40.00", "wechat", "2026-10-30 23:59")
    payment(db, order, "platform_fee", "-0.48", "alipay", "2026-10-30 10:00")
    # 2026-10-31
    payment(db, order, "balance", "348.00", "alipay", "2026-10-31 11:00")
    posting(db, order, "shipment", 2, "398.00", "160.00", "2026-10-31 14:00")
    posting(db, order, "refund_allowance", 0, "-20.00", "0.00", "2026-10-31 16:00")
    payment(db, order, "refund", "-20.00", "alipay", "2026-10-31 16:05")
    posting(db, order, "return", -1, "-189.00", "-80.00", "2026-10-31 20:00")
    payment(db, order, "refund", "-189.00", "alipay", "2026-10-31 20:05")
    payment(db, order, "commission", "-5.94", "alipay", "2026-10-31 18:00")
    # 2026-11-01 00:00 in Beijing: outside the range
    payment(db, order, "balance", "999.00", "alipay", "2026-11-01 00:00")
    return order


def lines(voucher) -> list[tuple[str, str, str]]:
    return [(line.account_code, str(line.debit), str(line.credit)) for line in voucher.lines]


def generate(db, day_from=OCT30, day_to=OCT31):
    return vouchers.generate(db, SYSTEM, day_from=day_from, day_to=day_to, now=NOW)


DR, CR = "debit", "credit"


def entry(code: str, side: str, amount: str) -> tuple[str, str, str]:
    return (code, amount, "0.00") if side == DR else (code, "0.00", amount)


EXPECTED = [
    (OCT30, "receipts", 1, 3, [
        entry("1012.01", DR, "80.00"), entry("2203", CR, "80.00"),
        entry("1012.02", DR, "40.00"), entry("2203", CR, "40.00"),
    ]),
    (OCT30, "fees", 2, 1, [entry("6601.01", DR, "0.48"), entry("1012.01", CR, "0.48")]),
    (OCT31, "receipts", 3, 1, [entry("1012.01", DR, "348.00"), entry("2203", CR, "348.00")]),
    (OCT31, "refunds", 4, 2, [entry("2203", DR, "209.00"), entry("1012.01", CR, "209.00")]),
    (OCT31, "fees", 5, 1, [entry("6601.02", DR, "5.94"), entry("1012.01", CR, "5.94")]),
    (OCT31, "sales", 6, 1, [
        entry("6401", DR, "160.00"), entry("1405", CR, "160.00"),
        entry("2203", DR, "398.00"), entry("6001", CR, "398.00"),
    ]),
    (OCT31, "returns", 7, 2, [
        entry("6001", DR, "20.00"), entry("2203", CR, "20.00"),
        entry("1405", DR, "80.00"), entry("6401", CR, "80.00"),
        entry("6001", DR, "189.00"), entry("2203", CR, "189.00"),
    ]),
]  # fmt: skip


def test_two_days_of_a_shop_become_summary_vouchers_with_exact_balanced_lines(db):
    two_days_of_facts(db)

    report = generate(db)

    made = vouchers.list_vouchers(db, SYSTEM)
    assert (report.created, report.supplements, report.voucher_ids) == (7, 0, [v.id for v in made])
    got = [(v.date, v.business_type.value, v.number, v.attachments, lines(v)) for v in made]
    assert got == EXPECTED
    assert all(v.total_debit == v.total_credit and (v.year, v.period, v.word) == (2026, 10, "记") for v in made)
    assert made[0].lines[1].auxiliary[0].code == "TM-1"
    assert made[0].lines[0].summary == "2026-10-30 TM-1 店 收定金 支付宝"
    assert vouchers.get(db, SYSTEM, made[5].id) == made[5]


def test_across_the_vouchers_deposits_received_holds_only_what_has_not_shipped_and_revenue_is_what_was_kept(db):
    two_days_of_facts(db)
    generate(db)

    net: dict[str, Decimal] = defaultdict(Decimal)
    for voucher in vouchers.list_vouchers(db, SYSTEM):
        for line in voucher.lines:
            net[line.account_code] += line.debit - line.credit

    assert dict(net) == {
        "1012.01": Decimal("212.58"),  # 50 + 30 + 348 - 0.48 - 20 - 189 - 5.94
        "1012.02": Decimal("40.00"),
        "2203": Decimal("-70.00"),  # the two deposits of orders not shipped (a credit balance: a liability)
        "6001": Decimal("-189.00"),  # 398 - 20 - 189
        "6401": Decimal("80.00"),  # 160 - 80
        "1405": Decimal("-80.00"),
        "6601.01": Decimal("0.48"),
        "6601.02": Decimal("5.94"),
    }


def test_regenerating_vouchered_days_writes_nothing(db):
    two_days_of_facts(db)
    generate(db)

    again = generate(db)

    assert (again.created, again.supplements, again.voucher_ids) == (0, 0, [])
    assert len(vouchers.list_vouchers(db, SYSTEM)) == 7


def test_a_late_fact_gets_a_supplementary_voucher_numbered_after_the_rest_and_only_once(db):
    order = two_days_of_facts(db)
    generate(db)
    payment(db, order, "deposit", "10.00", "alipay", "2026-10-30 12:00")

    report = generate(db)
    again = generate(db)

    (supplement,) = vouchers.list_vouchers(db, SYSTEM, after_id=7)
    assert (report.created, report.supplements, again.supplements) == (0, 1, 0)
    assert (supplement.source_key, supplement.sequence, supplement.number) == ("TM-1/2026-10-30/receipts", 1, 8)
    assert (supplement.date, supplement.attachments) == (OCT30, 1)
    assert lines(supplement) == [("1012.01", "10.00", "0.00"), ("2203", "0.00", "10.00")]
    assert supplement.lines[0].summary.startswith("补记 ")


def test_the_default_mapping_is_written_on_first_use_and_a_saved_override_books_later_days(db):
    order = two_days_of_facts(db)
    assert vouchers.mapping(db, SYSTEM) == list(DEFAULT_RULES)
    generate(db, OCT30, OCT30)
    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(func.count()).select_from(account_mappings)).scalar_one() == len(DEFAULT_RULES)

    override = MappingRule(
        AccountRole.CHANNEL_MONEY, Account("1012.11", "其他货币资金-天猫支付宝"), shop="TM-1", channel="alipay"
    )
    vouchers.save_mapping(db, SYSTEM, [*DEFAULT_RULES, override], now=NOW)
    generate(db, OCT31, OCT31)

    receipts = [v for v in vouchers.list_vouchers(db, SYSTEM, day_from=OCT31) if v.business_type == "receipts"]
    assert lines(receipts[0])[0] == ("1012.11", "348.00", "0.00")
    assert order


@pytest.mark.parametrize(
    ("day_from", "day_to", "message"),
    [
        (OCT31, OCT30, "after"),
        (date(2026, 11, 2), date(2026, 11, 2), "not over"),
        (date(2026, 6, 1), OCT31, "At most"),
    ],
)
def test_a_backwards_unfinished_or_too_long_range_is_refused(db, day_from, day_to, message):
    with pytest.raises(InvalidRequest, match=message):
        generate(db, day_from, day_to)


def test_a_mapping_naming_an_unknown_shop_is_refused_and_nothing_changes(db):
    rule = MappingRule(AccountRole.REVENUE, Account("6001.09", "主营业务收入-其他"), shop="NOPE")

    with pytest.raises(NotFound, match="NOPE"):
        vouchers.save_mapping(db, SYSTEM, [*DEFAULT_RULES, rule], now=NOW)
    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(func.count()).select_from(account_mappings)).scalar_one() == 0


def test_pulling_by_id_pages_through_every_voucher_once(db):
    two_days_of_facts(db)
    generate(db)

    first = vouchers.list_vouchers(db, SYSTEM, limit=4)
    rest = vouchers.list_vouchers(db, SYSTEM, after_id=first[-1].id, limit=4)

    assert [v.number for v in first + rest] == [1, 2, 3, 4, 5, 6, 7]
    with db.uow(write=False) as uow:
        assert uow.conn.execute(select(func.count()).select_from(voucher_table)).scalar_one() == 7


def test_two_generations_at_once_write_each_voucher_once(db):
    two_days_of_facts(db)
    start = Barrier(2)

    def run(_: int):
        start.wait()
        return generate(db)

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(run, range(2)))

    assert sorted(r.created for r in reports) == [0, 7]
    assert [v.number for v in vouchers.list_vouchers(db, SYSTEM)] == [1, 2, 3, 4, 5, 6, 7]
