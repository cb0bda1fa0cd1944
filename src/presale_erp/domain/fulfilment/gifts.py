"""Gift rules (赠品策略): buy X get Y, or spend over an amount, per shop and period, while gifts last."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.fulfilment.model import ShipOrder


class GiftKind(StrEnum):
    BUY_X_GET_Y = "buy_x_get_y"  # 买赠
    SPEND_OVER = "spend_over"  # 满赠


@dataclass(frozen=True)
class GiftRule:
    id: int
    name: str
    kind: GiftKind
    gift_sku: str
    gift_quantity: int
    starts_at: datetime
    ends_at: datetime
    trigger_sku: str | None = None
    trigger_quantity: int = 1
    threshold: Decimal = Decimal("0.00")
    repeat: bool = False  # 每满: once per multiple of the trigger, not once per order
    remaining: int | None = None  # gifts left to give; None: no limit
    priority: int = 100


def gifts_for(order: ShipOrder, rules: Sequence[GiftRule], left: dict[int, int | None]) -> list[tuple[GiftRule, int]]:
    """The gifts this order earns, judged at its payment time. `left` (rule id -> gifts left) is shared by
    the orders of a run in queue order, and is reduced here, so the limit holds across the batch."""
    earned = []
    for rule in sorted(rules, key=lambda r: (r.priority, r.id)):
        if not rule.starts_at <= order.paid_at < rule.ends_at:
            continue
        times = _times(order, rule)
        if not rule.repeat:
            times = min(times, 1)
        quantity = times * rule.gift_quantity
        remaining = left.get(rule.id, rule.remaining)
        if remaining is not None:
            quantity = min(quantity, remaining)
            left[rule.id] = remaining - quantity
        if quantity > 0:
            earned.append((rule, quantity))
    return earned


def _times(order: ShipOrder, rule: GiftRule) -> int:
    if rule.kind is GiftKind.BUY_X_GET_Y:
        bought = sum(line.quantity for line in order.lines if line.sku == rule.trigger_sku and line.gift_rule is None)
        return bought // max(rule.trigger_quantity, 1)
    if rule.threshold <= 0:
        return 1
    return int(order.amount // rule.threshold)
