"""What fulfilment works on: orders ready to ship, the shop's policy, and the parcels it plans."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

StockKey = tuple[str, str]  # (sku, warehouse)


class Strategy(StrEnum):
    """Allocation strategies (分仓策略), applied in the order the shop lists them: earlier ones weigh more."""

    SKU_PINNED = "sku_pinned"  # 商品指定仓: a pinned SKU ships only from its pinned warehouses
    REGIONAL = "regional"  # 属地仓: the warehouse that covers the buyer's province
    STOCK = "stock"  # 库存优先: the warehouse with the most of the order's goods free
    FEWEST_PARCELS = "fewest_parcels"  # 最少包裹: the warehouse that can fill the most lines
    LOWEST_COST = "lowest_cost"  # 运费最低: the cheapest carrier rate to the buyer


class QueueOrder(StrEnum):
    """Who gets scarce stock first (优先占用)."""

    PAID_FIRST = "paid_first"  # earliest (full) payment first
    DEPOSIT_FIRST = "deposit_first"  # earliest presale deposit first


@dataclass(frozen=True)
class FulfilmentPolicy:
    strategies: tuple[Strategy, ...] = (
        Strategy.SKU_PINNED,
        Strategy.FEWEST_PARCELS,
        Strategy.REGIONAL,
        Strategy.STOCK,
        Strategy.LOWEST_COST,
    )
    split_across_warehouses: bool = True  # 按仓拆单: else the order waits for one warehouse to hold it all
    ship_in_stock_first: bool = True  # 现货先发: else a mixed order waits for its presale goods
    split_by_ship_date: bool = True  # 按预售发货日拆单
    max_parcel_weight_grams: int = 0  # 0: no limit
    max_parcel_volume_cm3: int = 0
    merge: bool = True  # 自动合单
    merge_presale: bool = True  # presale orders take part in merging
    merge_across_ship_dates: bool = False
    merge_window_hours: int = 72  # orders paid further apart than this never merge
    merge_wait_minutes: int = 0  # 合单等待: hold a new order this long in case a sibling arrives
    queue_order: QueueOrder = QueueOrder.PAID_FIRST


@dataclass(frozen=True)
class Line:
    line_no: int
    sku: str
    quantity: int
    weight_grams: int  # per unit
    volume_cm3: int = 0  # per unit; 0 when unknown
    presale: bool = False
    planned_ship_at: datetime | None = None
    gift_rule: int | None = None  # set on gift lines: the rule that granted them


@dataclass(frozen=True)
class ShipOrder:
    """An approved order waiting for parcels."""

    id: int
    shop_id: int
    province: str
    buyer_index: str
    address_index: str
    paid_at: datetime
    lines: list[Line]
    amount: Decimal = Decimal("0.00")
    deposit_paid_at: datetime | None = None
    priority: int = 0  # flagged orders (VIP, staff's 优先发货) go first
    cash_on_delivery: bool = False
    separate_parcels: bool = False  # the buyer asked for separate parcels
    presale: bool = False


@dataclass(frozen=True)
class Warehouse:
    code: str
    kind: str = "own"  # own | 3pl: both are allocation targets
    covers: dict[str, int] = field(default_factory=dict)  # province -> rank (1 = first choice)


@dataclass(frozen=True)
class Waiting:
    """Not allocated this time, and why (shown to staff as the order's reason)."""

    reason: str


@dataclass
class ParcelLine:
    order_id: int
    line_no: int
    sku: str
    quantity: int
    gift_rule: int | None = None


@dataclass
class Parcel:
    """A box to pack in one warehouse. Split and merge work on these before any picking starts."""

    warehouse: str
    shop_id: int
    buyer_index: str
    address_index: str
    province: str
    ship_after: datetime | None
    lines: list[ParcelLine]
    weight_grams: int
    volume_cm3: int
    earliest_paid_at: datetime
    latest_paid_at: datetime
    mergeable: bool
    presale: bool
    reason: str = ""  # why this parcel exists apart from its siblings (拆单原因 / 合单)
    code: str | None = None  # set once stored

    @property
    def order_ids(self) -> list[int]:
        return sorted({line.order_id for line in self.lines})


@dataclass(frozen=True)
class Allocated:
    order_id: int
    warehouse_of_line: dict[int, str]  # line no -> warehouse (gift lines included)
    parcels: list[Parcel]
    notes: list[str] = field(default_factory=list)  # e.g. a gift left out because none is left
