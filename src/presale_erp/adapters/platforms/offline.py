"""Offline orders (线下单): the ERP's own canonical JSON, used by file imports and by other systems pushing
orders that come from no platform. Times are ISO 8601 (a time without zone is Beijing time); money is yuan as
a decimal string or number."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.platforms.fields import CHINA, Fields, status_from
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

STATUSES = {s.value: s for s in PlatformStatus}
PRESALE_TYPES = {p.value: p for p in PresaleType}


def _time(fields: Fields, name: str, *, required: bool) -> datetime | None:
    value = fields.raw(name, required=required)
    if value in (None, ""):
        if required:
            raise MalformedOrder(f"{fields.path + '.' if fields.path else ''}{name} is missing")
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("/", "-"))
    except ValueError as exc:
        raise MalformedOrder(f"{name} should be a time like 2026-11-11 20:00:00, not {value!r}") from exc
    return (moment if moment.tzinfo else moment.replace(tzinfo=CHINA)).astimezone(UTC)


def parse_order(payload: dict[str, Any]) -> PlatformOrder:
    order = Fields(payload)
    buyer = order.child("buyer", required=False)
    lines = []
    for line in order.children("lines"):
        lines.append(
            OrderLine(
                line_key=line.text("line_id", required=False) or str(len(lines) + 1),
                platform_sku_id=line.text("sku_code"),
                sku_code=line.text("sku_code"),
                title=line.text("title", required=False),
                quantity=line.integer("quantity"),
                unit_price=line.yuan("unit_price"),
                paid_amount=line.yuan("unit_price") * line.integer("quantity"),
                presale=line.raw("presale", required=False) is True,
                planned_ship_at=_time(line, "planned_ship_at", required=False),
            )
        )
    postage = order.yuan("postage", required=False)
    total = sum((line.paid_amount for line in lines), Decimal("0.00")) + postage
    status = status_from(STATUSES, order.text("status", required=False) or "paid", "status")
    presale_type = status_from(PRESALE_TYPES, order.text("presale_type", required=False) or "none", "presale_type")
    deposit = order.yuan("deposit", required=False)
    created = _time(order, "created_at", required=True)
    return PlatformOrder(
        platform=Platform.OFFLINE,
        platform_order_id=order.text("order_id"),
        status=status,
        platform_status=status.value,
        modified_at=_time(order, "modified_at", required=False) or created,
        created_at=created,
        paid_at=_time(order, "paid_at", required=False),
        total_amount=total,
        paid_amount=deposit
        if status is PlatformStatus.DEPOSIT_PAID
        else (Decimal("0.00") if status in (PlatformStatus.AWAITING_PAYMENT, PlatformStatus.CANCELLED) else total),
        postage=postage,
        buyer=Buyer(
            platform_buyer_id=buyer.text("id", required=False),
            name=buyer.text("name", required=False),
            phone=buyer.text("phone", required=False),
            address=Address(
                buyer.text("province", required=False),
                buyer.text("city", required=False),
                buyer.text("district", required=False),
                buyer.text("street", required=False),
            ),
        ),
        lines=lines,
        presale_type=presale_type,
        deposit_amount=deposit,
        balance_amount=total - deposit if presale_type is PresaleType.DEPOSIT else Decimal("0.00"),
        balance_paid=order.raw("balance_paid", required=False) is True,
        latest_ship_at=_time(order, "latest_ship_at", required=False),
        buyer_remark=order.text("buyer_remark", required=False),
        seller_remark=order.text("seller_remark", required=False),
    )
