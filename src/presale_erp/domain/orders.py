"""Platform orders as the ERP understands them (原始单 mapped to one canonical shape), and the rules of intake.

Each platform adapter turns its payload into a `PlatformOrder`. Its identity is (shop, platform order id); its
version is the platform's modified time, so intake keeps only the newest version it has seen and a late,
older copy never regresses an order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.catalog import Platform
from presale_erp.domain.errors import InvalidRequest


class MalformedOrder(InvalidRequest):
    """A payload that cannot become an order; it goes to the dead-letter list with this reason."""

    title = "Malformed order"


class PlatformStatus(StrEnum):
    """Where the platform says the order stands (the canonical mapping of each platform's enums)."""

    AWAITING_PAYMENT = "awaiting_payment"  # 待付款
    DEPOSIT_PAID = "deposit_paid"  # 已付定金, 待尾款
    PAID = "paid"  # 已付款, 待发货
    HOLD = "hold"  # 平台暂停发货 (risk review, group not formed, locked)
    PARTLY_SHIPPED = "partly_shipped"  # 部分发货
    SHIPPED = "shipped"  # 已发货
    COMPLETED = "completed"  # 交易成功
    CANCELLED = "cancelled"  # 已取消 (before payment, or balance never paid)
    REFUNDED = "refunded"  # 已退款

    @property
    def closed(self) -> bool:
        return self in (PlatformStatus.CANCELLED, PlatformStatus.REFUNDED, PlatformStatus.COMPLETED)


STATUS_NAMES_ZH: dict[PlatformStatus, str] = {
    PlatformStatus.AWAITING_PAYMENT: "待付款",
    PlatformStatus.DEPOSIT_PAID: "待尾款",
    PlatformStatus.PAID: "待发货",
    PlatformStatus.HOLD: "暂停发货",
    PlatformStatus.PARTLY_SHIPPED: "部分发货",
    PlatformStatus.SHIPPED: "已发货",
    PlatformStatus.COMPLETED: "交易成功",
    PlatformStatus.CANCELLED: "已取消",
    PlatformStatus.REFUNDED: "已退款",
}


_S = PlatformStatus
# The order's path on the platform. Intake may miss versions in between (it keeps only the newest it sees), so
# any move forward along the path is accepted; a move back is refused, and nothing leaves a closed order except
# a refund after completion. HOLD can come and go before shipping. A refused version is kept on the dead-letter
# list with the reason, never silently applied.
PATH_RANK = {
    _S.AWAITING_PAYMENT: 0,
    _S.DEPOSIT_PAID: 1,
    _S.PAID: 2,
    _S.PARTLY_SHIPPED: 3,
    _S.SHIPPED: 4,
    _S.COMPLETED: 5,
}
CLOSED = {_S.CANCELLED, _S.REFUNDED}


def transition_allowed(from_status: PlatformStatus, to_status: PlatformStatus) -> bool:
    if from_status is to_status:
        return True
    if from_status in CLOSED:
        return False
    if to_status in CLOSED:
        return from_status is not _S.COMPLETED or to_status is _S.REFUNDED
    if to_status is _S.HOLD:
        return PATH_RANK[from_status] < PATH_RANK[_S.SHIPPED]
    if from_status is _S.HOLD:
        return True
    return PATH_RANK[to_status] > PATH_RANK[from_status]


def check_transition(platform_order_id: str, from_status: str, to_status: PlatformStatus) -> None:
    if not transition_allowed(PlatformStatus(from_status), to_status):
        raise MalformedOrder(
            f"order {platform_order_id}: illegal transition from '{from_status}' to '{to_status.value}'; "
            "the version is kept for a person to look at"
        )


class PresaleType(StrEnum):
    NONE = "none"  # 现货
    DEPOSIT = "deposit"  # 定金预售
    FULL_PAYMENT = "full_payment"  # 全款预售
    STEPPED = "stepped"  # 阶梯发货 (Douyin)


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    district: str
    street: str

    @property
    def complete(self) -> bool:
        return all(part.strip() for part in (self.province, self.city, self.street))


@dataclass(frozen=True)
class Buyer:
    """PII: name, phone and street are encrypted at rest; platforms often send them masked already."""

    platform_buyer_id: str
    name: str
    phone: str
    address: Address


@dataclass(frozen=True)
class OrderLine:
    line_key: str  # the platform's line id, or the SKU id where the platform has none
    platform_sku_id: str
    sku_code: str | None  # merchant SKU code (商家编码); None when the platform did not send one
    title: str
    quantity: int
    unit_price: Decimal
    paid_amount: Decimal
    presale: bool = False
    planned_ship_at: datetime | None = None
    refunded: bool = False
    refund_requested: bool = False  # 用户已申请退款: a refund is open, not yet done

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise MalformedOrder(f"line {self.line_key}: quantity must be at least 1, not {self.quantity}")
        if self.unit_price < 0 or self.paid_amount < 0:
            raise MalformedOrder(f"line {self.line_key}: money cannot be negative")


@dataclass(frozen=True)
class PlatformOrder:
    platform: Platform
    platform_order_id: str
    status: PlatformStatus
    platform_status: str  # the platform's own words, kept for staff and for audits
    modified_at: datetime
    created_at: datetime
    paid_at: datetime | None
    total_amount: Decimal  # what the buyer owes in all, postage included
    paid_amount: Decimal  # what the buyer has paid so far (deposit only, for a deposit presale)
    postage: Decimal
    buyer: Buyer
    lines: list[OrderLine]
    presale_type: PresaleType = PresaleType.NONE
    deposit_amount: Decimal = Decimal("0.00")
    balance_amount: Decimal = Decimal("0.00")
    balance_paid: bool = False
    balance_due_at: datetime | None = None  # 尾款截止: when the platform closes the balance window
    latest_ship_at: datetime | None = None  # 最晚发货时间
    buyer_remark: str = ""
    seller_remark: str = ""
    cash_on_delivery: bool = False
    tags: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.platform_order_id:
            raise MalformedOrder("the order has no platform order id")
        if not self.lines:
            raise MalformedOrder(f"order {self.platform_order_id} has no lines")
        keys = [line.line_key for line in self.lines]
        if len(set(keys)) != len(keys):
            raise MalformedOrder(f"order {self.platform_order_id} repeats a line id")
        for label, amount in (("total", self.total_amount), ("paid", self.paid_amount), ("postage", self.postage)):
            if amount < 0:
                raise MalformedOrder(f"order {self.platform_order_id}: {label} amount cannot be negative")
        if self.modified_at.tzinfo is None or self.created_at.tzinfo is None:
            raise MalformedOrder(f"order {self.platform_order_id}: times must carry a time zone")

    @property
    def presale(self) -> bool:
        return self.presale_type is not PresaleType.NONE or any(line.presale for line in self.lines)

    @property
    def mixed(self) -> bool:
        """预售 and 现货 lines in one order: the spot lines may ship before the presale ones."""
        return any(line.presale for line in self.lines) and not all(line.presale for line in self.lines)

    @property
    def refund_requested(self) -> bool:
        return any(line.refund_requested and not line.refunded for line in self.lines)

    @property
    def awaiting_balance(self) -> bool:
        return self.status is PlatformStatus.DEPOSIT_PAID and not self.balance_paid


def newer(incoming_modified_at: datetime, stored_modified_at: datetime | None) -> bool:
    """Intake keeps a version only if it is newer than what is stored: redelivery and late copies are no-ops."""
    return stored_modified_at is None or incoming_modified_at > stored_modified_at


def planned_ship_at(order: PlatformOrder) -> datetime | None:
    """计划发货时间: when the last presale line may ship."""
    dates = [line.planned_ship_at for line in order.lines if line.presale and line.planned_ship_at]
    return max(dates) if dates else None


def waits_as_pre_order(order: PlatformOrder, now: datetime) -> bool:
    """预订单: paid, but presale goods that may not ship before their planned date."""
    planned = planned_ship_at(order)
    return order.status is PlatformStatus.PAID and planned is not None and planned > now


@dataclass(frozen=True)
class PreOrder:
    id: int
    planned_ship_at: datetime | None
    paid_at: datetime | None
    wanted: dict[int, int]  # sku id -> units of its presale lines
    own_locked: dict[int, int] = field(default_factory=dict)  # sku id -> units it already holds locked


def activate(
    pre_orders: list[PreOrder], free_stock: dict[int, int], now: datetime, codes: dict[int, str]
) -> dict[int, str]:
    """Which waiting pre-orders may go now: the ship date has come and the shelves hold their goods.
    Earliest payers first, each taking from what is left. Returns id -> "" (activated) or the reason it waits."""
    left = dict(free_stock)
    outcome: dict[int, str] = {}
    far_past = datetime.min.replace(tzinfo=now.tzinfo)
    for pre in sorted(pre_orders, key=lambda p: (p.paid_at or far_past, p.id)):
        if pre.planned_ship_at and pre.planned_ship_at > now:
            outcome[pre.id] = f"计划发货 {pre.planned_ship_at:%Y-%m-%d %H:%M} 未到 (planned ship date not reached)"
            continue
        extra = {sku: max(units - pre.own_locked.get(sku, 0), 0) for sku, units in pre.wanted.items()}
        short = [
            f"{codes.get(sku, sku)} wanted {pre.wanted[sku]}, {left.get(sku, 0) + pre.own_locked.get(sku, 0)} free"
            for sku, units in sorted(extra.items())
            if units > left.get(sku, 0)
        ]
        if short:
            outcome[pre.id] = "缺货 (stock short): " + "; ".join(short)
            continue
        for sku, units in extra.items():
            left[sku] = left.get(sku, 0) - units
        outcome[pre.id] = ""
    return outcome


def supersedes(incoming: PlatformOrder, stored_modified_at: datetime | None, stored_status: str | None) -> bool:
    """Whether a version replaces what is stored. Platforms stamp modified times to the second, so two changes
    within one second share a time: then the one that moves the order forward wins."""
    if newer(incoming.modified_at, stored_modified_at):
        return True
    if stored_modified_at is None or incoming.modified_at < stored_modified_at or stored_status is None:
        return False
    return incoming.status.value != stored_status and transition_allowed(PlatformStatus(stored_status), incoming.status)
