"""Taobao / Tmall (TOP `Trade`, as returned by taobao.trades.sold.increment.get and trade.fullinfo.get)."""

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
STATUS = {
    "TRADE_NO_CREATE_PAY": S.AWAITING_PAYMENT,
    "WAIT_BUYER_PAY": S.AWAITING_PAYMENT,
    "PAY_PENDING": S.AWAITING_PAYMENT,
    "WAIT_PRE_AUTH_CONFIRM": S.HOLD,
    "PAID_FORBID_CONSIGN": S.HOLD,
    "WAIT_SELLER_SEND_GOODS": S.PAID,
    "SELLER_CONSIGNED_PART": S.PARTLY_SHIPPED,
    "WAIT_BUYER_CONFIRM_GOODS": S.SHIPPED,
    "TRADE_BUYER_SIGNED": S.COMPLETED,
    "TRADE_FINISHED": S.COMPLETED,
    "TRADE_CLOSED": S.REFUNDED,
    "TRADE_CLOSED_BY_TAOBAO": S.CANCELLED,
}
REFUND_OPEN = {"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS"}
STEP_STATES = {
    "FRONT_NOPAID_FINAL_NOPAID",
    "FRONT_PAID_FINAL_NOPAID",
    "FRONT_PAID_FINAL_PAID",
    "FRONT_PAID_FRONT_FORFEITED",
}


def parse_order(payload: dict[str, Any]) -> PlatformOrder:
    trade = Fields(payload)
    tid = trade.text("tid_str") if trade.has("tid_str") else trade.text("tid")
    raw_status = trade.text("status")
    status = status_from(STATUS, raw_status, "status")
    step = trade.text("type", required=False) == "step"
    step_state = trade.text("step_trade_status", required=False) if step else ""
    if step and step_state not in STEP_STATES:
        raise MalformedOrder(f"step_trade_status has an unknown value {step_state!r}")
    total = trade.yuan("payment")
    paid = _paid(trade, status, step, step_state, total)
    deposit = _deposit(trade, step_state) if step else Decimal("0.00")
    status = _step_status(status, step_state, raw_status)
    lines = [_line(line, step) for line in trade.children("orders", wrapper="order")]
    presale_type = (
        PresaleType.DEPOSIT
        if step
        else (PresaleType.FULL_PAYMENT if any(line.presale for line in lines) else PresaleType.NONE)
    )
    return PlatformOrder(
        platform=Platform.TAOBAO,
        platform_order_id=tid,
        status=status,
        platform_status=f"{raw_status}/{step_state}" if step else raw_status,
        modified_at=trade.china_time("modified"),
        created_at=trade.china_time("created"),
        paid_at=trade.china_time("pay_time", required=False),
        total_amount=total,
        paid_amount=paid,
        postage=trade.yuan("post_fee", required=False),
        buyer=Buyer(
            platform_buyer_id=trade.text("buyer_open_uid", required=False) or trade.text("buyer_nick", required=False),
            name=trade.text("receiver_name", required=False),
            phone=trade.text("receiver_mobile", required=False) or trade.text("receiver_phone", required=False),
            address=Address(
                province=trade.text("receiver_state", required=False),
                city=trade.text("receiver_city", required=False),
                district=trade.text("receiver_district", required=False),
                street=trade.text("receiver_address", required=False),
            ),
        ),
        lines=lines,
        presale_type=presale_type,
        deposit_amount=deposit,
        balance_amount=total - deposit if step else Decimal("0.00"),
        balance_paid=step_state == "FRONT_PAID_FINAL_PAID",
        latest_ship_at=trade.china_time("send_time", required=False),
        buyer_remark=trade.text("buyer_message", required=False),
        seller_remark=trade.text("seller_memo", required=False),
        cash_on_delivery=trade.text("type", required=False) == "cod",
    )


def _paid(trade: Fields, status: PlatformStatus, step: bool, step_state: str, total: Decimal) -> Decimal:
    if step:
        return trade.yuan("step_paid_fee", required=False)
    return Decimal("0.00") if status in (S.AWAITING_PAYMENT, S.CANCELLED) else total


def _deposit(trade: Fields, step_state: str) -> Decimal:
    """The first stage's payment; before the balance is paid, what has been paid is the deposit."""
    if trade.has("step_pay_details"):
        for detail in trade.children("step_pay_details", wrapper="step_pay_detail"):
            if detail.integer("step_no", required=False) == 1:
                return detail.yuan("step_actual_pay_fee", required=False)
    if step_state == "FRONT_PAID_FINAL_NOPAID":
        return trade.yuan("step_paid_fee", required=False)
    return Decimal("0.00")


def _step_status(status: PlatformStatus, step_state: str, raw_status: str) -> PlatformStatus:
    """A step trade is shippable only when FRONT_PAID_FINAL_PAID and WAIT_SELLER_SEND_GOODS."""
    if step_state == "FRONT_PAID_FINAL_NOPAID" and status in (S.AWAITING_PAYMENT, S.PAID):
        return S.DEPOSIT_PAID
    if raw_status == "TRADE_CLOSED" and step_state in (
        "FRONT_PAID_FRONT_FORFEITED",
        "FRONT_PAID_FINAL_NOPAID",
        "FRONT_NOPAID_FINAL_NOPAID",
    ):
        return S.CANCELLED  # balance never paid: closed, the deposit is kept by the platform's rule
    return status


def _line(line: Fields, step: bool) -> OrderLine:
    oid = line.text("oid_str") if line.has("oid_str") else line.text("oid")
    planned = line.china_time("estimate_con_time", required=False)
    quantity = line.integer("num")
    price = line.yuan("price")
    paid = (
        line.yuan("divide_order_fee", required=False)
        if line.has("divide_order_fee")
        else line.yuan("payment", required=False)
    )
    return OrderLine(
        line_key=oid,
        platform_sku_id=line.text("sku_id", required=False),
        sku_code=line.text("outer_sku_id", required=False) or line.text("outer_iid", required=False) or None,
        title=line.text("title", required=False),
        quantity=quantity,
        unit_price=price,
        paid_amount=paid,
        presale=step or planned is not None,
        planned_ship_at=planned,
        refunded=line.text("refund_status", required=False) == "SUCCESS",
        refund_requested=line.text("refund_status", required=False) in REFUND_OPEN,
    )
