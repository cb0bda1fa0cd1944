"""Shipping with a carrier (快递): electronic waybills (电子面单) that give each parcel its tracking number, and the
parcel's trace (物流轨迹) afterwards. Carrier adapters turn their API's answers into these shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CarrierError(Exception):
    """The carrier's answer cannot be used (refused credentials, malformed or unreadable response); the message
    says why. Asking again with the same data will not help."""


class CarrierUnavailable(CarrierError):
    """The carrier kept failing or throttling after every retry; asking again later may succeed."""


@dataclass(frozen=True)
class Sender:
    """Who ships: usually the warehouse. Carriers print it on the waybill."""

    name: str
    phone: str
    province: str
    city: str
    district: str
    street: str


@dataclass(frozen=True)
class WaybillRequest:
    """One parcel asking for a tracking number. `parcel_ref` is our parcel id: the carrier keys the waybill on it,
    so asking twice for the same parcel returns the same number."""

    parcel_ref: str
    carrier: str  # our carrier code: ZTO, YTO, STO, YD, SF, EMS, JD
    receiver_name: str
    receiver_phone: str
    province: str
    city: str
    district: str
    street: str
    weight_grams: int
    goods: list[tuple[str, int]] = field(default_factory=list)  # (name, quantity)
    sender: Sender | None = None  # None: the client's default sender


@dataclass(frozen=True)
class Waybill:
    parcel_ref: str
    carrier: str
    tracking_no: str


@dataclass(frozen=True)
class WaybillRefused:
    """The carrier would not issue a number for this parcel; `reason` is the carrier's own words. `retryable` is
    true when the carrier was unreachable rather than refusing."""

    parcel_ref: str
    reason: str
    retryable: bool = False


class TraceState(StrEnum):
    NO_TRACE = "no_trace"  # 暂无轨迹
    COLLECTED = "collected"  # 已揽收
    IN_TRANSIT = "in_transit"  # 在途
    SIGNED = "signed"  # 签收
    PROBLEM = "problem"  # 问题件


@dataclass(frozen=True)
class TraceEvent:
    at: datetime  # aware, UTC
    text: str


@dataclass(frozen=True)
class Trace:
    tracking_no: str
    carrier: str
    state: TraceState
    events: list[TraceEvent] = field(default_factory=list)  # oldest first
    reason: str = ""  # the carrier's note, e.g. why there is no trace yet
