"""JD POP orders (`orderInfo` from jingdong.pop.order.enSearch / enGet)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from presale_erp.adapters.platforms.fields import Fields, status_from
from presale_erp.domain.catalog import Platform
from presale_erp.domain.orders import Address, Buyer, OrderLine, PlatformOrder, PlatformStatus

S = PlatformStatus
STATUS = {
    "WAIT_SELLER_STOCK_OUT": S.PAID,
    "WAIT_SELLER_DELIVERY": S.PAID,
    "WAIT_GOODS_RECEIVE_CONFIRM": S.SHIPPED,
    "FINISHED_L": S.COMPLETED,
    "TRADE_CANCELED": S.CANCELLED,
    "LOCKED": S.HOLD,
    "PAUSE": S.HOLD,
    "POP_ORDER_PAUSE": S.HOLD,
    "WAIT_SEND_CODE": S.HOLD,
}
CASH_ON_DELIVERY = 1


def parse_order(payload: dict[str, Any]) -> PlatformOrder:
    order = Fields(payload)
    raw_status = order.text("orderState")
    status = status_from(STATUS, raw_status, "orderState")
    cod = order.integer("payType", required=False) == CASH_ON_DELIVERY
    total = order.yuan("orderPayment")
    consignee = order.child("consigneeInfo", required=False)
    lines = [_line(item) for item in order.children("itemInfoList")]
    return PlatformOrder(
        platform=Platform.JD,
        platform_order_id=order.text("orderId"),
        status=status,
        platform_status=raw_status,
        modified_at=order.china_time("modified"),
        created_at=order.china_time("orderStartTime"),
        paid_at=order.china_time("paymentConfirmTime", required=False),
        total_amount=total,
        # COD orders are "to ship" before anyone has paid; cancelled ones were never charged here.
        paid_amount=Decimal("0.00") if cod or status is S.CANCELLED else total,
        postage=order.yuan("freightPrice", required=False),
        buyer=Buyer(
            platform_buyer_id=order.text("open_id_buyer", required=False)
            or order.text("xid_buyer", required=False)
            or order.text("pin", required=False),
            name=consignee.text("fullname", required=False),
            phone=consignee.text("mobile", required=False) or consignee.text("desen_mobile", required=False),
            address=Address(
                province=consignee.text("province", required=False),
                city=consignee.text("city", required=False),
                district=consignee.text("county", required=False),
                street=consignee.text("fullAddress", required=False),
            ),
        ),
        lines=lines,
        latest_ship_at=order.china_time("scDT", required=False) or order.china_time("promisePickDate", required=False),
        buyer_remark=order.text("orderRemark", required=False),
        seller_remark=order.text("venderRemark", required=False),
        cash_on_delivery=cod,
    )


def _line(item: Fields) -> OrderLine:
    quantity = item.integer("itemTotal")
    price = item.yuan("jdPrice")
    sku_id = item.text("skuId")
    return OrderLine(
        line_key=sku_id,  # JD has no line id; a SKU appears once per order
        platform_sku_id=sku_id,
        sku_code=item.text("outerSkuId", required=False) or None,
        title=item.text("skuName", required=False),
        quantity=quantity,
        unit_price=price,
        paid_amount=price * quantity,  # JD gives no per-line discount here (a separate allocation API does)
    )
