"""Kdniao (快递鸟), the aggregator: electronic waybills (RequestType 1007, 电子面单), instant trace queries (1002,
即时查询) and trace pushes (101, 102), as in ../shared/formats/carrier_tracking.md section 2.

Every call is a form-encoded POST of RequestData (the JSON), EBusinessID, RequestType, DataSign and DataType=2.
The eorder API takes one parcel per call, so a batch is sent concurrently over one pooled keep-alive client.
Retrying a 1007 call is safe: Kdniao keys the waybill on (ShipperCode, OrderCode) and answers a repeat with the
number it already issued, so a call that timed out after the carrier issued a number cannot issue a second one."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from types import TracebackType
from typing import Any

import httpx

from presale_erp.adapters.http_retry import retry_after
from presale_erp.adapters.platforms.signing import same
from presale_erp.domain.shipping import (
    CarrierError,
    CarrierUnavailable,
    Sender,
    Trace,
    TraceEvent,
    TraceState,
    Waybill,
    WaybillRefused,
    WaybillRequest,
)
from presale_erp.domain.tracking import (
    CarrierTrace,
    ForgedPush,
    Stage,
    TraceNode,
    UnreadablePush,
    kdniao_stage,
    location_in,
    stage_from_text,
)

PATH = "/Ebusiness/EbusinessOrderHandle.aspx"
EORDER = "1007"  # 电子面单
INSTANT_QUERY = "1002"  # 即时查询
TRACE_PUSHES = {"101", "102"}  # 订阅推送, 增值版推送
JSON_DATA = "2"
BEIJING = timezone(timedelta(hours=8))  # Kdniao's times carry no zone; they are Beijing time
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")  # AcceptTime may use '/' (doc section 2 example)
RETRYABLE = {429, 500, 502, 503, 504}

# Our carrier codes → Kdniao ShipperCode. They coincide today; the map is where a divergence would go.
SHIPPER_CODES = {code: code for code in ("ZTO", "YTO", "STO", "YD", "SF", "EMS", "JD")}
CARRIERS = {shipper: carrier for carrier, shipper in SHIPPER_CODES.items()}

RESULT_OK = "100"
RESULT_ALREADY_ISSUED = "106"  # 该订单号已下单成功: a repeat of an OrderCode, answered with the number issued before
# Refusals about the account or signature rather than the parcel: every other parcel in the batch would be refused
# the same way, so the batch stops with CarrierError instead of reporting N identical refusals.
ACCOUNT_REFUSALS = {"104"}

STATES = {
    0: TraceState.NO_TRACE,
    1: TraceState.COLLECTED,
    2: TraceState.IN_TRANSIT,
    3: TraceState.SIGNED,
    4: TraceState.PROBLEM,
    5: TraceState.IN_TRANSIT,  # 转寄 (newer docs): still moving
    6: TraceState.IN_TRANSIT,  # 清关 (newer docs): still moving
}


def request_data(payload: dict[str, Any]) -> str:
    """The RequestData text. It is signed as sent, so it is serialised once and the same string is posted."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def data_sign(data: str, app_key: str) -> str:
    """Base64(MD5(RequestData + AppKey)): the MD5 *hex text* (lowercase, as the official demos produce) is what
    gets Base64-encoded. The doc's URL-encoding of the result is done by the form encoding of the POST body."""
    digest = hashlib.md5((data + app_key).encode("utf-8")).hexdigest()
    return base64.b64encode(digest.encode("ascii")).decode("ascii")


def signed_form(ebusiness_id: str, app_key: str, request_type: str, payload: dict[str, Any]) -> dict[str, str]:
    data = request_data(payload)
    return {
        "RequestData": data,
        "EBusinessID": ebusiness_id,
        "RequestType": request_type,
        "DataSign": data_sign(data, app_key),
        "DataType": JSON_DATA,
    }


class KdniaoClient:
    """Waybills and traces through Kdniao. `base_url` is the host (https://api.kdniao.com); the path is fixed."""

    def __init__(
        self,
        base_url: str,
        ebusiness_id: str,
        app_key: str,
        *,
        http: httpx.Client | None = None,
        concurrency: int = 8,
        sender: Sender | None = None,
        attempts: int = 5,
        first_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.url = base_url.rstrip("/") + PATH
        self.ebusiness_id, self.app_key = ebusiness_id, app_key
        self.concurrency = max(1, concurrency)
        self.sender = sender
        self.attempts, self.first_delay, self.sleep = max(1, attempts), first_delay, sleep
        self._own_http = http is None
        # One pool sized to the workers, so each worker keeps its connection alive across its parcels.
        limits = httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        self.http = http or httpx.Client(timeout=timeout, limits=limits)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> KdniaoClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def request_waybills(self, requests: list[WaybillRequest]) -> tuple[list[Waybill], list[WaybillRefused]]:
        """A tracking number for each parcel, in the order given. A parcel the carrier refuses (or could not be
        reached for, after every retry) is reported with the reason; CarrierError means the whole batch is off
        (refused credentials, a garbled answer) and nothing after it was asked."""
        issued: list[Waybill] = []
        refused: list[WaybillRefused] = []
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="kdniao") as pool:
            futures = [pool.submit(self._waybill, request) for request in requests]
            try:
                for future in futures:
                    outcome = future.result()
                    if isinstance(outcome, Waybill):
                        issued.append(outcome)
                    else:
                        refused.append(outcome)
            except CarrierError:
                pool.shutdown(cancel_futures=True)
                raise
        return issued, refused

    def query_trace(self, carrier: str, tracking_no: str, phone_last4: str = "") -> Trace:
        """The parcel's trace now. SF answers only with the receiver's (or sender's) phone last 4 digits."""
        payload = {"OrderCode": "", "ShipperCode": _shipper(carrier), "LogisticCode": tracking_no}
        if phone_last4:
            payload["CustomerName"] = phone_last4
        body = self._call(INSTANT_QUERY, payload)
        return _read_trace(carrier, tracking_no, body)

    def track(self, carrier: str, tracking_no: str, phone_last4: str = "") -> CarrierTrace:
        """The parcel's trace now, node by node in our stages (query_trace gives the older, coarser view)."""
        payload = {"OrderCode": "", "ShipperCode": _shipper(carrier), "LogisticCode": tracking_no}
        if phone_last4:
            payload["CustomerName"] = phone_last4
        body = self._call(INSTANT_QUERY, payload)
        if body.get("Success") is not True and str(body.get("State", "")).strip() != "0":
            reason = str(body.get("Reason") or "no reason given")
            raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: refused: {reason}")
        try:
            return read_traces(body, carrier=carrier, tracking_no=tracking_no)
        except ValueError as exc:
            raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: {exc}") from None

    def _waybill(self, request: WaybillRequest) -> Waybill | WaybillRefused:
        if request.carrier not in SHIPPER_CODES:
            return WaybillRefused(request.parcel_ref, f"carrier {request.carrier!r} is not available through Kdniao")
        try:
            body = self._call(EORDER, _eorder_payload(request, request.sender or self.sender))
        except CarrierUnavailable as exc:
            return WaybillRefused(request.parcel_ref, str(exc), retryable=True)
        return _read_waybill(request, body)

    def _call(self, request_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        form = signed_form(self.ebusiness_id, self.app_key, request_type, payload)
        response = self._post(form)
        if response.status_code != 200:
            raise CarrierError(f"kdniao {request_type}: HTTP {response.status_code} {response.text[:200]}")
        try:
            body = response.json()
        except ValueError as exc:
            raise CarrierError(f"kdniao {request_type}: the answer is not JSON: {response.text[:200]!r}") from exc
        if not isinstance(body, dict):
            raise CarrierError(f"kdniao {request_type}: the answer is not a JSON object: {response.text[:200]!r}")
        return body

    def _post(self, form: dict[str, str]) -> httpx.Response:
        """POST with retries on connection errors, 5xx and 429 (waiting at least its Retry-After)."""
        delay, failure = self.first_delay, ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.post(self.url, data=form)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRYABLE:
                    return response
                failure = f"HTTP {response.status_code}"
                if response.status_code == 429:
                    delay = max(delay, retry_after(response.headers.get("Retry-After"), delay))
            if attempt < self.attempts:
                # Jitter (upwards only, never under a Retry-After), so that workers failed by the same outage do
                # not all come back at the same instant.
                self.sleep(delay * random.uniform(1.0, 1.25))
                delay = min(delay * 2, 30.0)
        raise CarrierUnavailable(f"kdniao: {failure} after {self.attempts} attempts")


def _shipper(carrier: str) -> str:
    try:
        return SHIPPER_CODES[carrier]
    except KeyError:
        raise CarrierError(f"carrier {carrier!r} is not available through Kdniao") from None


def _party(name: str, phone: str, province: str, city: str, district: str, street: str) -> dict[str, str]:
    return {
        "Name": name,
        "Mobile": phone,
        "ProvinceName": province,
        "CityName": city,
        "ExpAreaName": district,
        "Address": street,
    }


def _eorder_payload(request: WaybillRequest, sender: Sender | None) -> dict[str, Any]:
    s = sender or Sender("", "", "", "", "", "")
    return {
        "OrderCode": request.parcel_ref,
        "ShipperCode": SHIPPER_CODES[request.carrier],
        "PayType": 1,  # 现付: the merchant pays the carrier
        "ExpType": 1,  # 标准快件
        "Receiver": _party(
            request.receiver_name,
            request.receiver_phone,
            request.province,
            request.city,
            request.district,
            request.street,
        ),
        "Sender": _party(s.name, s.phone, s.province, s.city, s.district, s.street),
        # GoodsWeight is per line and optional; we know only the parcel's weight, which goes in Weight.
        "Commodity": [{"GoodsName": name, "Goodsquantity": quantity} for name, quantity in request.goods],
        "Weight": round(request.weight_grams / 1000, 3),  # kg
        "Quantity": 1,  # packages under this waybill
        "IsReturnPrintTemplate": 0,  # printing is done from the number, not Kdniao's HTML
    }


def _read_waybill(request: WaybillRequest, body: dict[str, Any]) -> Waybill | WaybillRefused:
    ref = request.parcel_ref
    success = body.get("Success")
    if not isinstance(success, bool):
        raise CarrierError(f"kdniao 1007 for parcel {ref}: the answer has no Success flag: {_short(body)}")
    code, reason = str(body.get("ResultCode") or ""), str(body.get("Reason") or "")
    if success or code == RESULT_ALREADY_ISSUED:
        return Waybill(ref, request.carrier, _tracking_no(ref, body))
    if code in ACCOUNT_REFUSALS:
        raise CarrierError(f"kdniao refused the account {body.get('EBusinessID', '')!r}: {reason} (ResultCode {code})")
    return WaybillRefused(ref, reason or f"refused with ResultCode {code or '?'}")


def _tracking_no(ref: str, body: dict[str, Any]) -> str:
    order = body.get("Order")
    number = order.get("LogisticCode") if isinstance(order, dict) else None
    if not isinstance(number, str) or not number.strip():
        raise CarrierError(f"kdniao 1007 for parcel {ref}: success without Order.LogisticCode: {_short(body)}")
    if str(order.get("OrderCode") or ref) != ref:  # a number for someone else's parcel must never be printed
        raise CarrierError(f"kdniao 1007 for parcel {ref}: the answer is for OrderCode {order.get('OrderCode')!r}")
    return number.strip()


def _read_trace(carrier: str, tracking_no: str, body: dict[str, Any]) -> Trace:
    reason = str(body.get("Reason") or "")
    if body.get("Success") is not True:
        if str(body.get("State", "")).strip() == "0":  # some answers for an unknown number say Success false
            return Trace(tracking_no, carrier, TraceState.NO_TRACE, [], reason)
        raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: refused: {reason or 'no reason given'}")
    traces = body.get("Traces") or []
    if not isinstance(traces, list):
        raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: Traces is not a list: {_short(body)}")
    events = sorted((_event(carrier, tracking_no, node) for node in traces), key=lambda e: e.at)
    return Trace(
        tracking_no=tracking_no,
        carrier=carrier,
        state=_state(carrier, tracking_no, body.get("State")),
        events=events,
        reason=reason,
    )


def _state(carrier: str, tracking_no: str, value: Any) -> TraceState:
    """State comes as a number or a numeric string; a detailed code (201, 311, 404 …) belongs to its first digit."""
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: unreadable State {value!r}") from None
    if number >= 100:
        number = int(str(number)[0])
    if number not in STATES:
        raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: unknown State {value!r}")
    return STATES[number]


def _event(carrier: str, tracking_no: str, node: Any) -> TraceEvent:
    if not isinstance(node, dict) or not isinstance(node.get("AcceptTime"), str):
        raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: a trace node has no AcceptTime: {node!r}")
    try:
        at = beijing_to_utc(node["AcceptTime"])
    except ValueError as exc:
        raise CarrierError(f"kdniao 1002 for {carrier} {tracking_no}: {exc}") from None
    return TraceEvent(at=at, text=str(node.get("AcceptStation") or ""))


def beijing_to_utc(text: str) -> datetime:
    """'2014/06/25 08:05:37' or '2014-06-25 08:05:37', Beijing time → aware UTC."""
    for pattern in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), pattern).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(f"unreadable time {text!r}: expected yyyy-MM-dd HH:mm:ss or yyyy/MM/dd HH:mm:ss")


def _short(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)[:300]


def read_traces(body: dict[str, Any], *, carrier: str = "", tracking_no: str = "") -> CarrierTrace:
    """A 1002 answer, or one waybill of a push, as our trace. Raises ValueError when it cannot be read."""
    shipper = str(body.get("ShipperCode") or "")
    carrier = CARRIERS.get(shipper, carrier) or shipper
    number = str(body.get("LogisticCode") or tracking_no).strip()
    if not carrier or not number:
        raise ValueError("the answer names no ShipperCode or LogisticCode")
    traces = body.get("Traces") or []
    if not isinstance(traces, list):
        raise ValueError("Traces is not a list")
    state, detailed = str(body.get("State", "")).strip(), str(body.get("StateEx") or "").strip()
    overall = kdniao_stage(state, detailed)
    last = len(traces) - 1  # Kdniao sends them ascending: the last one is the newest
    nodes = sorted(
        (
            _trace_node(carrier, number, node, overall, detailed or state, newest=(i == last))
            for i, node in enumerate(traces)
        ),
        key=lambda n: n.at,
    )
    return CarrierTrace(carrier, number, overall if nodes else None, nodes, str(body.get("Reason") or ""))


def _trace_node(
    carrier: str, number: str, node: Any, overall: Stage | None, overall_code: str, *, newest: bool
) -> TraceNode:
    if not isinstance(node, dict) or not isinstance(node.get("AcceptTime"), str):
        raise ValueError(f"a trace node has no AcceptTime: {node!r}")
    text = str(node.get("AcceptStation") or "").strip()
    action = str(node.get("Action") or "").strip()  # 增值版 only
    stage = kdniao_stage("", action) if action else None
    if stage is None:  # the basic API gives one State for the parcel: the newest node has it, the rest say it
        stage = overall if newest and overall else stage_from_text(text)
    return TraceNode(
        carrier=carrier,
        tracking_no=number,
        at=beijing_to_utc(node["AcceptTime"]),
        stage=stage,
        state_code=action or (overall_code if newest else ""),
        location=str(node.get("Location") or location_in(text))[:200],
        description=text[:1000],
    )


def read_push(form: dict[str, str], ebusiness_id: str, app_key: str) -> list[CarrierTrace]:
    """A push (RequestData, DataSign, RequestType 101/102) checked against our AppKey, one trace per waybill.
    ForgedPush: the DataSign or the account is wrong; UnreadablePush: not a trace push we can read."""
    data, sign = form.get("RequestData"), form.get("DataSign")
    if not data:
        raise UnreadablePush("the push has no RequestData")
    if not sign or not same(sign, data_sign(data, app_key)):
        raise ForgedPush("the push's DataSign does not match Base64(MD5(RequestData + AppKey))")
    if form.get("RequestType") not in TRACE_PUSHES:
        raise UnreadablePush(f"RequestType {form.get('RequestType')!r} is not a trace push (101, 102)")
    try:
        body = json.loads(data)
        if not isinstance(body, dict) or not isinstance(body.get("Data"), list):
            raise ValueError("RequestData has no Data list")
        if str(body.get("EBusinessID") or ebusiness_id) != ebusiness_id:
            raise ValueError(f"the push is for another account ({body.get('EBusinessID')})")
        return [read_traces(_waybill_object(item)) for item in body["Data"]]
    except ValueError as exc:
        raise UnreadablePush(f"the push's RequestData cannot be read: {exc}") from None


def _waybill_object(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValueError(f"a pushed waybill is not an object: {item!r}")
    return item


def push_reply(ebusiness_id: str, at: datetime, *, success: bool = True, reason: str = "") -> dict[str, Any]:
    """What Kdniao expects back from the callback; UpdateTime in Beijing time, as its own fields are."""
    when = at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    return {"EBusinessID": ebusiness_id, "UpdateTime": when, "Success": success, "Reason": reason}
