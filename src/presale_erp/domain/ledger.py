"""The stock ledger: immutable movements change positions; reservations lock what is promised.

A position is one SKU in one warehouse. Its counters are kept in the same transaction as the movement or
reservation that changes them, and the invariants below are checked by tests after every scenario:

- on_hand equals the sum of on-hand movements; damaged, and each in-transit counter, equals the sum of its
  movements; each bin holds the sum of the on-hand and damaged movements posted to it;
- reserved equals the sum of pending reservations, and also the sum of the three stage counters;
- available_to_sell never goes below zero. Reservations may exceed on_hand only by what the presale quota
  allows (预售额度), and only presale bookings (预订单) may draw on it: selling ahead of stock during a
  campaign draws down the quota like stock, and the quota so used stays used when the stock later arrives,
  so a quota can never be sold twice. A booking released while a campaign is open gives its units back to
  the quota; once no campaign is open they are gone with it.
- no reservation or shipment ever creates a shortage; only a recorded loss (adjustment, count, goods found
  damaged on the shelf) can.

Sellable and damaged stock: on_hand is sellable stock only, so everything that promises or ships stock reads it
alone. Units in a non-sellable bin (残次品区: damaged or in quarantine) count in the `damaged` bucket instead; a
movement line into or out of such a bin changes `damaged`, never on_hand. Moving units between a sellable and a
non-sellable bin moves them between the buckets; scrapping damaged units (报损) is an adjustment out of the bin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from presale_erp.domain.errors import InsufficientStock, InvalidRequest, NegativeStock, Shortfall


class Bucket(StrEnum):
    """Which counter of a position a movement line changes."""

    ON_HAND = "on_hand"  # sellable stock in sellable bins
    DAMAGED = "damaged"  # 残次/不良品: units in non-sellable bins, never promised to a buyer
    IN_TRANSIT_PURCHASE = "in_transit_purchase"  # 采购在途
    IN_TRANSIT_TRANSFER = "in_transit_transfer"  # 调拨在途


class MovementKind(StrEnum):
    RECEIPT = "receipt"  # 入库
    SHIPMENT = "shipment"  # 出库发货
    TRANSFER = "transfer"  # 调拨 (bin to bin, or out of one warehouse into transit to another)
    TRANSFER_RECEIPT = "transfer_receipt"  # 调拨入库
    ADJUSTMENT = "adjustment"  # 库存调整
    COUNT_CORRECTION = "count_correction"  # 盘点差异
    INBOUND_NOTICE = "inbound_notice"  # 到货通知: purchase stock on its way
    RETURN_RECEIPT = "return_receipt"  # 退货入库: goods a buyer sent back, into a sellable or a damaged bin


class ReservationStage(StrEnum):
    """Why stock is locked; each stage is a counter on the position that ERP users watch."""

    PRESALE_BOOKED = "presale_booked"  # 预订单量: paid but cannot ship yet
    AWAITING_REVIEW = "awaiting_review"  # 待审核
    AWAITING_SHIPMENT = "awaiting_shipment"  # 待发货


class ReservationStatus(StrEnum):
    """Two-phase life: pending, then posted (shipped), voided (released) or expired (lease ran out)."""

    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"
    EXPIRED = "expired"


BIN_BUCKETS = frozenset({Bucket.ON_HAND, Bucket.DAMAGED})  # the counters whose units sit in bins

PositionKey = tuple[str, str]  # (sku, warehouse)
BinKey = tuple[str, str, str]  # (sku, warehouse, bin)


@dataclass(frozen=True)
class MovementLine:
    """One signed change to one counter. A movement (one request) is one or more lines."""

    sku: str
    warehouse: str
    bin: str | None
    bucket: Bucket
    quantity: int


@dataclass
class StockPosition:
    sku: str
    warehouse: str
    on_hand: int = 0
    reserved: int = 0
    presale_quota: int = 0
    presale_quota_used: int = 0
    presale_booked: int = 0
    awaiting_review: int = 0
    awaiting_shipment: int = 0
    in_transit_purchase: int = 0
    in_transit_transfer: int = 0
    low_stock_threshold: int = 0
    presale_campaigns_open: int = 0
    damaged: int = 0  # 残次品: units in non-sellable bins, apart from on_hand

    @property
    def key(self) -> PositionKey:
        return (self.sku, self.warehouse)

    @property
    def presale_quota_left(self) -> int:
        return max(self.presale_quota - self.presale_quota_used, 0)

    @property
    def free_on_hand(self) -> int:
        """Physical stock not yet promised to anyone."""
        return max(self.on_hand - self.reserved, 0)

    @property
    def available_to_sell(self) -> int:
        """可用库存: what may still be promised to buyers, free stock plus what is left of the presale quota
        (the quota part only to presale bookings)."""
        return self.free_on_hand + self.presale_quota_left

    def available_for(self, stage: ReservationStage) -> int:
        """Only a presale booking may be sold ahead of stock; any other order needs stock on the shelf."""
        return self.available_to_sell if stage is ReservationStage.PRESALE_BOOKED else self.free_on_hand

    @property
    def available_to_ship(self) -> int:
        """可发库存: physical stock not already committed to approved orders waiting to ship."""
        return max(self.on_hand - self.awaiting_shipment, 0)

    @property
    def shortage(self) -> int:
        """Locked units that neither the shelves nor the presale quota cover (e.g. after a count loss)."""
        return max(self.reserved - self.on_hand - self.presale_quota_used, 0)

    @property
    def is_low(self) -> bool:
        return self.available_to_sell <= self.low_stock_threshold

    def apply(self, line: MovementLine) -> None:
        current = getattr(self, line.bucket.value)
        if current + line.quantity < 0:
            raise NegativeStock(f"{self.sku} in {self.warehouse}", line.bucket.value, current, line.quantity)
        setattr(self, line.bucket.value, current + line.quantity)

    def reserve(self, quantity: int, stage: ReservationStage = ReservationStage.AWAITING_REVIEW) -> int:
        """Lock `quantity`, taking free stock first, then the presale quota. Returns the units from the quota."""
        if quantity <= 0:
            raise InvalidRequest(f"A reservation of {self.sku} must be for at least 1 unit, not {quantity}.")
        available = self.available_for(stage)
        if quantity > available:
            raise InsufficientStock([Shortfall(self.sku, self.warehouse, quantity, available)])
        from_quota = max(quantity - self.free_on_hand, 0)
        self.reserved += quantity
        self.presale_quota_used += from_quota
        self._add_to_stage(stage, quantity)
        return from_quota

    def release(self, quantity: int, from_quota: int, stage: ReservationStage) -> None:
        """Unlock a reservation that will not ship. Units it took from the quota can be sold ahead again while
        a campaign is open; after the last campaign closed, they leave the quota with it."""
        self.reserved -= quantity
        self.presale_quota_used -= from_quota
        if self.presale_campaigns_open == 0:
            self.presale_quota -= from_quota
        self._add_to_stage(stage, -quantity)

    def consume(self, quantity: int, stage: ReservationStage) -> None:
        """The reserved units have shipped: the lock ends (the shipment movement takes them off the shelf)."""
        self.reserved -= quantity
        self._add_to_stage(stage, -quantity)

    def restage(self, quantity: int, from_stage: ReservationStage, to_stage: ReservationStage) -> None:
        self._add_to_stage(from_stage, -quantity)
        self._add_to_stage(to_stage, quantity)

    def open_presale(self, quota: int) -> None:
        """A campaign opens on this position: its quota may now be sold ahead of stock."""
        self.set_presale_quota(self.presale_quota + quota)
        self.presale_campaigns_open += 1

    def close_presale(self, quota: int) -> None:
        """A campaign closes: no more selling ahead, but units already sold ahead stay covered by the quota."""
        if self.presale_campaigns_open <= 0:
            raise InvalidRequest(f"No presale campaign is open on {self.sku} in {self.warehouse}.")
        self.presale_campaigns_open -= 1
        # After the last campaign nothing may be sold ahead: quota an earlier campaign kept for a booking that
        # has since been released must go too, not only this campaign's own.
        left = self.presale_quota - quota if self.presale_campaigns_open else 0
        self.set_presale_quota(max(left, self.presale_quota_used))

    def set_presale_quota(self, quota: int) -> None:
        if quota < 0:
            raise InvalidRequest(f"The presale quota of {self.sku} in {self.warehouse} cannot be negative.")
        if quota < self.presale_quota_used:
            raise InvalidRequest(
                f"{self.sku} in {self.warehouse} has already sold {self.presale_quota_used} ahead of stock; "
                f"the presale quota cannot go below that (asked for {quota})."
            )
        self.presale_quota = quota

    def _add_to_stage(self, stage: ReservationStage, quantity: int) -> None:
        setattr(self, stage.value, getattr(self, stage.value) + quantity)


@dataclass
class Reservation:
    """Stock locked for one order line (or parcel line) in one warehouse."""

    id: str
    sku: str
    warehouse: str
    quantity: int
    stage: ReservationStage
    from_quota: int = 0
    status: ReservationStatus = ReservationStatus.PENDING

    def require_pending(self) -> None:
        if self.status is not ReservationStatus.PENDING:
            raise InvalidRequest(f"Reservation {self.id} is already {self.status.value}; it cannot change.")


class ReservationRequest(NamedTuple):
    """One line to reserve. A named tuple: a flash sale makes thousands a second, and a frozen dataclass costs
    several times more to build."""

    id: str
    sku: str
    warehouse: str
    quantity: int
    stage: ReservationStage = ReservationStage.AWAITING_REVIEW


@dataclass
class StockBook:
    """The positions and bin balances one use case works on: all rules are applied here, in memory.

    The service loads (and locks) the rows, hands them to a book, and writes back what changed.
    """

    positions: dict[PositionKey, StockPosition]
    bins: dict[BinKey, int] = field(default_factory=dict)
    non_sellable_bins: set[tuple[str, str]] = field(default_factory=set)  # (warehouse, bin) of 残次品区 bins

    def position(self, sku: str, warehouse: str) -> StockPosition:
        key = (sku, warehouse)
        if key not in self.positions:
            self.positions[key] = StockPosition(sku=sku, warehouse=warehouse)
        return self.positions[key]

    def bin_bucket(self, warehouse: str, bin: str) -> Bucket:
        """The counter units in this bin count in: on_hand for a sellable bin, damaged for a 残次品区 bin."""
        return Bucket.DAMAGED if (warehouse, bin) in self.non_sellable_bins else Bucket.ON_HAND

    def post(self, lines: list[MovementLine]) -> None:
        """Apply every line or none: the whole movement is checked before anything changes."""
        trial_positions = {k: _copy_position(p) for k, p in self.positions.items()}
        trial_bins = dict(self.bins)
        trial = StockBook(trial_positions, trial_bins, self.non_sellable_bins)
        for line in lines:
            trial.position(line.sku, line.warehouse).apply(line)
            if line.bucket in BIN_BUCKETS:
                trial._put_in_bin(line)
        self.positions.update(trial_positions)
        self.bins.update(trial_bins)

    def _put_in_bin(self, line: MovementLine) -> None:
        if line.bin is None:
            raise InvalidRequest(f"An {line.bucket.value} movement of {line.sku} needs a bin.")
        if line.bucket is not self.bin_bucket(line.warehouse, line.bin):
            # A planner bug, never a staff error: sellable and damaged units must never mix in one bin's count.
            raise InvalidRequest(
                f"Bin {line.bin} of {line.warehouse} holds {self.bin_bucket(line.warehouse, line.bin).value} stock; "
                f"a {line.bucket.value} movement of {line.sku} cannot go there."
            )
        key = (line.sku, line.warehouse, line.bin)
        current = self.bins.get(key, 0)
        if current + line.quantity < 0:
            raise NegativeStock(
                f"{line.sku} in bin {line.bin} of {line.warehouse}", line.bucket.value, current, line.quantity
            )
        self.bins[key] = current + line.quantity

    def reserve_all(self, requests: list[ReservationRequest]) -> list[Reservation]:
        """Reserve every line or none; if any line is short, report every short line at once."""
        if len(requests) == 1:  # one line (a flash sale's every call): it changes nothing unless it succeeds
            return [self._reserve_one(requests[0])]
        trial: dict[PositionKey, StockPosition] = {}  # copies of the positions these requests touch, no more
        made: list[Reservation] = []
        shortfalls: list[Shortfall] = []
        for request in requests:
            key = (request.sku, request.warehouse)
            if key not in trial:
                known = self.positions.get(key)
                trial[key] = _copy_position(known) if known else StockPosition(request.sku, request.warehouse)
            position = trial[key]
            try:
                from_quota = position.reserve(request.quantity, request.stage)
            except InsufficientStock as short:
                shortfalls.extend(short.lines)
                continue
            made.append(
                Reservation(
                    id=request.id,
                    sku=request.sku,
                    warehouse=request.warehouse,
                    quantity=request.quantity,
                    stage=request.stage,
                    from_quota=from_quota,
                )
            )
        if shortfalls:
            raise InsufficientStock(shortfalls)
        self.positions.update(trial)
        return made

    def _reserve_one(self, request: ReservationRequest) -> Reservation:
        key = (request.sku, request.warehouse)
        position = self.positions.get(key) or StockPosition(request.sku, request.warehouse)
        from_quota = position.reserve(request.quantity, request.stage)  # raises before it changes anything
        self.positions[key] = position
        return Reservation(request.id, request.sku, request.warehouse, request.quantity, request.stage, from_quota)

    def release(self, reservation: Reservation, status: ReservationStatus = ReservationStatus.VOIDED) -> None:
        reservation.require_pending()
        self.position(reservation.sku, reservation.warehouse).release(
            reservation.quantity, reservation.from_quota, reservation.stage
        )
        reservation.status = status

    def consume(self, reservation: Reservation) -> None:
        reservation.require_pending()
        self.position(reservation.sku, reservation.warehouse).consume(reservation.quantity, reservation.stage)
        reservation.status = ReservationStatus.POSTED

    def restage(self, reservation: Reservation, stage: ReservationStage) -> None:
        reservation.require_pending()
        if stage is reservation.stage:
            return
        self.position(reservation.sku, reservation.warehouse).restage(reservation.quantity, reservation.stage, stage)
        reservation.stage = stage


def _copy_position(position: StockPosition) -> StockPosition:
    return StockPosition(**position.__dict__)
