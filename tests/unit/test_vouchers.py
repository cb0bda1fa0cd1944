"""Summary vouchers from fact totals: the accounting scheme, the mapping, supplements, numbering, balance."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from presale_erp.domain.chart_of_accounts import (
    DEFAULT_MAPPING,
    DEFAULT_RULES,
    Account,
    AccountRole,
    AuxiliaryKind,
    ChartMapping,
    MappingRule,
)
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.vouchers import (
    SCHEME,
    Booked,
    BusinessType,
    FactTotal,
    UnbalancedVoucher,
    Voucher,
    VoucherLine,
    build_summary_vouchers,
    source_key,
)

D = Decimal
DAY = date(2026, 10, 31)


def fact(kind: str, part: str, amount: str, channel: str = "", count: int = 1, day: date = DAY, shop: str = "TM-1"):
    return FactTotal(shop, day, kind, part, D(amount), count, channel=channel)


A_DAY = [
    fact("deposit", "amount", "100.00", "alipay", count=2),
    fact("balance", "amount", "298.00", "alipay"),
    fact("full_payment", "amount", "199.00", "wechat"),
    fact("refund", "amount", "-50.00", "alipay"),
    fact("platform_fee", "amount", "-5.97", "alipay"),
    fact("commission", "amount", "-3.00", "alipay"),
    fact("shipment", "revenue", "398.00", count=2),
    fact("shipment", "cost", "160.00", count=0),
    fact("return", "revenue", "-199.00"),
    fact("return", "cost", "-80.00", count=0),
    fact("refund_allowance", "revenue", "-20.00"),
    fact("refund_allowance", "cost", "0.00", count=0),
    fact("deposit_forfeited", "revenue", "30.00"),
    fact("deposit_forfeited", "cost", "0.00", count=0),
]


def build(totals, *, booked=None, numbers=None, mapping=DEFAULT_MAPPING):
    return build_summary_vouchers(
        totals,
        mapping=mapping,
        shop_names={"TM-1": "天猫旗舰店"},
        booked=booked or {},
        next_numbers=numbers or {},
        preparer="finance",
    )


def entries(voucher: Voucher) -> list[tuple[str, str, str]]:
    return [(line.account_code, str(line.debit), str(line.credit)) for line in voucher.lines]


@pytest.mark.parametrize(
    ("business_type", "expected"),
    [
        (
            BusinessType.RECEIPTS,
            [
                ("1012.01", "298.00", "0.00"),
                ("2203", "0.00", "298.00"),
                ("1012.01", "100.00", "0.00"),
                ("2203", "0.00", "100.00"),
                ("1012.02", "199.00", "0.00"),
                ("2203", "0.00", "199.00"),
            ],
        ),
        (BusinessType.REFUNDS, [("2203", "50.00", "0.00"), ("1012.01", "0.00", "50.00")]),
        (
            BusinessType.FEES,
            [
                ("6601.02", "3.00", "0.00"),
                ("1012.01", "0.00", "3.00"),
                ("6601.01", "5.97", "0.00"),
                ("1012.01", "0.00", "5.97"),
            ],
        ),
        (
            BusinessType.SALES,
            [
                ("6401", "160.00", "0.00"),
                ("1405", "0.00", "160.00"),
                ("2203", "398.00", "0.00"),
                ("6001", "0.00", "398.00"),
            ],
        ),
        (
            BusinessType.RETURNS,
            [
                ("6001", "20.00", "0.00"),
                ("2203", "0.00", "20.00"),
                ("1405", "80.00", "0.00"),
                ("6401", "0.00", "80.00"),
                ("6001", "199.00", "0.00"),
                ("2203", "0.00", "199.00"),
            ],
        ),
        (BusinessType.FORFEITS, [("2203", "30.00", "0.00"), ("6301", "0.00", "30.00")]),
    ],
)
def test_a_days_facts_become_one_balanced_voucher_per_business_type_with_the_schemes_accounts(business_type, expected):
    vouchers = {v.business_type: v for v in build(A_DAY)}

    voucher = vouchers[business_type]
    assert entries(voucher) == expected
    assert voucher.total_debit == voucher.total_credit
    assert voucher.source_key == f"TM-1/2026-10-31/{business_type.value}"


def test_vouchers_are_numbered_per_period_in_business_type_order_and_count_their_facts():
    vouchers = build(A_DAY, numbers={(2026, 10): 41})

    assert [(v.business_type.value, v.number, v.attachments) for v in vouchers] == [
        ("receipts", 41, 4),
        ("refunds", 42, 1),
        ("fees", 43, 2),
        ("sales", 44, 2),
        ("returns", 45, 2),
        ("forfeits", 46, 1),
    ]
    assert {(v.year, v.period, v.word, v.date) for v in vouchers} == {(2026, 10, "记", DAY)}


def test_a_new_month_starts_its_own_numbers():
    november = date(2026, 11, 1)
    vouchers = build(
        [fact("deposit", "amount", "10.00", "alipay"), fact("deposit", "amount", "20.00", "alipay", day=november)],
        numbers={(2026, 10): 7},
    )

    assert [(v.date, v.number) for v in vouchers] == [(DAY, 7), (november, 1)]


def test_the_deposits_received_line_names_the_shop_as_customer_and_the_summary_says_what_happened():
    (voucher,) = build([fact("deposit", "amount", "100.00", "alipay")])

    debit, credit = voucher.lines
    assert debit.summary == "2026-10-31 天猫旗舰店 收定金 支付宝"
    assert debit.auxiliary == ()
    assert [(a.label, a.code, a.name) for a in credit.auxiliary] == [("客户", "TM-1", "天猫旗舰店")]


@pytest.mark.parametrize(
    ("kind", "amount", "expected"),
    [
        ("platform_fee", "4.50", [("1012.01", "4.50", "0.00"), ("6601.01", "0.00", "4.50")]),  # a fee rebate
        ("adjustment", "-12.00", [("2203", "12.00", "0.00"), ("1012.01", "0.00", "12.00")]),
        ("adjustment", "12.00", [("1012.01", "12.00", "0.00"), ("2203", "0.00", "12.00")]),
    ],
)
def test_a_total_against_its_usual_direction_swaps_debit_and_credit_instead_of_going_negative(kind, amount, expected):
    (voucher,) = build([fact(kind, "amount", amount, "alipay")])

    assert entries(voucher) == expected


def test_regenerating_a_fully_booked_day_makes_nothing():
    first = build(A_DAY)
    booked = {v.source_key: Booked(dict(v.basis), v.attachments, v.sequence) for v in first}

    assert build(A_DAY, booked=booked) == []


def test_a_late_fact_gets_a_supplementary_voucher_for_the_difference_only():
    (first,) = build([fact("deposit", "amount", "100.00", "alipay", count=2)])
    booked = {first.source_key: Booked(dict(first.basis), first.attachments, first.sequence)}

    (supplement,) = build(
        [fact("deposit", "amount", "130.00", "alipay", count=3)], booked=booked, numbers={(2026, 10): 2}
    )

    assert supplement.sequence == 1
    assert supplement.number == 2
    assert supplement.attachments == 1
    assert entries(supplement) == [("1012.01", "30.00", "0.00"), ("2203", "0.00", "30.00")]
    assert supplement.lines[0].summary.startswith("补记 2026-10-31")
    assert dict(supplement.basis) == {"deposit.amount.alipay": D("30.00")}


def rule(role, code, name, shop="", channel="", aux=()):
    return MappingRule(role, Account(code, name), shop=shop, channel=channel, auxiliary=aux)


@pytest.mark.parametrize(
    ("shop", "channel", "expected"),
    [
        ("TM-1", "alipay", "1012.91"),  # shop + channel
        ("TM-1", "wechat", "1012.90"),  # shop
        ("JD-1", "alipay", "1012.01"),  # channel (the default's)
        ("JD-1", "cod", "1012"),  # catch-all
    ],
)
def test_the_most_specific_mapping_rule_wins(shop, channel, expected):
    mapping = ChartMapping(
        [
            *DEFAULT_RULES,
            rule(AccountRole.CHANNEL_MONEY, "1012.90", "其他货币资金-天猫", shop="TM-1"),
            rule(AccountRole.CHANNEL_MONEY, "1012.91", "其他货币资金-天猫支付宝", shop="TM-1", channel="alipay"),
        ]
    )

    assert mapping.rule_for(AccountRole.CHANNEL_MONEY, shop=shop, channel=channel).account.code == expected


def test_forfeited_deposits_can_go_to_other_business_income_and_revenue_can_carry_a_department():
    rules = [r for r in DEFAULT_RULES if r.role not in (AccountRole.FORFEITED_DEPOSIT, AccountRole.REVENUE)]
    mapping = ChartMapping(
        [
            *rules,
            rule(AccountRole.FORFEITED_DEPOSIT, "6051", "其他业务收入"),
            rule(AccountRole.REVENUE, "6001", "主营业务收入", aux=(AuxiliaryKind.DEPARTMENT,)),
        ]
    )

    sales, forfeits = build(
        [fact("deposit_forfeited", "revenue", "30.00"), fact("shipment", "revenue", "99.00")], mapping=mapping
    )

    assert entries(forfeits)[1] == ("6051", "0.00", "30.00")
    assert [(a.label, a.code) for a in sales.lines[1].auxiliary] == [("部门", "TM-1")]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ([r for r in DEFAULT_RULES if r.role != AccountRole.INVENTORY], "inventory"),
        ([*DEFAULT_RULES, DEFAULT_RULES[0]], "Two rules"),
    ],
)
def test_a_mapping_without_a_catch_all_for_a_role_or_with_duplicates_is_refused(rules, message):
    with pytest.raises(InvalidRequest, match=message):
        ChartMapping(rules)


@pytest.mark.parametrize(("code", "channel"), [("", ""), ("1012 01", ""), ("1012.01", "paypal"), ("x" * 41, "")])
def test_a_rule_with_a_bad_code_or_unknown_channel_is_refused(code, channel):
    with pytest.raises(InvalidRequest):
        rule(AccountRole.CHANNEL_MONEY, code, "其他货币资金", channel=channel)


def line(debit="0.00", credit="0.00"):
    return VoucherLine("摘要", "1002", "银行存款", debit=D(debit), credit=D(credit))


@pytest.mark.parametrize(
    ("lines", "error"),
    [
        ([line(debit="10.00"), line(credit="9.99")], UnbalancedVoucher),
        ([line(debit="10.00")], InvalidRequest),
        ([line(debit="10.00", credit="10.00"), line(credit="0.00")], InvalidRequest),
        ([line(debit="10.001"), line(credit="10.001")], InvalidRequest),
        ([line(debit="-5.00"), line(credit="-5.00")], InvalidRequest),
    ],
)
def test_a_voucher_that_does_not_balance_or_has_a_malformed_line_cannot_be_made(lines, error):
    with pytest.raises(error):
        Voucher(date=DAY, number=1, lines=tuple(lines), attachments=1, preparer="p", source_key="k")


def test_a_fact_kind_without_a_treatment_is_refused_rather_than_left_out():
    with pytest.raises(InvalidRequest, match="gift_card"):
        build([fact("gift_card", "amount", "5.00", "alipay")])


# --- properties ---------------------------------------------------------------------------------------------------

amounts = st.integers(min_value=-(10**9), max_value=10**9).map(lambda fen: (D(fen) / 100).quantize(D("0.01")))
facts = st.lists(
    st.tuples(
        st.sampled_from(["TM-1", "DY-1"]),
        st.sampled_from([date(2026, 10, 31), date(2026, 11, 1)]),
        st.sampled_from(sorted(SCHEME)),
        amounts,
        st.sampled_from(["alipay", "wechat", "bank", "douyin"]),
    ).map(lambda t: FactTotal(t[0], t[1], t[2][0], t[2][1], t[3], 1, channel=t[4] if t[2][1] == "amount" else "")),
    max_size=30,
)


def _unique(totals: list[FactTotal]) -> list[FactTotal]:
    """Sum duplicates, as the GROUP BY would."""
    summed: dict[tuple, FactTotal] = {}
    for t in totals:
        key = (t.shop, t.day, t.kind, t.part, t.channel)
        old = summed.get(key)
        summed[key] = t if old is None else FactTotal(*key[:4], old.amount + t.amount, old.count + 1, channel=t.channel)
    return list(summed.values())


def _net_by_account(vouchers: list[Voucher]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for v in vouchers:
        for entry in v.lines:
            net[entry.account_code] += entry.debit - entry.credit
    return {code: amount for code, amount in net.items() if amount}


@given(facts)
def test_every_built_voucher_balances(totals):
    for voucher in build(_unique(totals)):
        assert voucher.total_debit == voucher.total_credit
        assert sum(line.debit for line in voucher.lines) == sum(line.credit for line in voucher.lines)


@given(facts, facts)
def test_a_day_booked_then_supplemented_nets_to_the_same_balances_as_booking_it_all_at_once(early, late):
    early_totals = _unique(early)
    first = build(early_totals)
    booked = {v.source_key: Booked(dict(v.basis), v.attachments, v.sequence) for v in first}
    everything = _unique(early + late)

    supplements = build(everything, booked=booked)

    assert _net_by_account(first + supplements) == _net_by_account(build(everything))
    assert all(v.sequence == 1 for v in supplements if v.source_key in booked)


def test_source_keys_name_shop_day_and_business_type():
    assert source_key("TM-1", DAY, BusinessType.FEES) == "TM-1/2026-10-31/fees"
