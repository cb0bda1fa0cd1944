"""Merge (合单): parcels for one buyer at one address from one warehouse travel as one box."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from presale_erp.domain.fulfilment.model import FulfilmentPolicy, Parcel, ShipOrder, Waiting

MERGED = "合单"


def merge_parcels(parcels: Sequence[Parcel], policy: FulfilmentPolicy) -> list[Parcel]:
    """Stored parcels (with a code) absorb new ones and keep their code. Never merged: cash-on-delivery
    orders, buyers who asked for separate parcels, presale parcels when the shop keeps them out, parcels of
    different ship dates (unless allowed), orders paid further apart than the window, two parcels of one order
    (they were split on purpose), or a merge that would break the parcel limits."""
    if not policy.merge:
        return list(parcels)
    kept: list[Parcel] = []
    buckets: dict[tuple, list[Parcel]] = {}
    for parcel in parcels:
        if _may_merge(parcel, policy):
            buckets.setdefault(_bucket(parcel, policy), []).append(parcel)
        else:
            kept.append(parcel)
    window = timedelta(hours=policy.merge_window_hours)
    for group in buckets.values():
        group.sort(key=lambda p: (p.code is None, p.earliest_paid_at))
        merged: list[Parcel] = []
        for parcel in group:
            home = next((m for m in merged if _fits(m, parcel, policy, window)), None)
            if home is None:
                merged.append(parcel)
            else:
                _absorb(home, parcel)
        kept += merged
    return kept


def waits_for_merge(order: ShipOrder, policy: FulfilmentPolicy, now: datetime) -> Waiting | None:
    """合单等待: a fresh order may wait a little in case the same buyer's next order is on its way."""
    if not policy.merge or not policy.merge_wait_minutes or order.cash_on_delivery or order.separate_parcels:
        return None
    if order.presale and not policy.merge_presale:
        return None
    until = order.paid_at + timedelta(minutes=policy.merge_wait_minutes)
    if now < until:
        return Waiting(f"等待合单 (waiting for a possible merge until {until.isoformat(timespec='minutes')})")
    return None


def names_buyer_and_address(buyer_index: str, address_index: str) -> bool:
    """Only a named buyer at a known address can be told to be the same buyer at the same address: a buyer the
    platform leaves out (Pinduoduo and Douyin may) merges with nothing."""
    return bool(buyer_index and address_index)


def _may_merge(parcel: Parcel, policy: FulfilmentPolicy) -> bool:
    if not parcel.mergeable or not names_buyer_and_address(parcel.buyer_index, parcel.address_index):
        return False
    return policy.merge_presale or not parcel.presale


def _bucket(parcel: Parcel, policy: FulfilmentPolicy) -> tuple:
    ship_after = None if policy.merge_across_ship_dates else parcel.ship_after
    return (parcel.shop_id, parcel.buyer_index, parcel.address_index, parcel.warehouse, ship_after)


def _fits(home: Parcel, other: Parcel, policy: FulfilmentPolicy, window: timedelta) -> bool:
    if set(home.order_ids) & set(other.order_ids):
        return False
    if max(home.latest_paid_at, other.latest_paid_at) - min(home.earliest_paid_at, other.earliest_paid_at) > window:
        return False
    if policy.max_parcel_weight_grams and home.weight_grams + other.weight_grams > policy.max_parcel_weight_grams:
        return False
    return not (policy.max_parcel_volume_cm3 and home.volume_cm3 + other.volume_cm3 > policy.max_parcel_volume_cm3)


def _absorb(home: Parcel, other: Parcel) -> None:
    home.lines += other.lines
    home.weight_grams += other.weight_grams
    home.volume_cm3 += other.volume_cm3
    home.earliest_paid_at = min(home.earliest_paid_at, other.earliest_paid_at)
    home.latest_paid_at = max(home.latest_paid_at, other.latest_paid_at)
    if home.ship_after is None or (other.ship_after is not None and other.ship_after > home.ship_after):
        home.ship_after = other.ship_after
    home.presale = home.presale or other.presale
    home.reason = f"{MERGED}: orders {', '.join(map(str, home.order_ids))}"
