"""Property: whatever staff and orders do, in any order, the ledger's counters stay true.

Random sequences of receipts, adjustments, counts, shipments, reservations, releases, restaging and quota
changes, into and out of a sellable shelf and a non-sellable (damaged) bin and between them; after every step
on_hand and damaged each equal the sum of their movements and of their bins, reserved equals the sum of pending
reservations, and available to sell never goes below zero."""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from presale_erp.domain.errors import DomainError
from presale_erp.domain.ledger import (
    Bucket,
    MovementKind,
    Reservation,
    ReservationRequest,
    ReservationStage,
    ReservationStatus,
    StockBook,
)
from presale_erp.domain.movements import MovementRequest, plan_lines

SKU, WH = "TEA", "HZ"
BINS = ["A-01", "A-02"]
DAMAGED_BIN = "X-01"  # 残次品区
ANY_BIN = [*BINS, DAMAGED_BIN]
stages = st.sampled_from(list(ReservationStage))


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.book = StockBook(positions={}, non_sellable_bins={(WH, DAMAGED_BIN)})
        self.posted: list[int] = []
        self.posted_damaged: list[int] = []
        self.reservations: list[Reservation] = []
        self.next_id = 0
        self.shortage_before = 0
        self.opened: list[int] = []
        self.loss_recorded = False

    @property
    def position(self):
        return self.book.position(SKU, WH)

    def _post(self, request: MovementRequest) -> None:
        try:
            lines = plan_lines(request, self.book)
            self.book.post(lines)
        except DomainError:
            return
        self.posted.extend(line.quantity for line in lines if line.bucket is Bucket.ON_HAND)
        self.posted_damaged.extend(line.quantity for line in lines if line.bucket is Bucket.DAMAGED)

    @rule(
        quantity=st.integers(1, 50),
        bin=st.sampled_from(ANY_BIN),
        kind=st.sampled_from([MovementKind.RECEIPT, MovementKind.RETURN_RECEIPT]),
    )
    def receive(self, quantity: int, bin: str, kind: MovementKind) -> None:
        self._post(MovementRequest(kind, SKU, WH, quantity, bin=bin))

    @rule(change=st.integers(-30, 30).filter(bool), bin=st.sampled_from(ANY_BIN))
    def adjust(self, change: int, bin: str) -> None:
        self.loss_recorded = change < 0
        self._post(MovementRequest(MovementKind.ADJUSTMENT, SKU, WH, change, bin=bin, reason="property"))

    @rule(counted=st.integers(0, 60), bin=st.sampled_from(ANY_BIN))
    def count(self, counted: int, bin: str) -> None:
        self.loss_recorded = True
        self._post(MovementRequest(MovementKind.COUNT_CORRECTION, SKU, WH, counted, bin=bin))

    @rule(quantity=st.integers(1, 20), bin=st.sampled_from(ANY_BIN))
    def ship_unreserved(self, quantity: int, bin: str) -> None:
        self._post(MovementRequest(MovementKind.SHIPMENT, SKU, WH, quantity, bin=bin))

    @rule(quantity=st.integers(1, 20), bin=st.sampled_from(BINS))
    def find_damaged(self, quantity: int, bin: str) -> None:
        self.loss_recorded = True  # goods found damaged on the shelf are a recorded loss of sellable stock
        self._post(MovementRequest(MovementKind.TRANSFER, SKU, WH, quantity, bin=bin, to_bin=DAMAGED_BIN))

    @rule(quantity=st.integers(1, 20), bin=st.sampled_from(BINS))
    def pass_inspection(self, quantity: int, bin: str) -> None:
        available = self.position.available_to_sell
        self._post(MovementRequest(MovementKind.TRANSFER, SKU, WH, quantity, bin=DAMAGED_BIN, to_bin=bin))
        assert self.position.available_to_sell >= available

    @rule(quantity=st.integers(1, 20), stage=stages)
    def reserve(self, quantity: int, stage: ReservationStage) -> None:
        self.next_id += 1
        could = self.position.available_for(stage)
        try:
            made = self.book.reserve_all([ReservationRequest(f"R{self.next_id}", SKU, WH, quantity, stage)])
        except DomainError:
            assert quantity > could
            return
        assert quantity <= could
        assert made[0].from_quota == 0 or stage is ReservationStage.PRESALE_BOOKED
        self.reservations.extend(made)

    def _pending(self) -> list[Reservation]:
        return [r for r in self.reservations if r.status is ReservationStatus.PENDING]

    @precondition(lambda self: self._pending())
    @rule(pick=st.integers(0, 1000))
    def release(self, pick: int) -> None:
        pending = self._pending()
        self.book.release(pending[pick % len(pending)])

    @precondition(lambda self: self._pending())
    @rule(pick=st.integers(0, 1000), bin=st.sampled_from(BINS))
    def ship_reserved(self, pick: int, bin: str) -> None:
        pending = self._pending()
        reservation = pending[pick % len(pending)]
        request = MovementRequest(
            MovementKind.SHIPMENT, SKU, WH, reservation.quantity, bin=bin, reservation_id=reservation.id
        )
        try:
            lines = plan_lines(request, self.book)
            trial = StockBook(
                {k: v for k, v in self.book.positions.items()}, dict(self.book.bins), self.book.non_sellable_bins
            )
            trial.post(lines)  # shipping must be physically possible before the lock is consumed
        except DomainError:
            return
        self.book.consume(reservation)
        self.book.post(lines)
        self.posted.extend(line.quantity for line in lines)

    @precondition(lambda self: self._pending())
    @rule(pick=st.integers(0, 1000), stage=stages)
    def restage(self, pick: int, stage: ReservationStage) -> None:
        pending = self._pending()
        self.book.restage(pending[pick % len(pending)], stage)

    @rule(quota=st.integers(0, 40))
    def open_campaign(self, quota: int) -> None:
        self.position.open_presale(quota)
        self.opened.append(quota)

    @precondition(lambda self: self.opened)
    @rule(pick=st.integers(0, 1000))
    def close_campaign(self, pick: int) -> None:
        self.position.close_presale(self.opened.pop(pick % len(self.opened)))

    @invariant()
    def on_hand_is_the_sum_of_movements(self) -> None:
        assert self.position.on_hand == sum(self.posted)
        assert self.position.damaged == sum(self.posted_damaged)
        assert self.position.on_hand == sum(
            q for (s, w, b), q in self.book.bins.items() if (s, w, b) != (SKU, WH, DAMAGED_BIN)
        )
        assert self.position.damaged == self.book.bins.get((SKU, WH, DAMAGED_BIN), 0)

    @invariant()
    def reserved_is_the_sum_of_pending_reservations_and_of_stages(self) -> None:
        pending = self._pending()
        p = self.position
        assert p.reserved == sum(r.quantity for r in pending)
        assert p.reserved == p.presale_booked + p.awaiting_review + p.awaiting_shipment
        assert p.presale_quota_used == sum(r.from_quota for r in pending) + self._quota_kept_by_shipped()
        assert p.presale_campaigns_open == len(self.opened)

    def _quota_kept_by_shipped(self) -> int:
        return sum(r.from_quota for r in self.reservations if r.status is ReservationStatus.POSTED)

    @invariant()
    def only_a_recorded_loss_can_leave_promises_uncovered(self) -> None:
        if not self.loss_recorded:
            assert self.position.shortage <= self.shortage_before
        self.shortage_before = self.position.shortage
        self.loss_recorded = False

    @invariant()
    def no_quota_is_left_to_sell_once_every_campaign_closed(self) -> None:
        if not self.opened:
            assert self.position.presale_quota_left == 0

    @invariant()
    def nothing_goes_negative_and_quota_bounds_overselling(self) -> None:
        p = self.position
        assert p.available_to_sell >= 0
        assert p.on_hand >= 0 and p.reserved >= 0 and p.damaged >= 0
        assert 0 <= p.presale_quota_used <= p.presale_quota
        assert all(q >= 0 for q in self.book.bins.values())


LedgerMachine.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
test_ledger_invariants_hold_under_any_sequence = LedgerMachine.TestCase
