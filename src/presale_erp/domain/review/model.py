"""What the rules look at and what they say."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.credit import CustomerCredit


class Action(StrEnum):
    HOLD = "hold"  # 拦截: stop for a person to look at
    REJECT = "reject"  # 驳回: never ship
    TAG = "tag"  # 标记: let it through, but mark it


class Decision(StrEnum):
    APPROVED = "approved"
    HELD = "held"
    REJECTED = "rejected"


@dataclass(frozen=True)
class ReviewLine:
    sku_id: int | None
    sku_code: str | None
    quantity: int
    unit_price: Decimal
    presale: bool


@dataclass(frozen=True)
class ReviewOrder:
    id: int
    shop_id: int
    total_amount: Decimal
    paid_at: datetime | None
    province: str
    city: str
    district: str
    street: str
    phone: str
    buyer_index: str
    phone_index: str
    address_index: str
    buyer_remark: str
    seller_remark: str
    lines: list[ReviewLine]
    own_locked: dict[int, int] = field(default_factory=dict)
    refund_requested: bool = False  # sku id -> units this order already holds


@dataclass(frozen=True)
class SkuHistory:
    """What normal looks like for a SKU: how many units buyers take per line, from past orders."""

    lines: int
    mean_quantity: float
    max_quantity: int


@dataclass
class ReviewContext:
    now: datetime
    blacklisted_buyers: set[str] = field(default_factory=set)
    blacklisted_phones: set[str] = field(default_factory=set)
    blacklisted_addresses: set[str] = field(default_factory=set)
    recent_orders_by_phone: dict[str, int] = field(default_factory=dict)
    recent_orders_by_address: dict[str, int] = field(default_factory=dict)
    buyer_orders: dict[str, int] = field(default_factory=dict)
    buyer_refunds: dict[str, int] = field(default_factory=dict)
    sku_history: dict[int, SkuHistory] = field(default_factory=dict)
    sku_unit_cost: dict[int, Decimal] = field(default_factory=dict)
    sku_available: dict[int, int] = field(default_factory=dict)
    # Customers on account (挂账), by the (shop id, buyer index) their orders come from.
    customer_credit: dict[tuple[int, str], CustomerCredit] = field(default_factory=dict)
    # order id -> amount of the orders before it in this batch from the same customer (they count against it too)
    credit_ahead: dict[int, Decimal] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    """One rule's finding: the named exception type staff filter on, why, and what to do."""

    rule: str
    reason: str
    action: Action
    weight: int


@dataclass(frozen=True)
class RuleSetting:
    code: str
    enabled: bool
    action: Action
    priority: int
    weight: int
    params: dict


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    risk_score: int
    hits: list[Hit]
