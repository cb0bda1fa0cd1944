"""The review rules. Each is a pure function (order, context, params) -> reasons; an empty list means the
order passes. The rule's action, weight and parameters come from the shop's stored rule set."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from presale_erp.domain.review.credit import CREDIT_RULES
from presale_erp.domain.review.model import Action, ReviewContext, ReviewOrder

Check = Callable[[ReviewOrder, ReviewContext, dict], list[str]]
MOBILE = re.compile(r"^1[3-9]\d{9}$")
MASKED_MOBILE = re.compile(r"^1[3-9]\d\*{4}\d{4}$")  # platforms send 138****0000 when the real one is hidden


def address_incomplete(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    missing = [
        name
        for name, value in (("province", order.province), ("city", order.city), ("street", order.street))
        if not value.strip()
    ]
    if params.get("require_district", True) and not order.district.strip():
        missing.append("district")
    if missing:
        return [f"收货地址不完整: missing {', '.join(missing)}"]
    if len(order.street.strip()) < params.get("min_street_length", 4):
        return [f"收货地址过短: street '{order.street.strip()}'"]
    return []


def phone_invalid(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    phone = re.sub(r"[\s\-]", "", order.phone)
    if not phone:
        return ["收货电话缺失: no phone"]
    if phone.startswith("+86"):
        phone = phone[3:]
    if (
        MOBILE.match(phone)
        or MASKED_MOBILE.match(phone)
        or (params.get("allow_landline", True) and re.fullmatch(r"0\d{2,3}\d{7,8}", phone))
    ):
        return []
    return [f"收货电话无效: '{order.phone}'"]


def remark_present(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    found = []
    if order.buyer_remark.strip() and params.get("buyer", True):
        found.append(f"买家留言: {order.buyer_remark.strip()[:60]}")
    if order.seller_remark.strip() and params.get("seller", True):
        found.append(f"卖家备注: {order.seller_remark.strip()[:60]}")
    return found


def quantity_outlier(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    """Units far beyond what buyers of this SKU usually take (or above a hard cap)."""
    found = []
    for line in order.lines:
        history = ctx.sku_history.get(line.sku_id) if line.sku_id else None
        cap = params.get("max_units", 20)
        if history and history.lines >= params.get("min_history", 30):
            cap = min(cap, max(history.max_quantity, round(history.mean_quantity * params.get("factor", 5))))
        if line.quantity > cap:
            found.append(f"数量异常: {line.sku_code} × {line.quantity}, usual at most {cap}")
    return found


def amount_outlier(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    limit = Decimal(str(params.get("max_amount", "20000")))
    return [f"金额异常: {order.total_amount} above {limit}"] if order.total_amount > limit else []


def blacklisted(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    found = []
    if order.buyer_index and order.buyer_index in ctx.blacklisted_buyers:
        found.append("黑名单: buyer")
    if order.phone_index and order.phone_index in ctx.blacklisted_phones:
        found.append("黑名单: phone")
    if order.address_index and order.address_index in ctx.blacklisted_addresses:
        found.append("黑名单: address")
    return found


def many_orders_one_address(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    """Many orders to one address or phone in a short window: brushing (刷单) or malicious buying (恶意拍单)."""
    limit = params.get("max_orders", 5)
    found = []
    by_address = ctx.recent_orders_by_address.get(order.address_index, 0) if order.address_index else 0
    by_phone = ctx.recent_orders_by_phone.get(order.phone_index, 0) if order.phone_index else 0
    if by_address > limit:
        found.append(f"同地址多单: {by_address} orders to one address in {params.get('window_hours', 24)} h")
    if by_phone > limit:
        found.append(f"同手机多单: {by_phone} orders from one phone in {params.get('window_hours', 24)} h")
    return found


def high_refund_rate(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    orders = ctx.buyer_orders.get(order.buyer_index, 0) if order.buyer_index else 0
    refunds = ctx.buyer_refunds.get(order.buyer_index, 0) if order.buyer_index else 0
    if orders >= params.get("min_orders", 3) and refunds / orders >= params.get("max_rate", 0.5):
        return [f"高退款率买家: {refunds} of {orders} orders refunded"]
    return []


def price_below_cost(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    found = []
    for line in order.lines:
        cost = ctx.sku_unit_cost.get(line.sku_id) if line.sku_id else None
        if cost is not None and line.unit_price < cost:
            found.append(f"价格过低: {line.sku_code} sold at {line.unit_price}, costs {cost}")
    return found


def cooling_off(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    """Wait a few minutes after payment so the buyer's edits and quick refunds land before stock moves."""
    minutes = params.get("minutes", 10)
    if order.paid_at and ctx.now - order.paid_at < timedelta(minutes=minutes):
        return [f"冷静期: paid {int((ctx.now - order.paid_at).total_seconds() // 60)} min ago, wait {minutes} min"]
    return []


def line_count_range(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    lines, units = len(order.lines), sum(line.quantity for line in order.lines)
    found = []
    if not params.get("min_lines", 1) <= lines <= params.get("max_lines", 20):
        found.append(f"商品行数超范围: {lines} lines")
    if not params.get("min_units", 1) <= units <= params.get("max_units", 50):
        found.append(f"商品件数超范围: {units} units")
    return found


def sku_deny_list(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    denied = params.get("skus")
    if not denied:
        return []
    return [f"禁发商品: {line.sku_code}" for line in order.lines if line.sku_code in denied]


def unmatched_sku(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    return [
        f"商品未匹配: platform code '{line.sku_code or '(none)'}' matches no SKU"
        for line in order.lines
        if line.sku_id is None
    ]


def insufficient_stock(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    """Presale lines are booked against the quota; only spot lines need stock to ship now."""
    wanted: dict[int, int] = {}
    for line in order.lines:
        if line.sku_id is not None and not line.presale:
            wanted[line.sku_id] = wanted.get(line.sku_id, 0) + line.quantity
    codes = {line.sku_id: line.sku_code for line in order.lines}
    # Units this order already locked count for it, not against it.
    available = {sku: ctx.sku_available.get(sku, 0) + order.own_locked.get(sku, 0) for sku in wanted}
    return [
        f"缺货: {codes[sku]} wanted {quantity}, {available[sku]} available"
        for sku, quantity in wanted.items()
        if quantity > available[sku]
    ]


def refund_requested(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    return ["用户已申请退款: a refund is open on this order"] if order.refund_requested else []


# code -> (check, default action, default weight, default params, 中文名)
RULES: dict[str, tuple[Check, Action, int, dict, str]] = {
    "blacklisted": (blacklisted, Action.REJECT, 100, {}, "黑名单"),
    "refund_requested": (refund_requested, Action.HOLD, 50, {}, "用户已申请退款"),
    "address_incomplete": (
        address_incomplete,
        Action.HOLD,
        40,
        {"require_district": True, "min_street_length": 4},
        "收货信息异常",
    ),
    "phone_invalid": (phone_invalid, Action.HOLD, 40, {"allow_landline": True}, "收货电话异常"),
    "many_orders_one_address": (
        many_orders_one_address,
        Action.HOLD,
        60,
        {"max_orders": 5, "window_hours": 24},
        "疑似刷单/恶意拍单",
    ),
    "high_refund_rate": (high_refund_rate, Action.HOLD, 50, {"min_orders": 3, "max_rate": 0.5}, "高退款率买家"),
    "price_below_cost": (price_below_cost, Action.HOLD, 50, {}, "价格过低"),
    "quantity_outlier": (
        quantity_outlier,
        Action.HOLD,
        40,
        {"max_units": 20, "factor": 5, "min_history": 30},
        "数量异常",
    ),
    "amount_outlier": (amount_outlier, Action.HOLD, 40, {"max_amount": "20000"}, "金额异常"),
    "line_count_range": (
        line_count_range,
        Action.HOLD,
        20,
        {"min_lines": 1, "max_lines": 20, "min_units": 1, "max_units": 50},
        "商品数量超范围",
    ),
    "sku_deny_list": (sku_deny_list, Action.HOLD, 30, {"skus": []}, "禁发商品"),
    "unmatched_sku": (unmatched_sku, Action.HOLD, 30, {}, "商品未匹配"),
    "insufficient_stock": (insufficient_stock, Action.HOLD, 20, {}, "缺货"),
    "remark_present": (remark_present, Action.HOLD, 10, {"buyer": True, "seller": True}, "有备注"),
    "cooling_off": (cooling_off, Action.HOLD, 0, {"minutes": 10}, "冷静期"),
    **CREDIT_RULES,  # customers on account: 超信用额度, 逾期未付款 (domain/review/credit.py)
}
