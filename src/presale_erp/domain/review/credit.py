"""Credit rules (财审 of customers on account, 挂账): hold an order that would take its customer past the credit
limit, or whose customer has invoices past due. Orders of buyers not linked to a customer are not on account and
pass untouched."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from presale_erp.domain.receivables import ZERO, business_day
from presale_erp.domain.review.model import Action, ReviewContext, ReviewOrder


def credit_limit_exceeded(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    credit = ctx.customer_credit.get((order.shop_id, order.buyer_index)) if order.buyer_index else None
    if credit is None:
        return []
    ahead = ctx.credit_ahead.get(order.id, ZERO)
    exposure = credit.exposure_after(order.total_amount + ahead)
    if exposure <= credit.credit_limit:
        return []
    parts = f"欠款 {credit.open_balance} + 未开票订单 {credit.open_orders}"
    if ahead:
        parts += f" + 本批前单 {ahead}"
    return [
        f"超信用额度: customer {credit.customer} ({credit.name}) {parts} + 本单 {order.total_amount} = {exposure}, "
        f"limit {credit.credit_limit}, over by {exposure - credit.credit_limit}"
    ]


def overdue_balance(order: ReviewOrder, ctx: ReviewContext, params: dict) -> list[str]:
    credit = ctx.customer_credit.get((order.shop_id, order.buyer_index)) if order.buyer_index else None
    if credit is None:
        return []
    today = business_day(ctx.now)
    grace = int(params.get("grace_days", 0))
    overdue = credit.overdue(today, grace)
    if overdue <= Decimal(str(params.get("min_amount", "0.00"))):
        return []
    return [
        f"逾期未付款: customer {credit.customer} ({credit.name}) has {overdue} overdue, "
        f"oldest {credit.oldest_days_overdue(today)} days past due"
    ]


CreditCheck = Callable[[ReviewOrder, ReviewContext, dict], list[str]]

# code -> (check, default action, default weight, default params, 中文名), as in rules.RULES
CREDIT_RULES: dict[str, tuple[CreditCheck, Action, int, dict, str]] = {
    "credit_limit_exceeded": (credit_limit_exceeded, Action.HOLD, 50, {}, "超信用额度"),
    "overdue_balance": (overdue_balance, Action.HOLD, 50, {"grace_days": 0, "min_amount": "0.00"}, "逾期未付款"),
}
