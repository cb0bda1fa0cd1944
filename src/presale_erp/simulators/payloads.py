"""Order payloads in each platform's own format (field names, enums, money units and time formats as in
../shared/formats/platform_orders.md), built from one simple description of an order. The simulators serve
these; tests and benchmarks use them to exercise the real adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class SimLine:
    sku_code: str
    quantity: int
    unit_price: Decimal
    platform_sku_id: str = "1000001"


@dataclass(frozen=True)
class SimOrder:
    """stage: unpaid | deposit | paid | shipped | completed | cancelled | refunded | balance_lapsed"""

    order_id: str
    stage: str
    created: datetime
    modified: datetime
    lines: list[SimLine]
    presale: str = "none"  # none | deposit | full_payment | stepped
    deposit: Decimal = Decimal("0.00")
    ship_by: datetime | None = None
    buyer_id: str = "buyer-1"
    name: str = "张三"
    phone: str = "13800138000"
    province: str = "浙江省"
    city: str = "杭州市"
    district: str = "西湖区"
    street: str = "文三路 90 号 2 幢 301"
    buyer_remark: str = ""
    seller_remark: str = ""
    postage: Decimal = Decimal("0.00")
    extra: dict[str, Any] = field(default_factory=dict)
    extra_balance_due: datetime | None = None  # Douyin's phase 2 close time; default three days after ordering

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.lines), Decimal("0.00")) + self.postage


def _cn(moment: datetime | None) -> str | None:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def _unix(moment: datetime | None) -> int:
    return int(moment.timestamp()) if moment else 0


def _fen(amount: Decimal) -> int:
    return int(amount * 100)


def _paid(order: SimOrder) -> Decimal:
    if order.stage in ("unpaid", "cancelled"):
        return Decimal("0.00")
    if order.stage in ("deposit", "balance_lapsed"):
        return order.deposit
    return order.total


def taobao(order: SimOrder) -> dict[str, Any]:
    step = order.presale == "deposit"
    status = {
        "unpaid": "WAIT_BUYER_PAY",
        "deposit": "WAIT_BUYER_PAY",
        "paid": "WAIT_SELLER_SEND_GOODS",
        "shipped": "WAIT_BUYER_CONFIRM_GOODS",
        "completed": "TRADE_FINISHED",
        "cancelled": "TRADE_CLOSED_BY_TAOBAO",
        "refunded": "TRADE_CLOSED",
        "balance_lapsed": "TRADE_CLOSED",
    }[order.stage]
    trade: dict[str, Any] = {
        "tid": int(order.order_id),
        "tid_str": order.order_id,
        "status": status,
        "type": "step" if step else "fixed",
        "created": _cn(order.created),
        "modified": _cn(order.modified),
        "pay_time": _cn(order.created + timedelta(minutes=1)) if _paid(order) else None,
        "payment": f"{order.total:.2f}",
        "post_fee": f"{order.postage:.2f}",
        "buyer_open_uid": order.buyer_id,
        "receiver_name": order.name,
        "receiver_mobile": order.phone,
        "receiver_state": order.province,
        "receiver_city": order.city,
        "receiver_district": order.district,
        "receiver_address": order.street,
        "buyer_message": order.buyer_remark,
        "seller_memo": order.seller_remark,
        "send_time": _cn(order.ship_by),
        "orders": {
            "order": [
                {
                    "oid_str": f"{order.order_id}{i}",
                    "oid": int(f"{order.order_id}{i}"),
                    "sku_id": line.platform_sku_id,
                    "outer_sku_id": line.sku_code,
                    "title": line.sku_code,
                    "num": line.quantity,
                    "price": f"{line.unit_price:.2f}",
                    "divide_order_fee": f"{line.unit_price * line.quantity:.2f}",
                    "estimate_con_time": _cn(order.ship_by) if order.presale != "none" else None,
                    "refund_status": "SUCCESS" if order.stage == "refunded" else "NO_REFUND",
                }
                for i, line in enumerate(order.lines, start=1)
            ]
        },
    }
    if step:
        trade["step_trade_status"] = {
            "unpaid": "FRONT_NOPAID_FINAL_NOPAID",
            "deposit": "FRONT_PAID_FINAL_NOPAID",
            "balance_lapsed": "FRONT_PAID_FRONT_FORFEITED",
            "cancelled": "FRONT_NOPAID_FINAL_NOPAID",
        }.get(order.stage, "FRONT_PAID_FINAL_PAID")
        trade["step_paid_fee"] = f"{_paid(order):.2f}"
        trade["step_pay_details"] = {
            "step_pay_detail": [{"step_no": 1, "pay_status": "PAID", "step_actual_pay_fee": f"{order.deposit:.2f}"}]
        }
    return trade | order.extra


def jd(order: SimOrder) -> dict[str, Any]:
    status = {
        "paid": "WAIT_SELLER_STOCK_OUT",
        "shipped": "WAIT_GOODS_RECEIVE_CONFIRM",
        "completed": "FINISHED_L",
        "cancelled": "TRADE_CANCELED",
        "refunded": "TRADE_CANCELED",
        "unpaid": "LOCKED",
        "deposit": "LOCKED",
        "balance_lapsed": "TRADE_CANCELED",
    }[order.stage]
    return {
        "orderId": order.order_id,
        "venderId": "10086",
        "orderState": status,
        "payType": 4,
        "orderStartTime": _cn(order.created),
        "modified": _cn(order.modified),
        "paymentConfirmTime": _cn(order.created + timedelta(minutes=1)) if _paid(order) else "0001-01-01 00:00:00",
        "orderTotalPrice": f"{order.total - order.postage:.2f}",
        "orderPayment": f"{order.total:.2f}",
        "freightPrice": f"{order.postage:.2f}",
        "open_id_buyer": order.buyer_id,
        "consigneeInfo": {
            "fullname": order.name,
            "mobile": order.phone,
            "desen_mobile": order.phone[:3] + "****",
            "province": order.province,
            "city": order.city,
            "county": order.district,
            "fullAddress": order.street,
        },
        "orderRemark": order.buyer_remark,
        "venderRemark": order.seller_remark,
        "scDT": _cn(order.ship_by),
        "itemInfoList": [
            {
                "skuId": str(int(line.platform_sku_id) + i),
                "outerSkuId": line.sku_code,
                "skuName": line.sku_code,
                "itemTotal": str(line.quantity),
                "jdPrice": f"{line.unit_price:.2f}",
            }
            for i, line in enumerate(order.lines)
        ],
    } | order.extra


def pinduoduo(order: SimOrder) -> dict[str, Any]:
    deposit = order.presale == "deposit"
    payload: dict[str, Any] = {
        "order_sn": order.order_id,
        "order_status": {"shipped": 2, "completed": 3}.get(order.stage, 1),
        "confirm_status": {"unpaid": 0, "cancelled": 2, "balance_lapsed": 2, "deposit": 0}.get(order.stage, 1),
        "group_status": 1,
        "refund_status": 4 if order.stage == "refunded" else 1,
        "risk_control_status": 0,
        "trade_type": 1 if deposit else 0,
        "is_pre_sale": 1 if order.presale != "none" else 0,
        "pre_sale_time": _cn(order.ship_by) if order.presale != "none" else "",
        "created_time": _cn(order.created),
        "updated_at": _cn(order.modified),
        "pay_time": _cn(order.created + timedelta(minutes=1)) if _paid(order) else "",
        "pay_amount": float(order.total),
        "postage": float(order.postage),
        "goods_amount": float(order.total),
        "receiver_name": order.name,
        "receiver_phone": order.phone,
        "receiver_address": order.street,
        "province": order.province,
        "city": order.city,
        "town": order.district,
        "buyer_memo": order.buyer_remark,
        "remark": order.seller_remark,
        "last_ship_time": _cn(order.ship_by) or "",
        "item_list": [
            {
                "sku_id": int(line.platform_sku_id) + i,
                "outer_id": line.sku_code,
                "goods_name": line.sku_code,
                "goods_count": line.quantity,
                "goods_price": float(line.unit_price),
            }
            for i, line in enumerate(order.lines)
        ],
    }
    if deposit:
        payload["step_order_info"] = {
            "step_trade_status": {"unpaid": 0, "deposit": 1, "balance_lapsed": 1, "cancelled": 0}.get(order.stage, 2),
            "advanced_paid_fee": float(order.deposit),
            "step_paid_fee": float(_paid(order)),
        }
    return payload | order.extra


def douyin(order: SimOrder) -> dict[str, Any]:
    status = {
        "unpaid": 1,
        "deposit": 1,
        "paid": 2,
        "shipped": 3,
        "completed": 5,
        "cancelled": 4,
        "refunded": 4,
        "balance_lapsed": 4,
    }[order.stage]
    main = {"deposit": 103, "refunded": 21}.get(order.stage, status)
    trade_type = 2 if order.presale == "deposit" else 0
    pre_sale_type = {"full_payment": 1, "stepped": 2}.get(order.presale, 0)
    payload: dict[str, Any] = {
        "order_id": order.order_id,
        "shop_id": 4410923,
        "order_status": status,
        "main_status": main,
        "create_time": _unix(order.created),
        "update_time": _unix(order.modified),
        "pay_time": _unix(order.created + timedelta(minutes=1)) if _paid(order) else 0,
        "order_amount": _fen(order.total),
        "pay_amount": _fen(_paid(order) if order.presale == "deposit" else order.total),
        "post_amount": _fen(order.postage),
        "pay_type": 1,
        "doudian_open_id": order.buyer_id,
        "encrypt_post_receiver": order.name,
        "encrypt_post_tel": order.phone,
        "mask_post_receiver": order.name[:1] + "**",
        "mask_post_tel": order.phone[:3] + "****",
        "post_addr": {
            "province": {"name": order.province, "id": "33"},
            "city": {"name": order.city, "id": "3301"},
            "town": {"name": order.district, "id": "330106"},
            "street": {"name": "", "id": ""},
            "encrypt_detail": order.street,
        },
        "buyer_words": order.buyer_remark,
        "seller_words": order.seller_remark,
        "exp_ship_time": _unix(order.ship_by),
        "sku_order_list": [
            {
                "order_id": f"{order.order_id}{i}",
                "parent_order_id": order.order_id,
                "sku_id": line.platform_sku_id,
                "out_sku_id": line.sku_code,
                "product_name": line.sku_code,
                "item_num": line.quantity,
                "origin_amount": _fen(line.unit_price),
                "pay_amount": _fen(line.unit_price * line.quantity),
                "trade_type": trade_type,
                "pre_sale_type": pre_sale_type,
                "exp_ship_time": _unix(order.ship_by),
                "after_sale_info": {"refund_status": 3 if order.stage == "refunded" else 0},
            }
            for i, line in enumerate(order.lines, start=1)
        ],
    }
    if order.presale == "deposit":
        payload["order_phase_list"] = [
            {"current_phase": 1, "phase_pay_amount": _fen(order.deposit), "pay_success": order.stage != "unpaid"},
            {
                "current_phase": 2,
                "phase_pay_amount": _fen(order.total - order.deposit),
                "pay_success": order.stage in ("paid", "shipped", "completed", "refunded"),
                "phase_close_time": _unix(order.extra_balance_due or order.created + timedelta(days=3)),
            },
        ]
    return payload | order.extra


def shopify(order: SimOrder) -> dict[str, Any]:
    financial = {
        "unpaid": "pending",
        "deposit": "partially_paid",
        "paid": "paid",
        "shipped": "paid",
        "completed": "paid",
        "cancelled": "voided",
        "refunded": "refunded",
        "balance_lapsed": "voided",
    }[order.stage]
    offset = timezone(timedelta(hours=-5))
    outstanding = order.total - _paid(order) if order.stage == "deposit" else Decimal("0.00")
    return {
        "id": int(order.order_id),
        "name": f"#{order.order_id[-4:]}",
        "financial_status": financial,
        "fulfillment_status": {"shipped": "fulfilled", "completed": "fulfilled"}.get(order.stage),
        "created_at": order.created.astimezone(offset).isoformat(),
        "updated_at": order.modified.astimezone(offset).isoformat(),
        "processed_at": order.created.astimezone(offset).isoformat(),
        "closed_at": order.modified.astimezone(offset).isoformat() if order.stage == "completed" else None,
        "cancelled_at": order.modified.astimezone(offset).isoformat()
        if order.stage in ("cancelled", "balance_lapsed", "refunded")
        else None,
        "currency": "CNY",
        "current_total_price": f"{order.total:.2f}",
        "total_price": f"{order.total:.2f}",
        "total_outstanding": f"{outstanding:.2f}",
        "payment_terms": {"payment_terms_type": "fulfillment"} if order.presale == "deposit" else None,
        "tags": ", ".join(["pre-order"] if order.presale != "none" else []),
        "note": order.buyer_remark or None,
        "customer": {"id": abs(hash(order.buyer_id)) % 10**12},
        "phone": None,
        "shipping_address": {
            "name": order.name,
            "phone": order.phone,
            "province": order.province,
            "city": order.city,
            "address1": order.street,
            "address2": order.district,
            "country_code": "CN",
        },
        "shipping_lines": [{"title": "Standard", "price": f"{order.postage:.2f}"}],
        "line_items": [
            {
                "id": int(f"{order.order_id}{i}"),
                "variant_id": int(line.platform_sku_id) + i,
                "sku": line.sku_code,
                "title": line.sku_code,
                "quantity": line.quantity,
                "price": f"{line.unit_price:.2f}",
                "total_discount": "0.00",
                "properties": [],
            }
            for i, line in enumerate(order.lines, start=1)
        ],
    } | order.extra


BUILDERS = {"taobao": taobao, "tmall": taobao, "jd": jd, "pinduoduo": pinduoduo, "douyin": douyin, "shopify": shopify}


def sample(order_id: str = "1234567890123456", **changes: Any) -> SimOrder:
    base = {
        "order_id": order_id,
        "stage": "paid",
        "created": datetime(2026, 10, 24, 12, 0, tzinfo=UTC),
        "modified": datetime(2026, 10, 24, 12, 5, tzinfo=UTC),
        "lines": [SimLine("TEA-LJ-250G", 2, Decimal("398.00")), SimLine("TEA-TIN-S", 1, Decimal("99.00"))],
    }
    return SimOrder(**(base | changes))
