"""Split (拆单): an allocated order becomes parcels, by warehouse, presale ship date and parcel limits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from presale_erp.domain.fulfilment.model import FulfilmentPolicy, Line, Parcel, ParcelLine, ShipOrder

BY_WAREHOUSE = "按仓拆单"
BY_PRESALE = "预售/现货分开发"
BY_SHIP_DATE = "按预售发货日拆单"
BY_LIMIT = "超重/超体积拆单"


def plan_parcels(
    order: ShipOrder, warehouse_of_line: dict[int, str], policy: FulfilmentPolicy, now: datetime
) -> list[Parcel]:
    lines = [line for line in order.lines if line.line_no in warehouse_of_line]
    after = _ship_after(lines, policy, now)
    groups: dict[tuple[str, datetime | None], list[Line]] = {}
    for line in lines:
        if line.gift_rule is None:
            groups.setdefault((warehouse_of_line[line.line_no], after[line.line_no]), []).append(line)
    for gift in (line for line in lines if line.gift_rule is not None):  # gifts go in the first box from home
        wh = warehouse_of_line[gift.line_no]
        first = min((key for key in groups if key[0] == wh), key=lambda k: (k[1] is not None, k[1] or now))
        groups[first].append(gift)
    parcels = [
        packed
        for (wh, ship_after), group in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or now))
        for packed in _pack(order, wh, ship_after, group, policy)
    ]
    _explain(parcels)
    return parcels


def _ship_after(lines: Sequence[Line], policy: FulfilmentPolicy, now: datetime) -> dict[int, datetime | None]:
    """When each line may leave: presale goods not before their planned date; in-stock goods now, unless the
    shop waits for the whole order; one date for all presale lines unless the shop splits by ship date."""
    future = {
        line.line_no: line.planned_ship_at
        for line in lines
        if line.presale and line.planned_ship_at is not None and line.planned_ship_at > now
    }
    if not future:
        return {line.line_no: None for line in lines}
    latest = max(future.values())
    if not policy.ship_in_stock_first:
        return {line.line_no: latest for line in lines}
    if not policy.split_by_ship_date:
        return {line.line_no: latest if line.line_no in future else None for line in lines}
    return {line.line_no: future.get(line.line_no) for line in lines}


def _pack(
    order: ShipOrder, wh: str, ship_after: datetime | None, lines: list[Line], policy: FulfilmentPolicy
) -> list[Parcel]:
    """First fit, heaviest units first, within the shop's weight and volume limits; a unit over the limit on
    its own still ships, alone."""
    max_w, max_v = policy.max_parcel_weight_grams, policy.max_parcel_volume_cm3
    boxes: list[Parcel] = []
    for line in sorted(lines, key=lambda line: (-line.weight_grams, line.line_no)):
        units = line.quantity
        while units:
            box = next((b for b in boxes if _room(b, line, max_w, max_v) > 0), None)
            if box is None:
                box = _empty(order, wh, ship_after)
                boxes.append(box)
            fits = min(units, _room(box, line, max_w, max_v))
            _add(box, line, order.id, fits)
            units -= fits
    return boxes


def _room(box: Parcel, line: Line, max_w: int, max_v: int) -> int:
    """How many more units of the line fit in the box (a large number when there is no limit)."""
    room = 10**9
    if max_w and line.weight_grams:
        room = min(room, (max_w - box.weight_grams) // line.weight_grams)
    if max_v and line.volume_cm3:
        room = min(room, (max_v - box.volume_cm3) // line.volume_cm3)
    if room <= 0 and not box.lines:
        return 1  # an empty box takes one unit even if it alone is over the limit
    return max(room, 0)


def _empty(order: ShipOrder, wh: str, ship_after: datetime | None) -> Parcel:
    return Parcel(
        warehouse=wh,
        shop_id=order.shop_id,
        buyer_index=order.buyer_index,
        address_index=order.address_index,
        province=order.province,
        ship_after=ship_after,
        lines=[],
        weight_grams=0,
        volume_cm3=0,
        earliest_paid_at=order.paid_at,
        latest_paid_at=order.paid_at,
        mergeable=not (order.cash_on_delivery or order.separate_parcels),
        presale=order.presale,
    )


def _add(box: Parcel, line: Line, order_id: int, units: int) -> None:
    existing = next((p for p in box.lines if p.line_no == line.line_no and p.order_id == order_id), None)
    if existing:
        existing.quantity += units
    else:
        box.lines.append(ParcelLine(order_id, line.line_no, line.sku, units, line.gift_rule))
    box.weight_grams += line.weight_grams * units
    box.volume_cm3 += line.volume_cm3 * units


def _explain(parcels: list[Parcel]) -> None:
    """Each parcel of a split order says why it is apart from its siblings."""
    if len(parcels) < 2:
        return
    warehouses = {p.warehouse for p in parcels}
    for parcel in parcels:
        reasons = []
        if len(warehouses) > 1:
            reasons.append(BY_WAREHOUSE)
        same_wh = [p for p in parcels if p.warehouse == parcel.warehouse]
        dates = {p.ship_after for p in same_wh}
        if len(dates) > 1:
            reasons.append(BY_SHIP_DATE if None not in dates or len(dates) > 2 else BY_PRESALE)
        if len(same_wh) > len(dates):
            reasons.append(BY_LIMIT)
        parcel.reason = ", ".join(reasons)
