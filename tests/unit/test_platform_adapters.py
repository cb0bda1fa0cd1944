"""Every platform's order payload, in its own format, becomes the same canonical order; a broken one is refused
with a reason that names the field."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from presale_erp.adapters.platforms import PARSERS
from presale_erp.domain.catalog import Platform
from presale_erp.domain.orders import MalformedOrder, PlatformStatus, PresaleType
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample

S = PlatformStatus
PLATFORMS = [Platform.TAOBAO, Platform.JD, Platform.PINDUODUO, Platform.DOUYIN, Platform.SHOPIFY]
NEEDS_ID_DIGITS = {Platform.SHOPIFY, Platform.TAOBAO}


def parse(platform: Platform, order: payloads.SimOrder):
    return PARSERS[platform](payloads.BUILDERS[platform.value](order))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_paid_spot_order_reads_the_same_on_every_platform(platform: Platform):
    order = parse(platform, sample())

    assert order.platform_order_id == "1234567890123456"
    assert order.status is S.PAID
    assert (order.total_amount, order.paid_amount) == (Decimal("895.00"), Decimal("895.00"))
    assert [(line.sku_code, line.quantity, line.unit_price) for line in order.lines] == [
        ("TEA-LJ-250G", 2, Decimal("398.00")),
        ("TEA-TIN-S", 1, Decimal("99.00")),
    ]
    assert order.modified_at == datetime(2026, 10, 24, 12, 5, tzinfo=UTC)
    assert order.buyer.address.province == "浙江省" and order.buyer.address.complete
    assert order.presale_type is PresaleType.NONE


STAGES = [
    ("unpaid", S.AWAITING_PAYMENT),
    ("paid", S.PAID),
    ("shipped", S.SHIPPED),
    ("completed", S.COMPLETED),
    ("cancelled", S.CANCELLED),
    ("refunded", S.REFUNDED),
]
# JD never returns unpaid online orders; the simulator shows them LOCKED (a hold), as JD does for pending refunds.
# A JD refund lives in the after-sales API; the order itself just shows TRADE_CANCELED.
EXPECTED = {(Platform.JD, "unpaid"): S.HOLD, (Platform.JD, "refunded"): S.CANCELLED}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("stage", "status"), STAGES)
def test_each_platform_status_maps_to_its_canonical_state(platform: Platform, stage: str, status: PlatformStatus):
    assert parse(platform, sample(stage=stage)).status is EXPECTED.get((platform, stage), status)


DEPOSIT_PLATFORMS = [Platform.TAOBAO, Platform.PINDUODUO, Platform.DOUYIN, Platform.SHOPIFY]


@pytest.mark.parametrize("platform", DEPOSIT_PLATFORMS)
def test_a_deposit_presale_waits_for_its_balance(platform: Platform):
    order = parse(
        platform,
        sample(
            stage="deposit",
            presale="deposit",
            deposit=Decimal("50.00"),
            lines=[SimLine("TEA-LJ-250G", 1, Decimal("398.00"))],
        ),
    )

    assert order.status is S.DEPOSIT_PAID and order.awaiting_balance
    assert order.presale_type is PresaleType.DEPOSIT
    assert (order.deposit_amount, order.paid_amount, order.balance_amount) == (
        Decimal("50.00"),
        Decimal("50.00"),
        Decimal("348.00"),
    )


@pytest.mark.parametrize("platform", [Platform.TAOBAO, Platform.PINDUODUO, Platform.DOUYIN])
def test_a_deposit_presale_with_its_balance_paid_is_ready_to_ship(platform: Platform):
    order = parse(platform, sample(stage="paid", presale="deposit", deposit=Decimal("50.00")))

    assert (order.status, order.balance_paid, order.awaiting_balance) == (S.PAID, True, False)
    assert all(line.presale for line in order.lines)


@pytest.mark.parametrize("platform", [Platform.TAOBAO, Platform.PINDUODUO])
def test_a_balance_never_paid_closes_the_order(platform: Platform):
    order = parse(platform, sample(stage="balance_lapsed", presale="deposit", deposit=Decimal("50.00")))

    assert order.status is S.CANCELLED


@pytest.mark.parametrize(
    ("presale", "kind"), [("full_payment", PresaleType.FULL_PAYMENT), ("stepped", PresaleType.STEPPED)]
)
def test_douyin_full_payment_and_stepped_shipping_presales(presale: str, kind: PresaleType):
    ship_by = datetime(2026, 11, 20, tzinfo=UTC)
    order = parse(Platform.DOUYIN, sample(presale=presale, ship_by=ship_by))

    assert order.presale_type is kind
    assert order.lines[0].planned_ship_at == ship_by


def test_taobao_lists_arrive_wrapped_or_plain():
    wrapped = payloads.taobao(sample())
    plain = wrapped | {"orders": wrapped["orders"]["order"]}

    assert PARSERS[Platform.TAOBAO](plain).lines == PARSERS[Platform.TAOBAO](wrapped).lines


def test_pinduoduo_money_as_json_numbers_keeps_every_fen():
    order = parse(Platform.PINDUODUO, sample(lines=[SimLine("A", 3, Decimal("33.30"))]))

    assert order.total_amount == Decimal("99.90")


def test_jd_unset_times_are_read_as_not_set():
    order = parse(Platform.JD, sample(stage="cancelled"))

    assert order.paid_at is None


def test_pinduoduo_risk_review_holds_the_order():
    order = parse(Platform.PINDUODUO, sample(extra={"risk_control_status": 1}))

    assert order.status is S.HOLD


def test_remarks_come_through():
    order = parse(Platform.TAOBAO, sample(buyer_remark="请周五前发货", seller_remark="VIP"))

    assert (order.buyer_remark, order.seller_remark) == ("请周五前发货", "VIP")


MALFORMED = [
    (Platform.TAOBAO, {"status": None}, "status is missing"),
    (Platform.TAOBAO, {"status": "DANCING"}, "status has an unknown value 'DANCING'"),
    (Platform.TAOBAO, {"payment": "12.345"}, "payment has fractions of a fen"),
    (Platform.TAOBAO, {"modified": "yesterday"}, "modified should be 'yyyy-MM-dd HH:mm:ss'"),
    (Platform.TAOBAO, {"orders": {"order": []}}, "has no lines"),
    (Platform.JD, {"orderPayment": "abc"}, "orderPayment should be an amount in yuan"),
    (
        Platform.JD,
        {"itemInfoList": [{"skuId": "1", "itemTotal": "0", "jdPrice": "1.00"}]},
        "quantity must be at least 1",
    ),
    (Platform.PINDUODUO, {"order_sn": None}, "order_sn is missing"),
    (Platform.PINDUODUO, {"item_list": "nope"}, "item_list should be a list"),
    (Platform.DOUYIN, {"pay_amount": "199.00"}, "pay_amount should be whole fen"),
    (Platform.DOUYIN, {"update_time": -5}, "update_time is not a time"),
    (Platform.SHOPIFY, {"updated_at": "2025-01-15T10:20:30"}, "updated_at has no time zone"),
    (Platform.SHOPIFY, {"test": True}, "is a Shopify test order"),
    (Platform.SHOPIFY, {"line_items": [{"id": 1, "quantity": "two", "price": "1.00"}]}, "line_items[0].quantity"),
]


@pytest.mark.parametrize(("platform", "change", "reason"), MALFORMED, ids=[f"{p.value}: {r}" for p, _, r in MALFORMED])
def test_a_malformed_payload_is_refused_with_a_reason_naming_the_field(platform: Platform, change: dict, reason: str):
    payload = payloads.BUILDERS[platform.value](sample()) | change

    with pytest.raises(MalformedOrder) as refused:
        PARSERS[platform](payload)

    assert reason in refused.value.detail


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_payload_that_is_not_an_object_is_refused(platform: Platform):
    with pytest.raises(MalformedOrder, match="should be a JSON object"):
        PARSERS[platform]([1, 2, 3])  # type: ignore[arg-type]


T = PlatformStatus
TRANSITIONS = [
    (T.DEPOSIT_PAID, T.PAID, True),
    (T.DEPOSIT_PAID, T.SHIPPED, True),  # the paid version was never seen: forward is fine
    (T.AWAITING_PAYMENT, T.CANCELLED, True),
    (T.PAID, T.HOLD, True),
    (T.HOLD, T.PAID, True),
    (T.COMPLETED, T.REFUNDED, True),
    (T.SHIPPED, T.PAID, False),
    (T.SHIPPED, T.AWAITING_PAYMENT, False),
    (T.CANCELLED, T.PAID, False),
    (T.REFUNDED, T.SHIPPED, False),
    (T.COMPLETED, T.CANCELLED, False),
    (T.SHIPPED, T.HOLD, False),
]


@pytest.mark.parametrize(("before", "after", "allowed"), TRANSITIONS, ids=[f"{a}->{b}" for a, b, _ in TRANSITIONS])
def test_which_status_changes_a_newer_version_may_bring(before, after, allowed):
    from presale_erp.domain.orders import transition_allowed

    assert transition_allowed(before, after) is allowed


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"buyer_message": "hi\ud800"}, "cannot be stored"),
        ({"seller_memo": "a\u0000b"}, "cannot be stored"),
        ({"payment": "99999999999999999999.00"}, "not a plausible amount"),
        ({"orders": {"order": [{"oid_str": "1", "num": 10**19, "price": "1.00"}]}}, "out of range"),
    ],
)
def test_values_a_database_cannot_hold_refuse_the_order_not_the_batch(change, reason):
    with pytest.raises(MalformedOrder, match=reason):
        PARSERS[Platform.TAOBAO](payloads.taobao(sample()) | change)


def test_shopify_refunded_line_items_mark_their_lines_refunded():
    body = payloads.shopify(sample("5512345678901"))
    first_line = body["line_items"][0]
    body["refunds"] = [{"refund_line_items": [{"line_item_id": first_line["id"], "quantity": first_line["quantity"]}]}]

    order = PARSERS[Platform.SHOPIFY](body)

    assert [line.refunded for line in order.lines] == [True, False]


def test_pinduoduo_gifts_are_lines_too():
    body = payloads.pinduoduo(sample()) | {
        "gift_list": [{"sku_id": 42, "outer_id": "GIFT-BAG", "goods_count": 1, "goods_price": 0.0}]
    }

    order = PARSERS[Platform.PINDUODUO](body)

    assert [line.sku_code for line in order.lines][-1] == "GIFT-BAG"


def test_a_douyin_presale_gift_line_ships_with_the_presale_goods():
    body = payloads.douyin(sample(presale="deposit", stage="paid", deposit=Decimal("50.00")))
    body["sku_order_list"][1]["trade_type"] = 102

    order = PARSERS[Platform.DOUYIN](body)

    assert order.lines[1].presale is True
