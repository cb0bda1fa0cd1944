"""售后: refund-only (仅退款) and return-and-refund (退货退款) cases, their state machine, and the money rules.

States: requested -> approved -> (awaiting_return -> returned) -> refunded, or rejected / cancelled on the way.
A refund-only case goes approved -> refunded; a return-and-refund case waits for the goods first.

Money rules:
- Before shipment a case refunds the whole order. A buyer who paid deposit and balance gets both back. A buyer
  who paid only the deposit and walks away (定金不退) keeps nothing back, unless the shop's rule says deposits are
  refundable, or the merchant is at fault (out of stock, late): then the deposit comes back.
- After shipment a line can be refunded in parts, but never beyond what is still refundable on it (its paid
  amount less what other cases already claim).
- Returned goods take back the cost booked when they shipped (not today's average), walking the line's
  shipments oldest first past the units already returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from presale_erp.domain.costing import COST_PLACES
from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.finance import ZERO, cost_of
from presale_erp.domain.transitions import guard_transition


class CaseKind(StrEnum):
    REFUND_ONLY = "refund_only"  # 仅退款
    RETURN_AND_REFUND = "return_and_refund"  # 退货退款


class CaseState(StrEnum):
    REQUESTED = "requested"  # 待处理
    APPROVED = "approved"  # 已同意
    AWAITING_RETURN = "awaiting_return"  # 待买家退货
    RETURNED = "returned"  # 已收到退货
    REFUNDED = "refunded"  # 已退款
    REJECTED = "rejected"  # 已拒绝
    CANCELLED = "cancelled"  # 已撤销


_S = CaseState
_COMMON = {
    (_S.REQUESTED, _S.APPROVED),
    (_S.REQUESTED, _S.REJECTED),
    (_S.REQUESTED, _S.CANCELLED),
    (_S.APPROVED, _S.CANCELLED),
}
TRANSITIONS: dict[CaseKind, frozenset[tuple[str, str]]] = {
    CaseKind.REFUND_ONLY: frozenset((a.value, b.value) for a, b in _COMMON | {(_S.APPROVED, _S.REFUNDED)}),
    CaseKind.RETURN_AND_REFUND: frozenset(
        (a.value, b.value)
        for a, b in _COMMON
        | {
            (_S.APPROVED, _S.AWAITING_RETURN),
            (_S.AWAITING_RETURN, _S.RETURNED),
            (_S.AWAITING_RETURN, _S.CANCELLED),
            (_S.RETURNED, _S.REFUNDED),
        }
    ),
}
OPEN_STATES = frozenset({_S.REQUESTED, _S.APPROVED, _S.AWAITING_RETURN, _S.RETURNED})  # still claim their amount


def guard(case_id: int, kind: CaseKind, from_state: str, to_state: CaseState) -> None:
    guard_transition(f"After-sales case {case_id} ({kind.value})", TRANSITIONS[kind], from_state, to_state.value)


class DepositPolicy(StrEnum):
    KEEP = "keep"  # 定金不退 (the default, as the platforms' presale rules have it)
    REFUND = "refund"  # 定金可退: this shop refunds deposits on request


class RefundCause(StrEnum):
    BUYER = "buyer"  # 买家原因: changed their mind
    MERCHANT = "merchant"  # 商家原因: out of stock, late, wrong or faulty goods: the deposit always comes back


def refund_before_shipment(
    *,
    deposit_trade: bool,
    paid: Decimal,
    deposit: Decimal,
    balance: Decimal,
    balance_paid: bool,
    policy: DepositPolicy,
    cause: RefundCause,
) -> Decimal:
    """What a whole-order refund before shipment gives back."""
    if not deposit_trade:
        return paid
    if balance_paid:
        return deposit + balance
    if cause is RefundCause.MERCHANT or policy is DepositPolicy.REFUND:
        return deposit
    return ZERO


def refundable(line_paid: Decimal, claimed: Decimal) -> Decimal:
    """What may still be refunded on a line: its paid amount less what cases already refunded or claim."""
    return max(line_paid - claimed, ZERO)


def check_refund(line_no: int, amount: Decimal, line_paid: Decimal, claimed: Decimal) -> None:
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidRequest(f"Line {line_no}: a refund is a positive amount to the fen, not {amount}.")
    left = refundable(line_paid, claimed)
    if amount > left:
        raise InvalidRequest(
            f"Line {line_no}: {amount} is more than is still refundable ({left} of {line_paid} paid; "
            f"{claimed} already refunded or claimed)."
        )


def check_return(line_no: int, units: int, shipped: int, returned_or_claimed: int) -> None:
    if units <= 0:
        raise InvalidRequest(f"Line {line_no}: return at least 1 unit, not {units}.")
    if units > shipped - returned_or_claimed:
        raise InvalidRequest(
            f"Line {line_no}: {units} units cannot come back; {shipped} shipped, "
            f"{returned_or_claimed} already returned or claimed."
        )


def returned_cost(
    shipments: Sequence[tuple[int, Decimal]], already_returned: int, units: int
) -> tuple[Decimal, Decimal]:
    """(cost to take back, unit cost) for `units` returned units, from the line's shipments (units, unit cost)
    oldest first, skipping the units earlier returns took back. The cost is each shipment's part rounded to the
    fen; the unit cost is cost / units (the shipment's own unit cost when one shipment covers them)."""
    skip, left, cost, costs = already_returned, units, ZERO, set()
    for quantity, unit_cost in shipments:
        usable = max(quantity - skip, 0)
        skip = max(skip - quantity, 0)
        take = min(usable, left)
        if take:
            cost += cost_of(take, unit_cost)
            costs.add(unit_cost)
            left -= take
    if left:
        raise InvalidRequest(f"{units} units cannot come back: only {units - left} shipped units are not returned.")
    if len(costs) == 1:
        return cost, costs.pop()
    return cost, (cost / units).quantize(COST_PLACES, rounding=ROUND_HALF_UP)
