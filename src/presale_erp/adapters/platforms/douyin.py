"""Douyin shop (抖店) orders: `shop_order_list[]` of order.searchList / `shop_order_detail` of orderDetail.
Money is in fen, times in Unix seconds."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.platforms.fields import Fields, status_from
from presale_erp.domain.catalog import Platform
from presale_erp.domain.orders import Address, Buyer, OrderLine, PlatformOrder, PlatformStatus, PresaleType

S = PlatformStatus
ORDER_STATUS = {
    1: S.AWAITING_PAYMENT,
    105: S.PAID,
    2: S.PAID,
    101: S.PARTLY_SHIPPED,
    3: S.SHIPPED,
    4: S.CANCELLED,
    5: S.COMPLETED,
}
DEPOSIT_PAID_MAIN = 103
REFUNDED_MAIN = {21, 22, 39}
DEPOSIT_TRADE_TYPES = {2, 3}  # 定金预售, 订金找货
PRESALE_GIFT = 102  # 定金预售赠品单: a gift line that ships with the presale goods
PRESALE_TYPES = {0: PresaleType.NONE, 1: PresaleType.FULL_PAYMENT, 2: PresaleType.STEPPED}
COD = 0
REFUND_DONE = 3
AFTER_SALE_OPEN = {6, 7, 11}  # applied, returning, shipped back (doc 4.3)


def parse_order(payload: dict[str, Any]) -> PlatformOrder:
    order = Fields(payload)
    raw_status = order.integer("order_status")
    main_status = order.integer("main_status", required=False, default=raw_status)
    status = status_from(ORDER_STATUS, raw_status, "order_status")
    if main_status == DEPOSIT_PAID_MAIN:
        status = S.DEPOSIT_PAID
    elif main_status in REFUNDED_MAIN:
        status = S.REFUNDED
    children = order.children("sku_order_list")
    lines = [_line(child) for child in children]
    deposit_trade = any(child.integer("trade_type", required=False) in DEPOSIT_TRADE_TYPES for child in children)
    presale_type = PresaleType.DEPOSIT if deposit_trade else _line_presale_type(children)
    deposit, balance_paid, balance_due = _phases(order)
    total = order.fen("order_amount", required=False) if order.has("order_amount") else order.fen("pay_amount")
    paid = order.fen("pay_amount")
    if status is S.DEPOSIT_PAID:
        paid = deposit or paid
    address = order.child("post_addr", required=False)
    return PlatformOrder(
        platform=Platform.DOUYIN,
        platform_order_id=order.text("order_id"),
        status=status,
        platform_status=f"order_status={raw_status},main_status={main_status}",
        modified_at=order.unix_time("update_time"),
        created_at=order.unix_time("create_time"),
        paid_at=order.unix_time("pay_time", required=False),
        total_amount=total,
        paid_amount=Decimal("0.00") if status in (S.AWAITING_PAYMENT, S.CANCELLED) else paid,
        postage=order.fen("post_amount", required=False),
        buyer=Buyer(
            platform_buyer_id=order.text("doudian_open_id", required=False),
            name=order.text("encrypt_post_receiver", required=False)
            or order.text("mask_post_receiver", required=False),
            phone=order.text("encrypt_post_tel", required=False) or order.text("mask_post_tel", required=False),
            address=Address(
                province=_name(address, "province"),
                city=_name(address, "city"),
                district=_name(address, "town"),
                street=" ".join(
                    part
                    for part in (
                        _name(address, "street"),
                        address.text("encrypt_detail", required=False) or address.text("detail", required=False),
                    )
                    if part
                ),
            ),
        ),
        lines=lines,
        presale_type=presale_type,
        deposit_amount=deposit,
        balance_amount=total - deposit if deposit_trade else Decimal("0.00"),
        balance_paid=balance_paid,
        balance_due_at=balance_due,
        latest_ship_at=order.unix_time("exp_ship_time", required=False),
        buyer_remark=order.text("buyer_words", required=False),
        seller_remark=order.text("seller_words", required=False),
        cash_on_delivery=order.integer("pay_type", required=False, default=-1) == COD,
    )


def _name(address: Fields, part: str) -> str:
    if not address.has(part):
        return ""
    value = address.raw(part)
    return (
        Fields(value, f"{address.path}.{part}").text("name", required=False) if isinstance(value, dict) else str(value)
    )


def _line_presale_type(children: list[Fields]) -> PresaleType:
    kinds = {
        status_from(PRESALE_TYPES, c.integer("pre_sale_type", required=False), f"{c.path}.pre_sale_type")
        for c in children
    }
    for kind in (PresaleType.STEPPED, PresaleType.FULL_PAYMENT):
        if kind in kinds:
            return kind
    return PresaleType.NONE


def _phases(order: Fields) -> tuple[Decimal, bool, datetime | None]:
    """Deposit paid in phase 1; the balance is paid when phase 2 says so, and due by phase 2's close time."""
    if not order.has("order_phase_list"):
        return Decimal("0.00"), False, None
    deposit, balance_paid, balance_due = Decimal("0.00"), False, None
    for phase in order.children("order_phase_list"):
        paid = phase.raw("pay_success", required=False) is True
        if phase.integer("current_phase", required=False) == 1 and paid:
            deposit = phase.fen("phase_pay_amount", required=False)
        if phase.integer("current_phase", required=False) == 2:
            balance_paid = paid
            balance_due = phase.unix_time("phase_close_time", required=False)
    return deposit, balance_paid, balance_due


def _line(child: Fields) -> OrderLine:
    quantity = child.integer("item_num")
    presale_type = status_from(
        PRESALE_TYPES, child.integer("pre_sale_type", required=False), f"{child.path}.pre_sale_type"
    )
    after_sale = child.child("after_sale_info", required=False)
    return OrderLine(
        line_key=child.text("order_id"),
        platform_sku_id=child.text("sku_id", required=False),
        sku_code=child.text("out_sku_id", required=False) or child.text("code", required=False) or None,
        title=child.text("product_name", required=False),
        quantity=quantity,
        unit_price=child.fen("origin_amount", required=False),
        paid_amount=child.fen("pay_amount", required=False),
        presale=presale_type is not PresaleType.NONE
        or child.integer("trade_type", required=False) in DEPOSIT_TRADE_TYPES | {PRESALE_GIFT},
        planned_ship_at=child.unix_time("exp_ship_time", required=False),
        refunded=after_sale.integer("refund_status", required=False) == REFUND_DONE,
        refund_requested=after_sale.integer("after_sale_status", required=False) in AFTER_SALE_OPEN,
    )
