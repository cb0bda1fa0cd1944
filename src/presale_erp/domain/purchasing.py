"""Purchase orders (采购单): their state machine, the supplier's production milestones, the rules that call a
line at risk or late, which presale orders wait on inbound goods, and a supplier's reliability score learned
from its deliveries. Pure: today's date and every fact come in as arguments."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.transitions import guard_transition


class PoStatus(StrEnum):
    DRAFT = "draft"  # 草稿: the merchant is still deciding
    SENT = "sent"  # 已下单: sent to the supplier, not yet confirmed
    CONFIRMED = "confirmed"  # 已确认: the supplier accepted quantities and dates
    PARTLY_RECEIVED = "partly_received"  # 部分到货
    RECEIVED = "received"  # 已到货: every line in full
    CLOSED = "closed"  # 已关闭: short-closed, the rest will not come
    CANCELLED = "cancelled"  # 已作废


PO_TRANSITIONS = frozenset(
    {
        ("draft", "sent"),
        ("draft", "cancelled"),
        ("sent", "confirmed"),
        ("sent", "cancelled"),
        # Goods sometimes arrive before the supplier ever confirms: a receipt is confirmation enough.
        ("sent", "partly_received"),
        ("sent", "received"),
        ("confirmed", "partly_received"),
        ("confirmed", "received"),
        ("confirmed", "cancelled"),
        ("confirmed", "closed"),
        ("partly_received", "partly_received"),
        ("partly_received", "received"),
        ("partly_received", "closed"),
    }
)
# Placed and not finished: goods are still expected (purchase in transit, 采购在途).
OPEN_STATUSES = (PoStatus.SENT.value, PoStatus.CONFIRMED.value, PoStatus.PARTLY_RECEIVED.value)
# A supplier may report progress while the order is placed and until the last unit arrives.
REPORTABLE_STATUSES = OPEN_STATUSES
RESCHEDULABLE_STATUSES = (PoStatus.DRAFT.value, *OPEN_STATUSES)


def check_transition(from_state: str, to_state: str) -> None:
    guard_transition("Purchase order", PO_TRANSITIONS, from_state, to_state)


def status_after_receipt(lines: Sequence[tuple[int, int]]) -> str:
    """The status a placed order takes after goods arrive, from (ordered, received) per line."""
    if all(received >= ordered for ordered, received in lines):
        return PoStatus.RECEIVED.value
    if any(received > 0 for _, received in lines):
        return PoStatus.PARTLY_RECEIVED.value
    raise InvalidRequest("Nothing has been received on this purchase order yet.")


class Milestone(StrEnum):
    """Production milestones a supplier reports, in the order they happen."""

    MATERIALS_IN = "materials_in"  # 备料完成
    IN_PRODUCTION = "in_production"  # 生产中
    QC_PASSED = "qc_passed"  # 质检通过
    SHIPPED = "shipped"  # 已发货


MILESTONE_ORDER = tuple(Milestone)
MILESTONE_NAMES_ZH = {
    Milestone.MATERIALS_IN: "备料完成",
    Milestone.IN_PRODUCTION: "生产中",
    Milestone.QC_PASSED: "质检通过",
    Milestone.SHIPPED: "已发货",
}
# When each milestone is due, as a share of the time the supplier was given (sent -> promised date). Shipping is
# due a little before the promised date because the goods still have to travel.
MILESTONE_DUE_SHARE: dict[Milestone, Decimal] = {
    Milestone.MATERIALS_IN: Decimal("0.25"),
    Milestone.IN_PRODUCTION: Decimal("0.50"),
    Milestone.QC_PASSED: Decimal("0.80"),
    Milestone.SHIPPED: Decimal("0.90"),
}
CONFIRM_WITHIN_DAYS = 3  # a supplier that has not confirmed 3 days after the order was sent puts it at risk


def parse_milestone(name: str) -> Milestone:
    try:
        return Milestone(name)
    except ValueError:
        known = ", ".join(m.value for m in MILESTONE_ORDER)
        raise InvalidRequest(f"Unknown milestone {name!r}; known milestones, in order: {known}.") from None


def furthest(milestones: Sequence[str]) -> Milestone | None:
    """The furthest milestone reached; a supplier reporting out of order does not move progress backwards."""
    reached = [MILESTONE_ORDER.index(Milestone(m)) for m in milestones]
    return MILESTONE_ORDER[max(reached)] if reached else None


def milestone_due_on(milestone: Milestone, sent_on: date, promised_on: date) -> date:
    window = max((promised_on - sent_on).days, 0)
    offset = int((MILESTONE_DUE_SHARE[milestone] * window).to_integral_value())
    return date.fromordinal(sent_on.toordinal() + offset)


def expected_milestone(today: date, sent_on: date, promised_on: date) -> Milestone | None:
    """The furthest milestone that should have been reached by today."""
    due = [m for m in MILESTONE_ORDER if milestone_due_on(m, sent_on, promised_on) <= today]
    return due[-1] if due else None


# --- Risk ---------------------------------------------------------------------------------------------------------


class RiskStatus(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"  # 交期风险: the promised date is unlikely
    LATE = "late"  # 已逾期: the promised date has passed and goods are missing


@dataclass(frozen=True)
class LineProgress:
    """What is known about one purchase order line on the day it is checked."""

    status: str  # the purchase order's
    quantity: int
    received: int
    promised_on: date | None
    sent_on: date | None  # the day the order went to the supplier
    milestones: tuple[str, ...] = ()  # every milestone reported for the line (or the whole order)
    asn_expected_on: date | None = None  # the latest arrival date the supplier's shipping notices give


@dataclass(frozen=True)
class RiskAssessment:
    status: RiskStatus
    reasons: tuple[str, ...] = field(default=())

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def assess_line(line: LineProgress, today: date) -> RiskAssessment:
    """The rules, each adding a reason; the worst status wins:

    1. late: today is past the promised date and units are still missing;
    2. at risk: the supplier has not confirmed CONFIRM_WITHIN_DAYS days after the order was sent;
    3. at risk: a shipping notice says the goods arrive after the promised date;
    4. at risk: the furthest milestone reported is behind the one due by today (milestones are due at
       MILESTONE_DUE_SHARE of the time between sending and the promised date; a shipping notice counts as shipped).
    A line fully received, or of an order not placed, is on track."""
    outstanding = line.quantity - line.received
    if outstanding <= 0 or line.status not in OPEN_STATUSES or line.promised_on is None:
        return RiskAssessment(RiskStatus.ON_TRACK)
    late: list[str] = []
    risks: list[str] = []
    if today > line.promised_on:
        days = (today - line.promised_on).days
        late.append(f"promised for {line.promised_on}, {days} day(s) ago; {outstanding} of {line.quantity} missing")
    if line.status == PoStatus.SENT and line.sent_on and (today - line.sent_on).days > CONFIRM_WITHIN_DAYS:
        risks.append(f"not confirmed by the supplier {(today - line.sent_on).days} days after it was sent")
    if line.asn_expected_on and line.asn_expected_on > line.promised_on:
        risks.append(f"the shipping notice expects arrival on {line.asn_expected_on}, after {line.promised_on}")
    behind = _milestone_behind(line, today)
    if behind:
        risks.append(behind)
    if late:
        return RiskAssessment(RiskStatus.LATE, tuple(late + risks))
    if risks:
        return RiskAssessment(RiskStatus.AT_RISK, tuple(risks))
    return RiskAssessment(RiskStatus.ON_TRACK)


def _milestone_behind(line: LineProgress, today: date) -> str:
    if line.sent_on is None or line.promised_on is None:
        return ""
    expected = expected_milestone(today, line.sent_on, line.promised_on)
    if expected is None:
        return ""
    reported = list(line.milestones) + ([Milestone.SHIPPED.value] if line.asn_expected_on else [])
    reached = furthest(reported)
    if reached is not None and MILESTONE_ORDER.index(reached) >= MILESTONE_ORDER.index(expected):
        return ""
    due_on = milestone_due_on(expected, line.sent_on, line.promised_on)
    so_far = f"only {reached.value}" if reached else "no milestone reported"
    return f"{expected.value} was due by {due_on}, {so_far}"


# --- Who waits on inbound goods -----------------------------------------------------------------------------------


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Booking:
    """A paid presale order's lock (预订单量) on a SKU in a warehouse, and the revenue of its presale line."""

    order_id: int
    shop: str
    platform_order_id: str
    paid_at: datetime | None
    quantity: int
    revenue: Decimal


def waiting_on_inbound(bookings: Sequence[Booking], free_on_hand: int) -> list[Booking]:
    """The presale orders that only inbound goods can serve: stock on the shelf (not held for other stages) serves
    the earliest-paid orders first, exactly as allocation would; every order after that waits for a delivery."""
    left = max(free_on_hand, 0)
    waiting = []
    for booking in sorted(bookings, key=lambda b: (b.paid_at is None, b.paid_at or _EPOCH, b.order_id)):
        if booking.quantity <= left:
            left -= booking.quantity
            continue
        left = 0  # a partly covered order still waits for the rest
        waiting.append(booking)
    return waiting


@dataclass(frozen=True)
class SupplierTerms:
    supplier: str
    name: str
    unit_cost: Decimal
    min_order: int
    lead_time_days: Decimal
    score: int | None = None


def alternatives(terms: Sequence[SupplierTerms], current: str) -> list[SupplierTerms]:
    """Other suppliers of the SKU, fastest first (a late presale needs time more than a lower price), then
    cheapest."""
    others = [t for t in terms if t.supplier != current]
    return sorted(others, key=lambda t: (t.lead_time_days, t.unit_cost, t.supplier))


# --- Supplier reliability ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One purchase order line as delivered: when it was sent, promised and (last) received, and how much."""

    sent_on: date
    promised_on: date
    received_on: date | None  # None: nothing arrived (a line closed short with nothing)
    ordered: int
    received: int


@dataclass(frozen=True)
class Reliability:
    deliveries: int
    on_time_rate: Decimal | None  # share of lines that arrived by the promised date
    lead_time_mean_days: Decimal | None
    lead_time_std_days: Decimal | None
    fill_rate: Decimal | None  # share of ordered units that arrived
    score: int | None  # 0-100; None until there is a delivery


SCORE_WEIGHTS = {"on_time": Decimal("0.5"), "fill": Decimal("0.3"), "consistency": Decimal("0.2")}


def reliability(deliveries: Sequence[Delivery]) -> Reliability:
    """Score = 50 % on-time rate + 30 % fill rate + 20 % lead-time consistency (1 - coefficient of variation,
    floored at 0): a supplier that delivers in full, on time, and predictably scores 100."""
    if not deliveries:
        return Reliability(0, None, None, None, None, None)
    arrived = [d for d in deliveries if d.received_on is not None]
    on_time = _ratio(sum(1 for d in arrived if d.received_on <= d.promised_on), len(deliveries))  # type: ignore[operator]
    fill = _ratio(sum(min(d.received, d.ordered) for d in deliveries), sum(d.ordered for d in deliveries))
    lead_times = [(d.received_on - d.sent_on).days for d in arrived]  # type: ignore[operator]
    mean = Decimal(str(statistics.fmean(lead_times))) if lead_times else None
    std = Decimal(str(statistics.pstdev(lead_times))) if lead_times else None
    consistency = Decimal("1") if not mean else max(Decimal("0"), 1 - std / mean)  # type: ignore[operator]
    w = SCORE_WEIGHTS
    score = int(
        (100 * (w["on_time"] * on_time + w["fill"] * fill + w["consistency"] * consistency)).to_integral_value(
            ROUND_HALF_UP
        )
    )
    return Reliability(len(deliveries), on_time, _days(mean), _days(std), fill, score)


def _ratio(part: int, whole: int) -> Decimal:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else Decimal("0")


def _days(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.01"))
