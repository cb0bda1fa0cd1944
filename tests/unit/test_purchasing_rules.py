"""Purchase order rules, without a database: the state machine, milestones, when a line is at risk or late,
which presale orders wait on inbound goods, alternative suppliers, and the supplier reliability score."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from presale_erp.domain import purchasing as po
from presale_erp.domain.errors import IllegalTransition, InvalidRequest
from presale_erp.domain.purchasing import Booking, Delivery, LineProgress, RiskStatus, SupplierTerms

SENT = date(2026, 11, 1)
PROMISED = date(2026, 11, 21)  # 20 days later: materials by day 5, production by 10, QC by 16, shipped by 18
D = timedelta(days=1)


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        ("draft", "sent"),
        ("draft", "cancelled"),
        ("sent", "confirmed"),
        ("sent", "cancelled"),
        ("sent", "partly_received"),
        ("confirmed", "partly_received"),
        ("confirmed", "received"),
        ("confirmed", "closed"),
        ("partly_received", "received"),
        ("partly_received", "closed"),
    ],
)
def test_allowed_purchase_order_transitions(from_state, to_state):
    po.check_transition(from_state, to_state)


@pytest.mark.parametrize(
    ("from_state", "to_state"),
    [
        ("draft", "confirmed"),  # a supplier cannot confirm what was never sent
        ("draft", "received"),
        ("sent", "sent"),
        ("confirmed", "sent"),
        ("partly_received", "cancelled"),  # goods already came: close it instead
        ("received", "cancelled"),
        ("received", "closed"),
        ("cancelled", "sent"),
        ("closed", "confirmed"),
    ],
)
def test_illegal_purchase_order_transitions_are_refused(from_state, to_state):
    with pytest.raises(IllegalTransition, match=f"from '{from_state}' to '{to_state}'"):
        po.check_transition(from_state, to_state)


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([(10, 10), (5, 5)], "received"),
        ([(10, 4), (5, 0)], "partly_received"),
        ([(10, 12)], "received"),  # over-delivery still completes the line
    ],
)
def test_the_status_after_a_receipt_follows_the_lines(lines, status):
    assert po.status_after_receipt(lines) == status


def test_a_receipt_of_nothing_is_refused():
    with pytest.raises(InvalidRequest):
        po.status_after_receipt([(10, 0)])


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (SENT, None),
        (date(2026, 11, 6), po.Milestone.MATERIALS_IN),
        (date(2026, 11, 11), po.Milestone.IN_PRODUCTION),
        (date(2026, 11, 17), po.Milestone.QC_PASSED),
        (date(2026, 11, 19), po.Milestone.SHIPPED),
    ],
)
def test_milestones_fall_due_at_shares_of_the_time_given(today, expected):
    assert po.expected_milestone(today, SENT, PROMISED) == expected


def test_the_furthest_milestone_wins_even_when_reported_out_of_order():
    assert po.furthest(["qc_passed", "materials_in"]) == po.Milestone.QC_PASSED
    assert po.furthest([]) is None


def test_an_unknown_milestone_is_refused_with_the_known_ones():
    with pytest.raises(InvalidRequest, match="materials_in, in_production, qc_passed, shipped"):
        po.parse_milestone("painted")


def line(**changes) -> LineProgress:
    base = {
        "status": "confirmed",
        "quantity": 100,
        "received": 0,
        "promised_on": PROMISED,
        "sent_on": SENT,
        "milestones": (),
        "asn_expected_on": None,
    }
    return LineProgress(**(base | changes))


@pytest.mark.parametrize(
    ("case", "progress", "today", "status", "reason"),
    [
        ("just sent", line(status="sent"), SENT + D, RiskStatus.ON_TRACK, ""),
        ("unconfirmed for 4 days", line(status="sent"), SENT + 4 * D, RiskStatus.AT_RISK, "not confirmed"),
        ("materials in on time", line(milestones=("materials_in",)), date(2026, 11, 8), RiskStatus.ON_TRACK, ""),
        ("no milestone by day 7", line(), date(2026, 11, 8), RiskStatus.AT_RISK, "materials_in was due by 2026-11-06"),
        ("still materials at QC time", line(milestones=("materials_in",)), date(2026, 11, 17), RiskStatus.AT_RISK,
         "qc_passed was due"),
        ("ASN after the promised date", line(asn_expected_on=PROMISED + 3 * D), SENT + 2 * D, RiskStatus.AT_RISK,
         "expects arrival on 2026-11-24"),
        ("ASN in time counts as shipped", line(asn_expected_on=PROMISED), date(2026, 11, 19), RiskStatus.ON_TRACK, ""),
        ("past the promised date", line(milestones=("shipped",)), PROMISED + 2 * D, RiskStatus.LATE,
         "2 day(s) ago; 100 of 100 missing"),
        ("partly received and late", line(received=60, milestones=("shipped",)), PROMISED + D, RiskStatus.LATE,
         "40 of 100 missing"),
        ("received in full", line(received=100), PROMISED + 9 * D, RiskStatus.ON_TRACK, ""),
        ("a draft is not checked", line(status="draft"), PROMISED + 9 * D, RiskStatus.ON_TRACK, ""),
        ("cancelled is not checked", line(status="cancelled"), PROMISED + 9 * D, RiskStatus.ON_TRACK, ""),
    ],
)  # fmt: skip
def test_risk_rules(case, progress, today, status, reason):
    assessment = po.assess_line(progress, today)
    assert assessment.status == status, case
    assert reason in assessment.reason, case


def test_a_late_line_also_says_why_it_was_at_risk():
    assessment = po.assess_line(line(status="sent"), PROMISED + D)
    assert assessment.status == RiskStatus.LATE
    assert len(assessment.reasons) == 3  # late, unconfirmed, no milestone


T0 = datetime(2026, 11, 1, tzinfo=UTC)


def booking(order_id: int, quantity: int, hours: int) -> Booking:
    return Booking(
        order_id, "TM-1", f"T{order_id}", T0 + timedelta(hours=hours), quantity, Decimal("198.00") * quantity
    )


@pytest.mark.parametrize(
    ("free", "waiting"),
    [
        (0, [1, 2, 3]),
        (2, [2, 3]),  # the earliest-paid order is served from the shelf
        (3, [2, 3]),  # order 2 wants 2: one unit is not enough, it still waits
        (4, [3]),
        (10, []),
        (-5, [1, 2, 3]),  # shelf stock held for other orders serves nobody
    ],
)
def test_presale_orders_wait_on_inbound_in_payment_order(free, waiting):
    bookings = [booking(3, 1, hours=5), booking(1, 2, hours=1), booking(2, 2, hours=3)]
    assert [b.order_id for b in po.waiting_on_inbound(bookings, free)] == waiting


def test_alternative_suppliers_are_the_others_fastest_first_then_cheapest():
    terms = [
        SupplierTerms("SLOW", "慢", Decimal("60.00"), 10, Decimal("30")),
        SupplierTerms("CURRENT", "现", Decimal("70.00"), 10, Decimal("5")),
        SupplierTerms("FAST-DEAR", "贵", Decimal("90.00"), 10, Decimal("7")),
        SupplierTerms("FAST-CHEAP", "快", Decimal("80.00"), 10, Decimal("7")),
    ]
    assert [t.supplier for t in po.alternatives(terms, "CURRENT")] == ["FAST-CHEAP", "FAST-DEAR", "SLOW"]


def delivery(lead: int, promised_in: int, ordered: int = 100, received: int = 100) -> Delivery:
    return Delivery(SENT, SENT + promised_in * D, SENT + lead * D, ordered, received)


@pytest.mark.parametrize(
    ("case", "deliveries", "on_time", "fill", "mean", "std", "score"),
    [
        ("always on time, in full, the same lead time", [delivery(10, 10)] * 3,
         "1.0000", "1.0000", "10.00", "0.00", 100),
        ("half late", [delivery(10, 10), delivery(14, 10)], "0.5000", "1.0000", "12.00", "2.00", 72),
        ("short deliveries", [delivery(10, 10, received=50), delivery(10, 10, received=100)],
         "1.0000", "0.7500", "10.00", "0.00", 93),
        ("a line closed with nothing", [Delivery(SENT, SENT + 10 * D, None, 100, 0), delivery(10, 10)],
         "0.5000", "0.5000", "10.00", "0.00", 60),
    ],
)  # fmt: skip
def test_reliability_score(case, deliveries, on_time, fill, mean, std, score):
    found = po.reliability(deliveries)
    assert (found.on_time_rate, found.fill_rate) == (Decimal(on_time), Decimal(fill)), case
    assert (found.lead_time_mean_days, found.lead_time_std_days) == (Decimal(mean), Decimal(std)), case
    assert found.score == score, case


def test_a_supplier_without_deliveries_has_no_score_yet():
    assert po.reliability([]).score is None
