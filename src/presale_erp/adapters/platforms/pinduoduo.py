"""Pinduoduo (`order_info` / `order_sn_list[]` of pdd.order.number.list.increment.get and information.get)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from presale_erp.adapters.platforms.fields import Fields, status_from
from presale_erp.domain.catalog import Platform
from presale_erp.domain.orders import Address, Buyer, OrderLine, PlatformOrder, PlatformStatus, PresaleType

S = PlatformStatus
SHIPPING = {1: S.PAID, 2: S.SHIPPED, 3: S.COMPLETED}
CANCELLED, NOT_CONFIRMED, GROUPING, UNDER_RISK_REVIEW, REFUNDED = 2, 0, 0, 1, 4
DEPOSIT_ORDER = 1
STEP_DEPOSIT_PAID, STEP_ALL_PAID = 1, 2
AFTER_SALES_OPEN = {2, 3, 4, 5, 7, 8}  # waiting for merchant/buyer/platform, refunding (doc 3.2)


def _status(order: Fields, step_state: int | None) -> PlatformStatus:
    """The documented order of checks, first match wins; a refund overlays whatever came before."""
    tags = (
        {tag.text("name", required=False) for tag in order.children("order_tag_list")}
        if order.has("order_tag_list")
        else set()
    )
    if order.integer("confirm_status", required=False) == CANCELLED:
        status = S.CANCELLED
    elif step_state == STEP_DEPOSIT_PAID:
        status = S.DEPOSIT_PAID
    elif order.integer("confirm_status", required=False) == NOT_CONFIRMED:
        status = S.AWAITING_PAYMENT
    elif _held(order, tags):
        status = S.HOLD
    else:
        status = status_from(SHIPPING, order.integer("order_status"), "order_status")
    return S.REFUNDED if order.integer("refund_status", required=False) == REFUNDED else status


def _held(order: Fields, tags: set[str]) -> bool:
    """The group is not formed yet, risk control is reviewing it, or shipping is paused: do not ship."""
    return (
        order.integer("group_status", required=False, default=1) == GROUPING
        or order.integer("risk_control_status", required=False) == UNDER_RISK_REVIEW
        or "ship_hold" in tags
    )


def parse_order(payload: dict[str, Any]) -> PlatformOrder:
    order = Fields(payload)
    deposit_order = order.integer("trade_type", required=False) == DEPOSIT_ORDER
    step = order.child("step_order_info", required=False) if deposit_order else None
    step_state = step.integer("step_trade_status", required=False) if step else None
    status = _status(order, step_state)
    presale_items = order.integer("is_pre_sale", required=False) == 1
    planned = order.china_time("pre_sale_time", required=False) if presale_items else None
    total = order.yuan("pay_amount")
    deposit = step.yuan("advanced_paid_fee", required=False) if step else Decimal("0.00")
    paid = (
        step.yuan("step_paid_fee", required=False)
        if step
        else (Decimal("0.00") if status in (S.AWAITING_PAYMENT, S.CANCELLED) else total)
    )
    refund_open = (
        order.integer("refund_status", required=False) in (2, 3)
        or order.integer("after_sales_status", required=False) in AFTER_SALES_OPEN
    )
    lines = [
        replace(line, refund_requested=refund_open) for line in _lines(order, presale_items or deposit_order, planned)
    ]
    return PlatformOrder(
        platform=Platform.PINDUODUO,
        platform_order_id=order.text("order_sn"),
        status=status,
        platform_status=f"order_status={order.raw('order_status', required=False)},"
        f"confirm_status={order.raw('confirm_status', required=False)},"
        f"refund_status={order.raw('refund_status', required=False)}",
        modified_at=order.china_time("updated_at"),
        created_at=order.china_time("created_time"),
        paid_at=order.china_time("pay_time", required=False),
        total_amount=total,
        paid_amount=paid,
        postage=order.yuan("postage", required=False),
        buyer=Buyer(
            platform_buyer_id=order.text("open_address_id", required=False),
            name=order.text("receiver_name", required=False) or order.text("receiver_name_mask", required=False),
            phone=order.text("receiver_phone", required=False) or order.text("receiver_phone_mask", required=False),
            address=Address(
                province=order.text("province", required=False),
                city=order.text("city", required=False),
                district=order.text("town", required=False),
                street=order.text("receiver_address", required=False)
                or order.text("address", required=False)
                or order.text("receiver_address_mask", required=False),
            ),
        ),
        lines=lines,
        presale_type=PresaleType.DEPOSIT
        if deposit_order
        else (PresaleType.FULL_PAYMENT if presale_items else PresaleType.NONE),
        deposit_amount=deposit,
        balance_amount=total - deposit if deposit_order else Decimal("0.00"),
        balance_paid=step_state == STEP_ALL_PAID,
        latest_ship_at=order.china_time("last_ship_time", required=False),
        buyer_remark=order.text("buyer_memo", required=False),
        seller_remark=order.text("remark", required=False),
    )


def _lines(order: Fields, presale: bool, planned) -> list[OrderLine]:
    """item_list, then gift_list (gifts have the same shape; they ship, so they are lines too)."""
    lines = []
    seen: dict[str, int] = {}
    items = order.children("item_list") + (order.children("gift_list") if order.has("gift_list") else [])
    for item in items:
        sku_id = item.text("sku_id")
        seen[sku_id] = seen.get(sku_id, 0) + 1
        quantity = item.integer("goods_count")
        price = item.yuan("goods_price", required=False)
        lines.append(
            OrderLine(
                # PDD has no line id; the same SKU twice in one order gets a suffix so each line stays distinct.
                line_key=sku_id if seen[sku_id] == 1 else f"{sku_id}#{seen[sku_id]}",
                platform_sku_id=sku_id,
                sku_code=item.text("outer_id", required=False) or None,
                title=item.text("goods_name", required=False),
                quantity=quantity,
                unit_price=price,
                paid_amount=price * quantity,
                presale=presale,
                planned_ship_at=planned,
            )
        )
    return lines
