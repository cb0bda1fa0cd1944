"""Allocation (分仓): which warehouse ships each line, by the shop's ordered strategies, over free stock.

A line ships whole from one warehouse. Warehouses are chosen one at a time: the best-ranked warehouse takes
every remaining line it can fill, then the next takes what is left, so an order spans as few warehouses as
the strategies allow. Nothing here touches the database; the service reserves what this decides."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal

from presale_erp.domain.fulfilment.model import (
    FulfilmentPolicy,
    Line,
    ShipOrder,
    StockKey,
    Strategy,
    Waiting,
    Warehouse,
)

CostFn = Callable[[str, str, int], Decimal | None]  # (warehouse, province, grams) -> cheapest rate, if any
NOT_COVERED = 10**6


def allocate(
    order: ShipOrder,
    free: Mapping[StockKey, int],
    warehouses: Sequence[Warehouse],
    pins: Mapping[str, frozenset[str]],
    policy: FulfilmentPolicy,
    cost: CostFn,
) -> dict[int, str] | Waiting:
    """line no -> warehouse for the order's goods, or why it must wait. `free` is what each (sku, warehouse)
    can still give this order (its own earlier lock included); it is not changed."""
    goods = [line for line in order.lines if line.gift_rule is None]
    allowed = _allowed_warehouses(goods, warehouses, pins, policy)
    left = _Left(free)
    chosen: dict[int, str] = {}
    remaining = goods
    while remaining:
        fillable = {wh.code: _fillable(remaining, wh.code, left, allowed) for wh in warehouses}
        fillable = {code: lines for code, lines in fillable.items() if lines}
        if not policy.split_across_warehouses:
            fillable = {code: lines for code, lines in fillable.items() if len(lines) == len(remaining)}
        if not fillable:
            return Waiting(_shortage(remaining, warehouses, left, allowed, whole=not policy.split_across_warehouses))
        by_code = {wh.code: wh for wh in warehouses}
        best = min(fillable, key=lambda code: _rank(by_code[code], fillable[code], order, left, policy, cost))
        for line in fillable[best]:
            chosen[line.line_no] = best
            left.take((line.sku, best), line.quantity)
        taken = {line.line_no for line in fillable[best]}
        remaining = [line for line in remaining if line.line_no not in taken]
    return chosen


def place_gifts(
    gifts: Sequence[Line], chosen: dict[int, str], free: Mapping[StockKey, int]
) -> tuple[dict[int, str], list[str]]:
    """Gifts ride in a warehouse the goods already ship from, if it has them; otherwise they are left out with
    a note (a missing gift never holds back the goods). `free` is what is left after the goods."""
    used: dict[StockKey, int] = {}
    placed: dict[int, str] = {}
    notes: list[str] = []
    homes = list(dict.fromkeys(chosen.values()))
    for gift in gifts:
        home = next(
            (wh for wh in homes if free.get((gift.sku, wh), 0) - used.get((gift.sku, wh), 0) >= gift.quantity), None
        )
        if home is None:
            notes.append(f"赠品库存不足, 未送 (gift left out, none free): {gift.sku} × {gift.quantity}")
            continue
        placed[gift.line_no] = home
        used[(gift.sku, home)] = used.get((gift.sku, home), 0) + gift.quantity
    return placed, notes


def _allowed_warehouses(
    goods: Sequence[Line], warehouses: Sequence[Warehouse], pins: Mapping[str, frozenset[str]], policy: FulfilmentPolicy
) -> dict[int, frozenset[str]]:
    every = frozenset(wh.code for wh in warehouses)
    if Strategy.SKU_PINNED not in policy.strategies:
        return {line.line_no: every for line in goods}
    return {line.line_no: pins.get(line.sku, every) & every for line in goods}


def _fillable(lines: Sequence[Line], wh: str, left: Mapping[StockKey, int], allowed) -> list[Line]:
    """The lines this warehouse can fill in full, counting two lines of one SKU together."""
    taken: dict[str, int] = {}
    found = []
    for line in lines:
        if wh not in allowed[line.line_no]:
            continue
        if left.get((line.sku, wh), 0) - taken.get(line.sku, 0) >= line.quantity:
            taken[line.sku] = taken.get(line.sku, 0) + line.quantity
            found.append(line)
    return found


def _rank(
    wh: Warehouse,
    lines: Sequence[Line],
    order: ShipOrder,
    left: Mapping[StockKey, int],
    policy: FulfilmentPolicy,
    cost: CostFn,
) -> tuple:
    key: list = []
    for strategy in policy.strategies:
        if strategy is Strategy.REGIONAL:
            key.append(wh.covers.get(order.province, NOT_COVERED))
        elif strategy is Strategy.FEWEST_PARCELS:
            key.append(-len(lines))
        elif strategy is Strategy.STOCK:
            key.append(-sum(left.get((line.sku, wh.code), 0) for line in lines))
        elif strategy is Strategy.LOWEST_COST:
            price = cost(wh.code, order.province, sum(line.weight_grams * line.quantity for line in lines))
            key.append((price is None, price or Decimal(0)))
    return (*key, wh.code)


def _shortage(lines, warehouses, left, allowed, *, whole: bool) -> str:
    parts = []
    for line in lines:
        options = [wh.code for wh in warehouses if wh.code in allowed[line.line_no]]
        if not options:
            parts.append(f"{line.sku} × {line.quantity}: no allowed warehouse (指定仓 not set up)")
            continue
        best = max(options, key=lambda code: left.get((line.sku, code), 0))
        parts.append(f"{line.sku} wanted {line.quantity}, best {best} has {max(left.get((line.sku, best), 0), 0)}")
    head = "缺货, 无单仓可发全单 (no one warehouse holds the whole order)" if whole else "缺货 (stock short)"
    return f"{head}: " + "; ".join(parts)


class _Left:
    """What is left for this order as it is being allocated: the caller's stock less what it has taken so far
    (a copy of all stock per order would cost more than the allocation itself)."""

    def __init__(self, free: Mapping[StockKey, int]) -> None:
        self.free = free
        self.taken: dict[StockKey, int] = {}

    def get(self, key: StockKey, default: int = 0) -> int:
        return self.free.get(key, default) - self.taken.get(key, 0)

    def take(self, key: StockKey, quantity: int) -> None:
        self.taken[key] = self.taken.get(key, 0) + quantity
