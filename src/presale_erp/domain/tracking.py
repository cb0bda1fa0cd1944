"""Parcel tracking (物流轨迹): the aggregators' state codes mapped to our stages, the key that stores each trace node
exactly once, and the rules for shipments that are stuck in transit or went wrong (returned, refused, 疑难).

Codes and names come from ../shared/formats/carrier_tracking.md (Kuaidi100 section 1c, Kdniao section 2).

| Stage      | Kuaidi100 state (advanced statusCode)                      | Kdniao State (StateEx / Action)   |
|------------|------------------------------------------------------------|-----------------------------------|
| collected  | 1 揽收 (101 已下单, 102 待揽收, 103 已揽收)                 | 1 已揽收                          |
| in_transit | 0 在途 (1001, 1002, 1003), 7 转投, 8/10/11/12 清关           | 2 在途中 (201), 5 转寄, 6 清关    |
| delivering | 5 派件 (501 投柜或驿站)                                     | 202 派件中, 211 已放入快递柜或驿站 |
| delivered  | 3 签收 (301-304)                                            | 3 签收 (311 已取出快递柜或驿站)    |
| exception  | 2 疑难, 13 清关异常                                          | 4 问题件 (401-403, 412)           |
| returned   | 6 退回, 4 退签 (401 已销单)                                 | —                                 |
| rejected   | 14 拒签                                                     | 404 拒收（退件）                  |

Kdniao's 0 (暂无轨迹) is no node at all. A code we do not know falls back to its base state (Kuaidi100 sends both;
Kdniao's three-digit StateEx leads with its State digit)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Stage(StrEnum):
    COLLECTED = "collected"
    IN_TRANSIT = "in_transit"
    DELIVERING = "delivering"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    REJECTED = "rejected"


MOVING = frozenset({Stage.COLLECTED, Stage.IN_TRANSIT, Stage.DELIVERING})
WENT_WRONG = frozenset({Stage.EXCEPTION, Stage.RETURNED, Stage.REJECTED})
# Nothing more will happen to these parcels that polling could learn: the aggregator stops monitoring them too.
FINISHED = frozenset({Stage.DELIVERED, Stage.RETURNED})

KUAIDI100_STATES: dict[str, Stage] = {
    "0": Stage.IN_TRANSIT,
    "1": Stage.COLLECTED,
    "2": Stage.EXCEPTION,
    "3": Stage.DELIVERED,
    "4": Stage.RETURNED,  # 退签: signed for by the sender after the return
    "5": Stage.DELIVERING,
    "6": Stage.RETURNED,  # 退回: on its way back to the sender
    "7": Stage.IN_TRANSIT,  # 转投: handed to another carrier, still moving
    "8": Stage.IN_TRANSIT,  # 清关 (push docs)
    "10": Stage.IN_TRANSIT,  # 待清关
    "11": Stage.IN_TRANSIT,  # 清关中
    "12": Stage.IN_TRANSIT,  # 已清关
    "13": Stage.EXCEPTION,  # 清关异常
    "14": Stage.REJECTED,  # 拒签
}
KUAIDI100_ADVANCED: dict[str, Stage] = {
    "101": Stage.COLLECTED,
    "102": Stage.COLLECTED,
    "103": Stage.COLLECTED,
    "1001": Stage.IN_TRANSIT,
    "1002": Stage.IN_TRANSIT,
    "1003": Stage.IN_TRANSIT,
    "501": Stage.DELIVERING,
    "301": Stage.DELIVERED,
    "302": Stage.DELIVERED,
    "303": Stage.DELIVERED,
    "304": Stage.DELIVERED,
    "401": Stage.RETURNED,
}
# data[].status (resultv2 >= 1) carries the base state's name rather than its number.
KUAIDI100_NAMES: dict[str, str] = {
    "在途": "0",
    "揽收": "1",
    "疑难": "2",
    "签收": "3",
    "退签": "4",
    "派件": "5",
    "退回": "6",
    "转投": "7",
    "转单": "7",
    "清关": "8",
    "待清关": "10",
    "清关中": "11",
    "已清关": "12",
    "清关异常": "13",
    "拒签": "14",
}
KDNIAO_STATES: dict[str, Stage] = {
    "1": Stage.COLLECTED,
    "2": Stage.IN_TRANSIT,
    "3": Stage.DELIVERED,
    "4": Stage.EXCEPTION,
    "5": Stage.IN_TRANSIT,  # 转寄 (newer docs)
    "6": Stage.IN_TRANSIT,  # 清关 (newer docs)
}
KDNIAO_DETAILED: dict[str, Stage] = {
    "201": Stage.IN_TRANSIT,  # 到达派件城市
    "202": Stage.DELIVERING,
    "211": Stage.DELIVERING,  # in a locker or parcel station, waiting for the buyer
    "311": Stage.DELIVERED,
    "401": Stage.EXCEPTION,
    "402": Stage.EXCEPTION,
    "403": Stage.EXCEPTION,
    "404": Stage.REJECTED,
    "412": Stage.EXCEPTION,
}

# Basic queries (Kdniao 1002, Kuaidi100 without resultv2) give one state for the parcel, not one per node: the
# newest node takes it, older ones are read from the carrier's wording, which is as regular as these phrases.
TEXT_HINTS: list[tuple[re.Pattern[str], Stage]] = [
    (re.compile(r"拒收|拒签"), Stage.REJECTED),
    (re.compile(r"退回|退件|返回寄件"), Stage.RETURNED),
    (re.compile(r"签收|已取出|妥投"), Stage.DELIVERED),
    (re.compile(r"异常|疑难|滞留|问题件|不成功|失败"), Stage.EXCEPTION),  # before 派送: "派送不成功" is a problem
    (re.compile(r"派件|派送|投柜|驿站"), Stage.DELIVERING),
    (re.compile(r"揽收|已收件|收件\[|已收取"), Stage.COLLECTED),  # not 收件人 (the receiver)
]

STUCK_AFTER: dict[Stage, timedelta] = {
    Stage.COLLECTED: timedelta(hours=48),  # collected but never sent on
    Stage.IN_TRANSIT: timedelta(hours=72),
    Stage.DELIVERING: timedelta(hours=48),  # out for delivery (or in a locker) and never signed
}


def kuaidi100_stage(state: str, status_code: str = "") -> Stage | None:
    """A node's (or parcel's) stage from Kuaidi100's base state and, when present, its advanced statusCode."""
    code, base = status_code.strip(), KUAIDI100_NAMES.get(state.strip(), state.strip())
    if code in KUAIDI100_ADVANCED:
        return KUAIDI100_ADVANCED[code]
    if code in KUAIDI100_STATES:  # e.g. 14 拒签, listed among 退签's advanced codes
        return KUAIDI100_STATES[code]
    return KUAIDI100_STATES.get(base)  # an advanced code we do not know: its base state decides


def kdniao_stage(state: str, detailed: str = "") -> Stage | None:
    """A stage from Kdniao's State and, when present, StateEx or a node's Action. None for 0 (暂无轨迹)."""
    code, base = detailed.strip(), state.strip()
    if code in KDNIAO_DETAILED:
        return KDNIAO_DETAILED[code]
    if code in KDNIAO_STATES:
        return KDNIAO_STATES[code]
    if base in KDNIAO_DETAILED:  # newer answers put the detailed code in State itself
        return KDNIAO_DETAILED[base]
    return KDNIAO_STATES.get(base) or KDNIAO_STATES.get(code[:1] if len(code) == 3 else "")


def stage_from_text(text: str, default: Stage = Stage.IN_TRANSIT) -> Stage:
    for pattern, stage in TEXT_HINTS:
        if pattern.search(text):
            return stage
    return default


LOCATION = re.compile(r"^\s*[【\[]([^】\]]{1,60})[】\]]")


def location_in(text: str) -> str:
    """Carriers lead a node's text with its place in brackets: 【杭州市】快件已揽收."""
    match = LOCATION.match(text)
    return match.group(1) if match else ""


@dataclass(frozen=True)
class TraceNode:
    """One node of a parcel's journey, as any aggregator reported it. `at` is aware UTC."""

    carrier: str  # our carrier code (ZTO, SF ...), never the aggregator's, so both aggregators key alike
    tracking_no: str
    at: datetime
    stage: Stage
    state_code: str  # the aggregator's own code, as sent
    location: str
    description: str


@dataclass(frozen=True)
class CarrierTrace:
    """A parcel's trace as one answer (a query or a push) gave it: its nodes oldest first and its current stage."""

    carrier: str
    tracking_no: str
    stage: Stage | None  # None: no trace yet
    nodes: list[TraceNode]
    note: str = ""


def trace_key(carrier: str, tracking_no: str, at: datetime, description: str) -> str:
    """The node's identity: the same node pulled twice, or pulled and pushed, has the same key."""
    text = f"{carrier.upper()}|{tracking_no.strip()}|{at.replace(microsecond=0).isoformat()}|{description.strip()}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest(nodes: list[TraceNode]) -> TraceNode | None:
    """The newest node. On a tie in time the later-in-journey stage wins, so a signature beats its 派件 note."""
    order = list(Stage)
    return max(nodes, key=lambda n: (n.at, order.index(n.stage)), default=None)


@dataclass(frozen=True)
class Concern:
    """Why a shipment needs a person: an alert kind, how bad, and the words for it."""

    kind: str  # shipment_stuck | shipment_exception
    severity: str
    title: str
    reason: str
    action: str


def concerns(stage: str | None, last_node_at: datetime | None, now: datetime, *, code: str = "") -> list[Concern]:
    """What is wrong with a shipment whose newest node is `stage` at `last_node_at`: nothing, stuck, or gone wrong."""
    if stage is None or last_node_at is None:
        return []
    current = Stage(stage)
    if current in WENT_WRONG:
        return [_went_wrong(current, code)]
    limit = STUCK_AFTER.get(current)
    if limit is not None and now - last_node_at >= limit:
        hours = int((now - last_node_at).total_seconds() // 3600)
        return [
            Concern(
                kind="shipment_stuck",
                severity="warning",
                title=f"包裹 {code} 物流停滞 {hours} 小时 (no tracking update)",
                reason=f"The last trace ({current.value}) is {hours} h old; more than {_hours(limit)} h without a "
                "new node usually means the parcel is held or lost at a depot.",
                action="Ask the carrier to check the parcel (催件); tell the buyer; reship or refund if it is lost.",
            )
        ]
    return []


def _went_wrong(stage: Stage, code: str) -> Concern:
    if stage is Stage.EXCEPTION:
        return Concern(
            "shipment_exception",
            "warning",
            f"包裹 {code} 问题件 (delivery problem)",
            "The carrier marked the parcel as a problem shipment (疑难/问题件): wrong address, unreachable buyer, "
            "damage or customs.",
            "Read the latest trace, confirm the address with the buyer and tell the carrier how to proceed.",
        )
    refused = stage is Stage.REJECTED
    return Concern(
        "shipment_exception",
        "critical",
        f"包裹 {code} {'拒签' if refused else '退回'} ({stage.value})",
        "The buyer refused the parcel; it will come back to the warehouse."
        if refused
        else "The parcel is being returned to the sender.",
        "Contact the buyer: reship or refund; receive the returned goods into stock when they arrive.",
    )


def _hours(delta: timedelta) -> int:
    return int(delta.total_seconds() // 3600)


class UnreadablePush(Exception):
    """A pushed trace that cannot be read (not form-encoded, not JSON, fields missing): nothing of it is stored."""


class ForgedPush(UnreadablePush):
    """A pushed trace whose signature does not match the account's key: it did not come from the aggregator."""
