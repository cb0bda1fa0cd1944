"""Smart review rules, as cases: an order in, the exception types out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from presale_erp.domain.review.engine import default_settings, review
from presale_erp.domain.review.model import Action, Decision, ReviewContext, ReviewLine, ReviewOrder, SkuHistory

NOW = datetime(2026, 11, 11, 20, 0, tzinfo=UTC)
TEA = 1


def an_order(**changes) -> ReviewOrder:
    base = ReviewOrder(
        id=1,
        shop_id=1,
        total_amount=Decimal("398.00"),
        paid_at=NOW - timedelta(hours=1),
        province="浙江省",
        city="杭州市",
        district="西湖区",
        street="文三路 90 号",
        phone="13800138000",
        buyer_index="b1",
        phone_index="p1",
        address_index="a1",
        buyer_remark="",
        seller_remark="",
        lines=[ReviewLine(TEA, "TEA-LJ-250G", 1, Decimal("398.00"), presale=False)],
    )
    return replace(base, **changes)


def context(**changes) -> ReviewContext:
    ctx = ReviewContext(
        now=NOW,
        sku_unit_cost={TEA: Decimal("168.00")},
        sku_available={TEA: 100},
        sku_history={TEA: SkuHistory(lines=500, mean_quantity=1.2, max_quantity=4)},
    )
    for key, value in changes.items():
        setattr(ctx, key, value)
    return ctx


def hits_of(order: ReviewOrder, ctx: ReviewContext | None = None) -> set[str]:
    return {hit.rule for hit in review(order, ctx or context(), default_settings()).hits}


def test_a_clean_order_is_approved_automatically():
    verdict = review(an_order(), context(), default_settings())

    assert (verdict.decision, verdict.hits, verdict.risk_score) == (Decision.APPROVED, [], 0)


CASES = [
    ("no street", an_order(street=""), "address_incomplete"),
    ("no district", an_order(district=""), "address_incomplete"),
    ("a phone that is no phone", an_order(phone="12345"), "phone_invalid"),
    ("a buyer message", an_order(buyer_remark="请发顺丰"), "remark_present"),
    ("a seller memo", an_order(seller_remark="换成礼盒装"), "remark_present"),
    (
        "thirty tins when buyers take one",
        an_order(lines=[ReviewLine(TEA, "TEA-LJ-250G", 30, Decimal("398.00"), False)]),
        "quantity_outlier",
    ),
    ("a very large order", an_order(total_amount=Decimal("50000.00")), "amount_outlier"),
    (
        "sold below cost",
        an_order(lines=[ReviewLine(TEA, "TEA-LJ-250G", 1, Decimal("9.90"), False)]),
        "price_below_cost",
    ),
    ("paid two minutes ago", an_order(paid_at=NOW - timedelta(minutes=2)), "cooling_off"),
    (
        "a platform code we do not know",
        an_order(lines=[ReviewLine(None, "XX-1", 1, Decimal("1.00"), False)]),
        "unmatched_sku",
    ),
    (
        "more than the shelf holds",
        an_order(lines=[ReviewLine(TEA, "TEA-LJ-250G", 3, Decimal("398.00"), False)]),
        "insufficient_stock",
    ),
]


@pytest.mark.parametrize(("order", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule_holds_what_it_is_for(order: ReviewOrder, rule: str):
    ctx = context(sku_available={TEA: 2}) if rule == "insufficient_stock" else context()

    verdict = review(order, ctx, default_settings())

    assert rule in {hit.rule for hit in verdict.hits}
    assert verdict.decision is Decision.HELD


def test_a_presale_line_is_not_short_of_stock_it_was_never_meant_to_have_yet():
    order = an_order(lines=[ReviewLine(TEA, "TEA-LJ-250G", 3, Decimal("398.00"), presale=True)])

    assert "insufficient_stock" not in hits_of(order, context(sku_available={TEA: 0}))


@pytest.mark.parametrize("kind", ["blacklisted_buyers", "blacklisted_phones", "blacklisted_addresses"])
def test_a_blacklisted_buyer_phone_or_address_is_rejected(kind: str):
    verdict = review(an_order(), context(**{kind: {"b1", "p1", "a1"}}), default_settings())

    assert verdict.decision is Decision.REJECTED
    assert verdict.hits[0].rule == "blacklisted"


def test_many_orders_to_one_address_look_like_brushing():
    assert "many_orders_one_address" in hits_of(an_order(), context(recent_orders_by_address={"a1": 9}))
    assert "many_orders_one_address" not in hits_of(an_order(), context(recent_orders_by_address={"a1": 2}))


def test_a_buyer_who_refunds_most_orders_is_held():
    assert "high_refund_rate" in hits_of(an_order(), context(buyer_orders={"b1": 6}, buyer_refunds={"b1": 4}))
    assert "high_refund_rate" not in hits_of(an_order(), context(buyer_orders={"b1": 6}, buyer_refunds={"b1": 1}))


def test_a_disabled_rule_says_nothing_and_a_tag_rule_lets_the_order_through():
    settings = [replace(s, enabled=False) if s.code == "remark_present" else s for s in default_settings()]
    tagging = [replace(s, action=Action.TAG) if s.code == "remark_present" else s for s in default_settings()]
    order = an_order(buyer_remark="送人的")

    assert review(order, context(), settings).decision is Decision.APPROVED
    tagged = review(order, context(), tagging)
    assert (tagged.decision, [h.rule for h in tagged.hits]) == (Decision.APPROVED, ["remark_present"])


def test_parameters_change_what_a_rule_accepts():
    strict = [replace(s, params={"max_amount": "300"}) if s.code == "amount_outlier" else s for s in default_settings()]

    assert "amount_outlier" in {h.rule for h in review(an_order(), context(), strict).hits}


def test_the_risk_score_adds_up_every_hit_and_stops_at_100():
    order = an_order(street="", phone="1", buyer_remark="x", total_amount=Decimal("90000.00"))

    verdict = review(order, context(blacklisted_phones={"p1"}), default_settings())

    assert verdict.risk_score == 100
    assert {"blacklisted", "address_incomplete", "phone_invalid", "amount_outlier", "remark_present"} <= {
        h.rule for h in verdict.hits
    }
