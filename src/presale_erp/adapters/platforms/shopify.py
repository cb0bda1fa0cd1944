"""Shopify REST Admin API order JSON. There is no native presale: a deposit order shows as partially_paid
with payment_terms or an outstanding total, and pre-order lines carry a marker property or tag."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from presale_erp.adapters.platforms.fields import Fields, status_from
from presale_erp.domain.catalog import Platform
from presale_erp.domain.orders import (
    Address,
    Buyer,
    MalformedOrder,
    OrderLine,
    PlatformOrder,
    PlatformStatus,
    PresaleType,
)

S = PlatformStatus
FINANCIAL = {
    "pending": S.AWAITING_PAYMENT,
    "authorized": S.AWAITING_PAYMENT,
    "partially_paid": S.DEPOSIT_PAID,
    "paid": S.PAID,
    "partially_refunded": S.PAID,
    "refunded": S.REFUNDED,
    "voided": S.CANCELLED,
}
FULFILMENT = {None: None, "partial": S.PARTLY_SHIPPED, "fulfilled": S.SHIPPED, "restocked": None}
# What pre-order apps and themes put on lines or orders; configurable per shop later.
PREORDER_PROPERTIES = {"_preorder", "preorder", "pre-order", "_pre_order"}
PREORDER_TAGS = {"pre-order", "preorder", "presale", "预售"}


def parse_order(payload: dict[str, Any]) -> PlatformOrder:
    order = Fields(payload)
    if order.raw("test", required=False) is True:
        # A test checkout is not a sale (doc 5.2): kept aside with the reason rather than fulfilled.
        raise MalformedOrder(f"order {order.text('id', required=False)} is a Shopify test order (test=true)")
    financial = order.text("financial_status")
    status = status_from(FINANCIAL, financial, "financial_status")
    shipped = status_from(FULFILMENT, order.raw("fulfillment_status", required=False), "fulfillment_status")
    if shipped and status in (S.PAID, S.DEPOSIT_PAID):
        status = shipped
    if order.has("cancelled_at"):
        status = S.REFUNDED if financial in ("refunded", "partially_refunded") else S.CANCELLED
    elif order.has("closed_at") and status is S.SHIPPED:
        status = S.COMPLETED
    tags = [t.strip() for t in order.text("tags", required=False).split(",") if t.strip()]
    tagged_preorder = any(t.lower() in PREORDER_TAGS for t in tags)
    refunded = _refunded_quantities(order)
    lines = [_line(item, tagged_preorder, refunded) for item in order.children("line_items")]
    total = order.yuan("current_total_price") if order.has("current_total_price") else order.yuan("total_price")
    outstanding = order.yuan("total_outstanding", required=False)
    deposit_order = financial == "partially_paid" and (order.has("payment_terms") or outstanding > 0)
    paid = Decimal("0.00") if status in (S.AWAITING_PAYMENT, S.CANCELLED) else max(total - outstanding, Decimal("0.00"))
    shipping = order.child("shipping_address", required=False)
    customer = order.child("customer", required=False)
    postage = (
        sum((line.yuan("price", required=False) for line in order.children("shipping_lines")), Decimal("0.00"))
        if order.has("shipping_lines")
        else Decimal("0.00")
    )
    return PlatformOrder(
        platform=Platform.SHOPIFY,
        platform_order_id=order.text("id"),
        status=status,
        platform_status=f"{financial}/{order.raw('fulfillment_status', required=False) or 'unfulfilled'}",
        modified_at=order.iso_time("updated_at"),
        created_at=order.iso_time("created_at"),
        paid_at=order.iso_time("processed_at", required=False) if paid else None,
        total_amount=total,
        paid_amount=paid,
        postage=postage,
        buyer=Buyer(
            platform_buyer_id=customer.text("id", required=False),
            name=shipping.text("name", required=False),
            phone=shipping.text("phone", required=False) or order.text("phone", required=False),
            address=Address(
                province=shipping.text("province", required=False),
                city=shipping.text("city", required=False),
                district=shipping.text("address2", required=False),
                street=shipping.text("address1", required=False),
            ),
        ),
        lines=lines,
        presale_type=PresaleType.DEPOSIT
        if deposit_order
        else (PresaleType.FULL_PAYMENT if any(line.presale for line in lines) else PresaleType.NONE),
        deposit_amount=paid if deposit_order else Decimal("0.00"),
        balance_amount=outstanding if deposit_order else Decimal("0.00"),
        balance_paid=False,
        buyer_remark=order.text("note", required=False),
        # Tags are the nearest Shopify has to a seller's memo, but the pre-order markers are for machines.
        seller_remark=", ".join(t for t in tags if t.lower() not in PREORDER_TAGS),
        tags=tags,
    )


def _refunded_quantities(order: Fields) -> dict[str, int]:
    """Shopify has no per-line refund status: add up refunds[].refund_line_items by line item (doc 5.2)."""
    refunded: dict[str, int] = {}
    if not order.has("refunds"):
        return refunded
    for refund in order.children("refunds"):
        if not refund.has("refund_line_items"):
            continue
        for item in refund.children("refund_line_items"):
            line_id = item.text("line_item_id")
            refunded[line_id] = refunded.get(line_id, 0) + item.integer("quantity")
    return refunded


def _line(item: Fields, tagged_preorder: bool, refunded: dict[str, int]) -> OrderLine:
    quantity = item.integer("quantity")
    price = item.yuan("price")
    discount = item.yuan("total_discount", required=False)
    properties = (
        {p.text("name", required=False).lower() for p in item.children("properties")}
        if item.has("properties")
        else set()
    )
    return OrderLine(
        line_key=item.text("id"),
        platform_sku_id=item.text("variant_id", required=False),
        sku_code=item.text("sku", required=False) or None,
        title=item.text("title", required=False),
        quantity=quantity,
        unit_price=price,
        paid_amount=max(price * quantity - discount, Decimal("0.00")),
        presale=tagged_preorder or bool(properties & PREORDER_PROPERTIES),
        refunded=refunded.get(item.text("id"), 0) >= quantity,
    )
