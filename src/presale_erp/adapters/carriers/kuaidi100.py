"""Kuaidi100 (快递100), the aggregator: real-time trace queries (poll/query.do), subscriptions (poll) and the pushes
that follow them, as in ../shared/formats/carrier_tracking.md section 1.

- query:     form customer, sign = upper(MD5(param + key + customer)), param = JSON {com, num, phone, resultv2}
- subscribe: form schema=json, param = JSON {company, number, key, parameters: {callbackurl, salt, resultv2}}
- push:      form sign = MD5(param + salt), param = JSON {status, message, lastResult: <a query answer>}

Kuaidi100 names carriers in lowercase pinyin (zhongtong); nodes are mapped back to our codes (ZTO), so a node seen
through Kuaidi100 and through Kdniao keys alike (domain.tracking.trace_key)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from presale_erp.adapters.carriers.kdniao import beijing_to_utc
from presale_erp.adapters.platforms.signing import same
from presale_erp.domain.shipping import CarrierError, CarrierUnavailable
from presale_erp.domain.tracking import (
    KUAIDI100_NAMES,
    CarrierTrace,
    ForgedPush,
    Stage,
    TraceNode,
    UnreadablePush,
    kuaidi100_stage,
    location_in,
    stage_from_text,
)

QUERY_PATH = "/poll/query.do"
SUBSCRIBE_PATH = "/poll"
RESULT_V2 = "4"  # per-node status name and advanced statusCode
COMPANIES = {
    "ZTO": "zhongtong",
    "YTO": "yuantong",
    "STO": "shentong",
    "YD": "yunda",
    "SF": "shunfeng",
    "EMS": "ems",
    "JD": "jd",
}
CARRIERS = {company: carrier for carrier, company in COMPANIES.items()}
ALREADY_SUBSCRIBED = "501"  # 重复订阅: asking again is harmless
NO_RESULT = "500"  # 查询无结果: the carrier has no trace yet; not a failure
BUSY = {"501", "502"}  # server error / too many concurrent queries: worth asking again later
RETRYABLE_HTTP = {429, 500, 502, 503, 504}
PUSH_ACK = {"result": True, "returnCode": "200", "message": "成功"}
PUSH_NACK = {"result": False, "returnCode": "500", "message": "失败"}


def param_text(payload: dict[str, Any]) -> str:
    """The param JSON, serialised once: it is signed as sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def query_sign(param: str, key: str, customer: str) -> str:
    return hashlib.md5((param + key + customer).encode("utf-8")).hexdigest().upper()


def push_sign(param: str, salt: str) -> str:
    """MD5(param + salt). Kuaidi100's SDK sends it in uppercase; verification ignores case."""
    return hashlib.md5((param + salt).encode("utf-8")).hexdigest().upper()


class Kuaidi100Client:
    """Traces and subscriptions through Kuaidi100. `base_url` is the host (https://poll.kuaidi100.com)."""

    def __init__(
        self,
        base_url: str,
        customer: str,
        key: str,
        *,
        http: httpx.Client | None = None,
        attempts: int = 3,
        first_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.customer, self.key = customer, key
        self.attempts, self.first_delay, self.sleep = max(1, attempts), first_delay, sleep
        self._own_http = http is None
        self.http = http or httpx.Client(timeout=timeout)

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def track(self, carrier: str, tracking_no: str, phone: str = "") -> CarrierTrace:
        """The parcel's trace now. SF (and ZTO, per the docs) answer only with a phone number or its last 4."""
        payload = {"com": company_of(carrier), "num": tracking_no, "resultv2": RESULT_V2, "order": "desc"}
        if phone:
            payload["phone"] = phone
        param = param_text(payload)
        form = {"customer": self.customer, "sign": query_sign(param, self.key, self.customer), "param": param}
        body = self._post(QUERY_PATH, form)
        code = str(body.get("returnCode") or "")
        if body.get("result") is False or (code and code != "200"):
            return _refused(carrier, tracking_no, code, str(body.get("message") or ""))
        return read_result(body, carrier=carrier, tracking_no=tracking_no)

    def subscribe(self, carrier: str, tracking_no: str, callback_url: str, salt: str, phone: str = "") -> None:
        """Ask Kuaidi100 to push this parcel's trace to `callback_url`, signed with `salt`, until it is signed."""
        parameters = {"callbackurl": callback_url, "salt": salt, "resultv2": RESULT_V2}
        if phone:
            parameters["phone"] = phone
        payload = {"company": company_of(carrier), "number": tracking_no, "key": self.key, "parameters": parameters}
        body = self._post(SUBSCRIBE_PATH, {"schema": "json", "param": param_text(payload)})
        if body.get("result") is not True and str(body.get("returnCode")) != ALREADY_SUBSCRIBED:
            code, message = body.get("returnCode"), body.get("message")
            raise CarrierError(f"kuaidi100 subscribe {carrier} {tracking_no}: refused ({code}): {message}")

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        delay, failure = self.first_delay, ""
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.http.post(self.base_url + path, data=form)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in RETRYABLE_HTTP:
                    return _json_object(path, response)
                failure = f"HTTP {response.status_code}"
            if attempt < self.attempts:
                self.sleep(delay)
                delay = min(delay * 2, 30.0)
        raise CarrierUnavailable(f"kuaidi100 {path}: {failure} after {self.attempts} attempts")


def company_of(carrier: str) -> str:
    try:
        return COMPANIES[carrier]
    except KeyError:
        raise CarrierError(f"carrier {carrier!r} is not available through Kuaidi100") from None


def _json_object(path: str, response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 200:
        raise CarrierError(f"kuaidi100 {path}: HTTP {response.status_code} {response.text[:200]}")
    try:
        body = response.json()
    except ValueError as exc:
        raise CarrierError(f"kuaidi100 {path}: the answer is not JSON: {response.text[:200]!r}") from exc
    if not isinstance(body, dict):
        raise CarrierError(f"kuaidi100 {path}: the answer is not a JSON object: {response.text[:200]!r}")
    return body


def _refused(carrier: str, tracking_no: str, code: str, message: str) -> CarrierTrace:
    if code == NO_RESULT:
        return CarrierTrace(carrier, tracking_no, None, [], message)
    if code in BUSY:
        raise CarrierUnavailable(f"kuaidi100 query {carrier} {tracking_no}: busy ({code}): {message}")
    raise CarrierError(f"kuaidi100 query {carrier} {tracking_no}: refused ({code or '?'}): {message}")


def read_result(body: dict[str, Any], *, carrier: str = "", tracking_no: str = "") -> CarrierTrace:
    """A query answer, or a push's lastResult, as our trace. Raises ValueError when it cannot be read."""
    company = str(body.get("com") or "")
    carrier = CARRIERS.get(company, carrier) or company.upper()
    number = str(body.get("nu") or tracking_no).strip()
    if not carrier or not number:
        raise ValueError("the answer names no carrier (com) or tracking number (nu)")
    data = body.get("data") or []
    if not isinstance(data, list):
        raise ValueError("data is not a list")
    state = str(body.get("state", "")).strip()
    overall = kuaidi100_stage(state)
    newest_first = [_node(carrier, number, node, overall, state, first=(i == 0)) for i, node in enumerate(data)]
    nodes = sorted(newest_first, key=lambda n: n.at)
    return CarrierTrace(carrier, number, overall if nodes else None, nodes, str(body.get("message") or ""))


def _node(carrier: str, number: str, node: Any, overall: Stage | None, state: str, *, first: bool) -> TraceNode:
    if not isinstance(node, dict):
        raise ValueError(f"a trace node is not an object: {node!r}")
    when = node.get("ftime") or node.get("time")
    if not isinstance(when, str):
        raise ValueError(f"a trace node has no time: {node!r}")
    text = str(node.get("context") or "").strip()
    name, code = str(node.get("status") or ""), str(node.get("statusCode") or "")
    stage = kuaidi100_stage(name, code) if (name or code) else None
    if stage is None:  # a basic answer: the newest node has the parcel's state, the others say it in words
        stage = overall if first and overall else stage_from_text(text)
    return TraceNode(
        carrier=carrier,
        tracking_no=number,
        at=beijing_to_utc(when),
        stage=stage,
        state_code=code or KUAIDI100_NAMES.get(name, name) or (state if first else ""),
        location=str(node.get("areaName") or node.get("location") or location_in(text))[:200],
        description=text[:1000],
    )


def read_push(form: dict[str, str], salt: str) -> CarrierTrace:
    """A push (form sign + param) checked against our salt, as our trace. ForgedPush: the signature is wrong;
    UnreadablePush: it is not a push we can read. Either way nothing of it may be stored."""
    param, sign = form.get("param"), form.get("sign")
    if not param:
        raise UnreadablePush("the push has no param field")
    if not sign or not same(sign.upper(), push_sign(param, salt)):
        raise ForgedPush("the push's sign does not match MD5(param + salt)")
    try:
        body = json.loads(param)
        result = body.get("lastResult") if isinstance(body, dict) else None
        if not isinstance(result, dict):
            raise ValueError("param has no lastResult object")
        return read_result(result)
    except ValueError as exc:
        raise UnreadablePush(f"the push's param cannot be read: {exc}") from None
