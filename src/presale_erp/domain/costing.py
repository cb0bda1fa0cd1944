"""Costing: landed costs (到岸成本) spread over receipt lines, and the moving weighted average cost (移动加权平均)
per SKU × warehouse.

Policy, as an accountant would book it:

- Landed costs (freight, duty, insurance, other) are part of what the accepted goods cost: each is allocated over
  the receipt's accepted units by its basis (value, quantity or weight), to the fen, so the parts add up to the
  invoice exactly (largest remainder).
- Damaged units do not enter stock and are not paid for: their purchase price is claimed back from the supplier
  (or replaced by it), so it never enters the average. The freight that carried them is still a cost of getting
  the good units in, so it lands on the accepted units.
- The average is kept to 6 decimal places (the stock_costs column), rounded half-up: a fen-rounded average would
  drift by up to half a fen per receipt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.money import FEN, allocate, yuan_to_fen

COST_PLACES = Decimal("0.000001")  # stock_costs.average_cost is Numeric(18, 6)
ZERO = Decimal("0")


class LandedCostKind(StrEnum):
    FREIGHT = "freight"  # 运费
    DUTY = "duty"  # 关税
    INSURANCE = "insurance"  # 保险
    OTHER = "other"


class AllocationBasis(StrEnum):
    VALUE = "value"  # by purchase value of the accepted units: duty and insurance follow value
    QUANTITY = "quantity"  # by accepted units
    WEIGHT = "weight"  # by accepted units × unit weight: freight usually follows weight


@dataclass(frozen=True)
class LandedCost:
    kind: LandedCostKind
    amount: Decimal
    basis: AllocationBasis


@dataclass(frozen=True)
class CostLine:
    """One receipt line as costing sees it: what was accepted, at what purchase price, and how heavy a unit is."""

    accepted: int
    unit_cost: Decimal
    weight_grams: int = 0


def allocate_landed_costs(costs: Sequence[LandedCost], lines: Sequence[CostLine]) -> list[Decimal]:
    """Each line's share of all landed costs, to the fen; the shares add up to the sum of the costs exactly."""
    shares = [ZERO.quantize(FEN)] * len(lines)
    for cost in costs:
        if cost.amount < 0:
            raise InvalidRequest(f"A landed cost ({cost.kind.value}) cannot be negative: {cost.amount}.")
        if cost.amount == 0:
            continue
        weights = [_weight(line, cost.basis) for line in lines]
        if sum(weights) <= 0:
            raise InvalidRequest(
                f"The {cost.kind.value} of {cost.amount} cannot be spread by {cost.basis.value}: "
                f"no accepted line has any {cost.basis.value}. Choose another basis."
            )
        shares = [a + b for a, b in zip(shares, allocate(cost.amount, weights), strict=True)]
    return shares


def _weight(line: CostLine, basis: AllocationBasis) -> int:
    """Integer weights for `allocate`: value in fen, units, or grams."""
    if line.accepted <= 0:
        return 0  # nothing accepted: nothing to carry the cost
    if basis is AllocationBasis.VALUE:
        return yuan_to_fen(line.unit_cost) * line.accepted
    if basis is AllocationBasis.QUANTITY:
        return line.accepted
    return max(line.weight_grams, 0) * line.accepted


def round_cost(value: Decimal) -> Decimal:
    return value.quantize(COST_PLACES, rounding=ROUND_HALF_UP)


def moving_average(
    on_hand_before: int, average_before: Decimal | None, accepted: int, inbound_value: Decimal
) -> Decimal:
    """The new average cost after `accepted` units worth `inbound_value` in total (purchase price × units plus
    their landed cost) join `on_hand_before` units at `average_before`.

    With no stock before (or a negative count, or no known average), the old average means nothing: the new
    goods' own cost is the average. Nothing accepted leaves the average as it was.
    """
    if accepted < 0 or inbound_value < 0:
        raise InvalidRequest("Accepted units and their value cannot be negative.")
    if accepted == 0:
        if average_before is None:
            raise InvalidRequest("No units accepted and no average cost known: there is no cost to state.")
        return round_cost(average_before)
    if on_hand_before <= 0 or average_before is None:
        return round_cost(inbound_value / accepted)
    total = on_hand_before * average_before + inbound_value
    return round_cost(total / (on_hand_before + accepted))


def inbound_value(accepted: int, unit_cost: Decimal, landed_cost: Decimal) -> Decimal:
    """What the accepted units of a line cost in total: kept unrounded per unit, so no fen is lost."""
    return accepted * unit_cost + landed_cost
