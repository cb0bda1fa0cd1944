"""Money in CNY as Decimal, quantised to the fen (0.01) at the boundaries. Never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from presale_erp.domain.errors import InvalidRequest

FEN = Decimal("0.01")


def yuan(value: str | int | Decimal) -> Decimal:
    """Parse an amount in yuan. Floats are refused: they cannot hold 0.1 exactly."""
    if isinstance(value, float):
        raise InvalidRequest(f"Amount {value!r} is a float; give money as a string or Decimal.")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise InvalidRequest(f"'{value}' is not an amount of money.") from exc
    if not amount.is_finite():
        raise InvalidRequest(f"'{value}' is not an amount of money.")
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def yuan_to_fen(amount: Decimal) -> int:
    return int((amount.quantize(FEN, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def allocate(total: Decimal, weights: list[int]) -> list[Decimal]:
    """Split `total` across lines in proportion to `weights`, to the fen, so the parts add up exactly.

    The remainder fen go to the lines with the largest fractional parts (largest-remainder method), which is
    how a deposit or a discount is spread across order lines without a fen going missing.
    """
    if not weights or sum(weights) <= 0 or any(w < 0 for w in weights):
        raise InvalidRequest("Weights for allocating an amount must be non-negative and not all zero.")
    total_fen = yuan_to_fen(total)
    if total_fen < 0:
        return [-part for part in allocate(-total, weights)]
    weight_sum = sum(weights)
    exact = [Decimal(total_fen) * w / weight_sum for w in weights]
    floors = [int(x) for x in exact]
    leftover = total_fen - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: exact[i] - floors[i], reverse=True)
    for i in by_remainder[:leftover]:
        floors[i] += 1
    return [fen_to_yuan(f) for f in floors]
