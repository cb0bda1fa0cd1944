"""What to buy and when: newsvendor quantity, safety stock and reorder point, replenishment, stockout and
overstock projections. Each decision carries the sentence a buyer reads and the inputs that drove it.

Quantities are whole units; money is Decimal (fen); demand distributions are floats (they are estimates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import FEN

STANDARD = NormalDist()
Z_80 = STANDARD.inv_cdf(0.9)  # an 80% range runs from the 10th to the 90th percentile


@dataclass(frozen=True)
class DemandRange:
    """A demand forecast as a point and an 80% range (10th to 90th percentile), possibly skewed: each side of
    the point is read as half of a normal curve with its own spread."""

    point: float
    low: float
    high: float

    def __post_init__(self) -> None:
        if not (0 <= self.low <= self.point <= self.high):
            raise InvalidRequest(f"A demand range needs 0 <= low <= point <= high (got {self}).")

    @property
    def spread_below(self) -> float:
        return (self.point - self.low) / Z_80

    @property
    def spread_above(self) -> float:
        return (self.high - self.point) / Z_80

    def quantile(self, level: float) -> float:
        z = STANDARD.inv_cdf(level)
        return max(self.point + z * (self.spread_above if z >= 0 else self.spread_below), 0.0)

    def expected_leftover(self, quantity: float) -> float:
        """E[(Q - D)+]: units left when `quantity` is stocked (numerically, over the two half-normals)."""
        return _expected(self, lambda d: max(quantity - d, 0.0))

    def expected_short(self, quantity: float) -> float:
        """E[(D - Q)+]: units of demand `quantity` fails to cover."""
        return _expected(self, lambda d: max(d - quantity, 0.0))


def _expected(demand: DemandRange, payoff) -> float:
    # Midpoint rule over 200 equal-probability slices: exact enough for a buying decision, and skew-aware.
    slices = 200
    return sum(payoff(demand.quantile((i + 0.5) / slices)) for i in range(slices)) / slices


@dataclass(frozen=True)
class UnitEconomics:
    """What one unit earns and costs: the over/under costs of a buying decision."""

    unit_cost: Decimal
    price: Decimal
    salvage_value: Decimal = Decimal("0")  # what a leftover unit fetches after the campaign (清仓价)
    goodwill_cost: Decimal = Decimal("0")  # beyond lost margin, what a buyer left waiting costs (差评, 退款)

    def __post_init__(self) -> None:
        if self.unit_cost < 0 or self.price <= 0 or self.salvage_value < 0 or self.goodwill_cost < 0:
            raise InvalidRequest("Unit cost, salvage and goodwill cannot be negative, and the price must be above 0.")
        if self.salvage_value > self.unit_cost:
            raise InvalidRequest("Salvage value above unit cost would make overbuying free; check the figures.")

    @property
    def under_cost(self) -> Decimal:
        """Cu: margin lost (and goodwill) on each unit of demand not covered."""
        return max(self.price - self.unit_cost, Decimal("0")) + self.goodwill_cost

    @property
    def over_cost(self) -> Decimal:
        """Co: money lost on each unit left over."""
        return self.unit_cost - self.salvage_value

    @property
    def critical_ratio(self) -> float:
        total = self.under_cost + self.over_cost
        if total == 0:
            return 0.5
        return float(self.under_cost / total)


@dataclass(frozen=True)
class Decision:
    """A recommendation in a buyer's words, with the inputs that drove it."""

    quantity: int
    explanation: str
    inputs: dict[str, object] = field(default_factory=dict)


def newsvendor(demand: DemandRange, economics: UnitEconomics, *, on_hand: int = 0) -> Decision:
    """How many more units to buy for one selling season (a presale): stock up to the demand quantile where the
    chance of selling one more unit equals Co / (Cu + Co)."""
    ratio = min(max(economics.critical_ratio, 0.01), 0.99)
    target = math.ceil(demand.quantile(ratio))
    buy = max(target - on_hand, 0)
    leftover = demand.expected_leftover(target)
    short = demand.expected_short(target)
    tied_up = _money(economics.over_cost * Decimal(str(round(leftover, 2))))
    lost = _money(economics.under_cost * Decimal(str(round(short, 2))))
    explanation = (
        f"Stock {target} units (buy {buy} on top of {on_hand} on hand). Demand is expected around "
        f"{demand.point:.0f} (80% range {demand.low:.0f}–{demand.high:.0f}). Each unit short loses "
        f"¥{economics.under_cost} and each unit left over loses ¥{economics.over_cost}, so it pays to cover "
        f"demand up to its {ratio:.0%} level. Expected leftover {leftover:.0f} units (¥{tied_up}); expected "
        f"shortfall {short:.0f} units (¥{lost} of margin)."
    )
    inputs = {
        "forecast_point": round(demand.point, 1),
        "forecast_low": round(demand.low, 1),
        "forecast_high": round(demand.high, 1),
        "unit_cost": str(economics.unit_cost),
        "price": str(economics.price),
        "salvage_value": str(economics.salvage_value),
        "under_cost": str(economics.under_cost),
        "over_cost": str(economics.over_cost),
        "critical_ratio": round(ratio, 3),
        "target_stock": target,
        "on_hand": on_hand,
        "expected_leftover_units": round(leftover, 1),
        "expected_short_units": round(short, 1),
    }
    return Decision(buy, explanation, inputs)


@dataclass(frozen=True)
class LeadTime:
    """Supplier lead time in days: its mean and its spread (from deliveries, or the buyer's estimate)."""

    mean_days: float
    std_days: float = 0.0

    def __post_init__(self) -> None:
        if self.mean_days < 0 or self.std_days < 0:
            raise InvalidRequest("Lead time and its spread cannot be negative.")


@dataclass(frozen=True)
class DailyDemand:
    mean: float
    std: float

    def __post_init__(self) -> None:
        if self.mean < 0 or self.std < 0:
            raise InvalidRequest("Daily demand and its spread cannot be negative.")


@dataclass(frozen=True)
class ReorderPolicy:
    safety_stock: int
    reorder_point: int
    explanation: str
    inputs: dict[str, object]


def reorder_policy(demand: DailyDemand, lead_time: LeadTime, service_level: float) -> ReorderPolicy:
    """Safety stock covers the spread of demand over the lead time and of the lead time itself:
    SS = z * sqrt(L * sd_d^2 + d^2 * sd_L^2); the reorder point is expected lead-time demand plus SS."""
    if not (0.5 <= service_level < 1):
        raise InvalidRequest("The service level must be at least 50% and below 100%.")
    z = STANDARD.inv_cdf(service_level)
    spread = math.sqrt(lead_time.mean_days * demand.std**2 + demand.mean**2 * lead_time.std_days**2)
    safety = math.ceil(z * spread)
    lead_demand = demand.mean * lead_time.mean_days
    reorder_point = math.ceil(lead_demand + safety)
    explanation = (
        f"Reorder when stock you can sell falls to {reorder_point} units: about {lead_demand:.0f} sell during "
        f"the {lead_time.mean_days:g}-day lead time (±{lead_time.std_days:g} days), and {safety} more are kept "
        f"as safety stock so that {service_level:.0%} of replenishment cycles end without a stockout."
    )
    inputs = {
        "daily_demand": round(demand.mean, 2),
        "daily_demand_std": round(demand.std, 2),
        "lead_time_days": lead_time.mean_days,
        "lead_time_std_days": lead_time.std_days,
        "service_level": service_level,
        "z": round(z, 3),
    }
    return ReorderPolicy(safety, reorder_point, explanation, inputs)


@dataclass(frozen=True)
class Inbound:
    """Stock on its way (a purchase order line, a transfer) and the day it is expected."""

    quantity: int
    arrives_on: date


@dataclass(frozen=True)
class StockPicture:
    """What a SKU in a warehouse can still sell: on hand less reserved, plus what is on its way."""

    available: int
    inbound: tuple[Inbound, ...] = ()

    @property
    def inbound_total(self) -> int:
        return sum(i.quantity for i in self.inbound)


def replenishment(
    stock: StockPicture, policy: ReorderPolicy, demand: DailyDemand, *, review_days: int, min_order: int = 1
) -> Decision:
    """Order up to the reorder point plus the demand until the next review, when the stock position (available
    plus inbound) is at or below the reorder point; nothing otherwise. Rounded up to the supplier's MOQ."""
    position = stock.available + stock.inbound_total
    order_up_to = policy.reorder_point + math.ceil(demand.mean * review_days)
    inputs = {
        **policy.inputs,
        "available": stock.available,
        "inbound": stock.inbound_total,
        "reorder_point": policy.reorder_point,
        "safety_stock": policy.safety_stock,
        "order_up_to": order_up_to,
        "review_days": review_days,
        "min_order": min_order,
    }
    if position > policy.reorder_point:
        return Decision(
            0, f"No order needed: {position} units available or on the way, above the reorder point.", inputs
        )
    quantity = max(order_up_to - position, min_order)
    explanation = (
        f"Order {quantity} units now: {stock.available} available and {stock.inbound_total} on the way is at or "
        f"below the reorder point of {policy.reorder_point}. {policy.explanation} The order brings stock up to "
        f"{order_up_to}, enough until the next review in {review_days} days."
    )
    return Decision(quantity, explanation, inputs)


def projected_stockout(stock: StockPicture, daily_forecast: list[tuple[date, float]]) -> date | None:
    """The first day the forecast demand runs past what is available plus what has landed by then."""
    arrivals: dict[date, int] = {}
    for item in stock.inbound:
        arrivals[item.arrives_on] = arrivals.get(item.arrives_on, 0) + item.quantity
    landed_before = sum(q for d, q in arrivals.items() if daily_forecast and d < daily_forecast[0][0])
    left = stock.available + landed_before
    for day, demand in daily_forecast:
        left += arrivals.get(day, 0)
        left -= demand
        if left < 0:
            return day
    return None


def overstock_units(stock: StockPicture, expected_demand: float) -> int:
    """Units expected to be left after the horizon (积压): all stock and inbound less expected demand."""
    return max(math.floor(stock.available + stock.inbound_total - expected_demand), 0)


def money_at(units: float, unit_cost: Decimal) -> Decimal:
    return _money(unit_cost * Decimal(str(round(units, 2))))


def _money(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)
