"""A fulfilment run over a batch: queue order, allocation, gifts, split, merge, in that order, all in memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from presale_erp.domain.fulfilment.allocation import CostFn, allocate, place_gifts
from presale_erp.domain.fulfilment.gifts import GiftRule, gifts_for
from presale_erp.domain.fulfilment.merge import merge_parcels, waits_for_merge
from presale_erp.domain.fulfilment.model import (
    Allocated,
    FulfilmentPolicy,
    Line,
    Parcel,
    QueueOrder,
    ShipOrder,
    StockKey,
    Waiting,
    Warehouse,
)
from presale_erp.domain.fulfilment.split import plan_parcels

GIFT_LINE_BASE = 10_000  # gift lines are numbered after any real line (platforms stop far below this)


@dataclass(frozen=True)
class Catalogue:
    """What allocation needs to know besides stock: warehouses, pins, rates, gifts, unit weights and volumes."""

    warehouses: Sequence[Warehouse]
    pins: Mapping[str, frozenset[str]]
    cost: CostFn
    gift_rules: Sequence[GiftRule] = ()
    weight_grams: Mapping[str, int] = field(default_factory=dict)
    volume_cm3: Mapping[str, int] = field(default_factory=dict)


@dataclass
class Run:
    decisions: dict[int, Allocated | Waiting]
    parcels: list[Parcel]
    gifts_left: dict[int, int | None]


def queue(orders: Sequence[ShipOrder], policy: FulfilmentPolicy) -> list[ShipOrder]:
    """Flagged orders first, then by payment (or, for presale shops that say so, by deposit) time."""
    if policy.queue_order is QueueOrder.DEPOSIT_FIRST:
        return sorted(orders, key=lambda o: (-o.priority, o.deposit_paid_at or o.paid_at, o.id))
    return sorted(orders, key=lambda o: (-o.priority, o.paid_at, o.id))


def fulfil(
    orders: Sequence[ShipOrder],
    free: dict[StockKey, int],
    catalogue: Catalogue,
    policy: FulfilmentPolicy,
    now: datetime,
    open_parcels: Sequence[Parcel] = (),
    held: Mapping[int, Mapping[StockKey, int]] | None = None,
) -> Run:
    """Decide every order of the batch in queue order; `free` (on hand less reserved, per SKU and warehouse) is
    reduced by what each allocated order takes, so a later order never counts on stock an earlier one got.
    `held` is what each order already holds locked (its intake lock): it counts for that order alone, and is
    given back when the order is allocated elsewhere. Open parcels (stored, not yet picked) may take in new
    parcels for the same buyer."""
    held = held or {}
    decisions: dict[int, Allocated | Waiting] = {}
    new_parcels: list[Parcel] = []
    gifts_left = {rule.id: rule.remaining for rule in catalogue.gift_rules}
    for order in queue(orders, policy):
        waiting = waits_for_merge(order, policy, now)
        if waiting:
            decisions[order.id] = waiting
            continue
        own = held.get(order.id, {})
        decision = _decide(order, _WithOwn(free, own) if own else free, catalogue, policy, now, gifts_left)
        if isinstance(decision, Allocated):
            for key, units in own.items():  # its old lock goes back to the pool; _decide took the new one
                free[key] = free.get(key, 0) + units
        decisions[order.id] = decision
        if isinstance(decision, Allocated):
            new_parcels += decision.parcels
    return Run(decisions, merge_parcels([*open_parcels, *new_parcels], policy), gifts_left)


def _decide(
    order: ShipOrder,
    free: dict[StockKey, int],
    catalogue: Catalogue,
    policy: FulfilmentPolicy,
    now: datetime,
    gifts_left: dict[int, int | None],
) -> Allocated | Waiting:
    chosen = allocate(order, free, catalogue.warehouses, catalogue.pins, policy, catalogue.cost)
    if isinstance(chosen, Waiting):
        return chosen
    _take(free, order.lines, chosen)
    if not catalogue.gift_rules:  # most shops, most nights: nothing to try, nothing to copy
        return Allocated(order.id, chosen, plan_parcels(order, chosen, policy, now), [])
    trial_left = dict(gifts_left)
    gifts = _gift_lines(order, catalogue, trial_left)
    placed, notes = place_gifts(gifts, chosen, free)
    for gift in gifts:  # a gift not given does not count against the rule's limit
        if gift.line_no not in placed and trial_left.get(gift.gift_rule) is not None:
            trial_left[gift.gift_rule] += gift.quantity
    gifts_left.update(trial_left)
    _take(free, gifts, placed)
    with_gifts = replace(order, lines=[*order.lines, *(g for g in gifts if g.line_no in placed)])
    parcels = plan_parcels(with_gifts, chosen | placed, policy, now)
    return Allocated(order.id, chosen | placed, parcels, notes)


def _gift_lines(order: ShipOrder, catalogue: Catalogue, left: dict[int, int | None]) -> list[Line]:
    return [
        Line(
            line_no=GIFT_LINE_BASE + n,
            sku=rule.gift_sku,
            quantity=quantity,
            weight_grams=catalogue.weight_grams.get(rule.gift_sku, 0),
            volume_cm3=catalogue.volume_cm3.get(rule.gift_sku, 0),
            gift_rule=rule.id,
        )
        for n, (rule, quantity) in enumerate(gifts_for(order, catalogue.gift_rules, left), start=1)
    ]


class _WithOwn:
    """Free stock as one order sees it: the pool plus its own lock. Takes go to the pool (the caller gives
    the lock back to the pool once the order is allocated)."""

    def __init__(self, pool: dict[StockKey, int], own: Mapping[StockKey, int]) -> None:
        self.pool, self.own = pool, own

    def get(self, key: StockKey, default: int = 0) -> int:
        return self.pool.get(key, default) + self.own.get(key, 0)

    def __setitem__(self, key: StockKey, value: int) -> None:
        self.pool[key] = value - self.own.get(key, 0)


def _take(free: dict[StockKey, int], lines: Sequence[Line], chosen: Mapping[int, str]) -> None:
    for line in lines:
        if line.line_no in chosen:
            key = (line.sku, chosen[line.line_no])
            free[key] = free.get(key, 0) - line.quantity
