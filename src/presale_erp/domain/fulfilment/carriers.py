"""Carrier choice (快递策略): which carrier takes a parcel, by region, weight and the rate table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from presale_erp.domain.fulfilment.model import Waiting


@dataclass(frozen=True)
class CarrierRule:
    """Where a carrier may be used: to these provinces (empty: all), from these warehouses (empty: all), up to a
    weight (0: any). Among the carriers allowed, the cheapest rate wins; priority breaks ties."""

    carrier: str
    provinces: frozenset[str] = frozenset()
    warehouses: frozenset[str] = frozenset()
    max_weight_grams: int = 0
    priority: int = 100


@dataclass(frozen=True)
class Rate:
    """首重/续重: the first `first_weight_grams` for `first_fee`, each further kilo (or part) `extra_fee_per_kg`.
    A rate without a warehouse or province applies to all of them; the most specific one is used."""

    carrier: str
    first_weight_grams: int
    first_fee: Decimal
    extra_fee_per_kg: Decimal
    warehouse: str | None = None
    province: str | None = None

    def price(self, grams: int) -> Decimal:
        extra_kilos = math.ceil(max(grams - self.first_weight_grams, 0) / 1000)
        return self.first_fee + self.extra_fee_per_kg * extra_kilos


@dataclass(frozen=True)
class CarrierChoice:
    carrier: str
    cost: Decimal | None


def rate_for(rates: Sequence[Rate], carrier: str, warehouse: str, province: str) -> Rate | None:
    matching = [
        r for r in rates if r.carrier == carrier and r.warehouse in (None, warehouse) and r.province in (None, province)
    ]
    return max(matching, key=lambda r: (r.province is not None, r.warehouse is not None), default=None)


def cheapest(rates: Sequence[Rate], warehouse: str, province: str, grams: int) -> Decimal | None:
    prices = [
        rate.price(grams)
        for carrier in {r.carrier for r in rates}
        if (rate := rate_for(rates, carrier, warehouse, province)) is not None
    ]
    return min(prices, default=None)


def choose_carrier(
    grams: int, warehouse: str, province: str, rules: Sequence[CarrierRule], rates: Sequence[Rate]
) -> CarrierChoice | Waiting:
    if rules:
        allowed = [
            r
            for r in rules
            if (not r.provinces or province in r.provinces)
            and (not r.warehouses or warehouse in r.warehouses)
            and (not r.max_weight_grams or grams <= r.max_weight_grams)
        ]
    else:
        allowed = [CarrierRule(carrier) for carrier in sorted({r.carrier for r in rates})]
    if not allowed:
        return Waiting(f"无可用快递 (no carrier rule covers {province or '?'} from {warehouse} at {grams} g)")
    priced = []
    for rule in allowed:
        rate = rate_for(rates, rule.carrier, warehouse, province)
        cost = rate.price(grams) if rate else None
        rank = (cost is None, cost or Decimal(0), rule.priority, rule.carrier)  # unpriced carriers come last
        priced.append((rank, CarrierChoice(rule.carrier, cost)))
    return min(priced, key=lambda p: p[0])[1]
