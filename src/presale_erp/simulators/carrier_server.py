"""A local HTTP server that answers like Kdniao (快递鸟) on its real path: electronic waybills (RequestType 1007)
and instant trace queries (1002), with the real form fields, DataSign check and JSON envelopes
(../shared/formats/carrier_tracking.md section 2); and like Kuaidi100 (快递100, section 1) under /kuaidi100:
real-time queries (poll/query.do, sign = upper(MD5(param + key + customer))) and subscriptions (poll). Both push
traces to a callback when asked (`push_kuaidi100`, `push_kdniao`, or POST /_push), signed as the real ones sign.

Waybills are keyed on (ShipperCode, OrderCode), so asking again for a parcel returns the number issued before.
A parcel's trace grows with the time since its number was issued: collected after half an hour, in transit for a
day, signed after 26 hours. Some parcels go otherwise (`SCENARIOS`: delayed four days at the hub, a failed delivery
then signed, refused and returned); `mix` spreads them over the numbers issued, `CarrierState.scenarios` pins one.
`fail_every=n` answers every n-th request with HTTP 500, as a gateway does on a peak
night. Result codes: 100 ok, 101-105 refusals (104: the account or signature), 106 a repeat of an issued order."""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from presale_erp.adapters.carriers import kuaidi100
from presale_erp.adapters.carriers.kdniao import PATH, data_sign, request_data
from presale_erp.adapters.platforms.signing import same

BEIJING = timezone(timedelta(hours=8))
RECEIVER_FIELDS = {
    "Name": "收件人姓名",
    "Mobile": "收件人手机",
    "ProvinceName": "收件省",
    "CityName": "收件市",
    "ExpAreaName": "收件区/县",
    "Address": "收件人详细地址",
}
# (prefix, random digits after it): shapes of each carrier's numbers.
NUMBER_SHAPES = {
    "ZTO": ("7", 11),
    "YTO": ("YT", 13),
    "STO": ("77", 11),
    "YD": ("46", 11),
    "SF": ("SF", 12),
    "EMS": ("11", 11),
    "JD": ("JD", 13),
}


@dataclass(frozen=True)
class Step:
    """One node of a journey: when after issue, Kdniao's State (and StateEx), Kuaidi100's state (and statusCode)."""

    after: timedelta
    kdniao: str
    kuaidi100: str
    text: str
    kdniao_ex: str = ""
    kuaidi100_code: str = ""


COLLECTED = Step(timedelta(minutes=30), "1", "1", "【{origin}】快件已揽收", "1", "103")
SENT_ON = Step(timedelta(hours=4), "2", "0", "【{origin}】快件已发往 {city}转运中心", "2", "1002")
AT_HUB = Step(timedelta(hours=14), "2", "0", "【{city}】快件已到达 {city}转运中心", "201", "1001")
OUT = Step(timedelta(hours=20), "2", "5", "【{city}{district}】快递员正在派件", "202", "")
SIGNED = Step(timedelta(hours=26), "3", "3", "【{city}{district}】已签收，签收人：本人", "3", "301")
LATE = timedelta(hours=96)
SCENARIOS: dict[str, list[Step]] = {
    "normal": [COLLECTED, SENT_ON, AT_HUB, OUT, SIGNED],
    # Held at the destination hub for four days, then delivered.
    "delayed": [
        COLLECTED,
        SENT_ON,
        AT_HUB,
        replace(OUT, after=OUT.after + LATE),
        replace(SIGNED, after=SIGNED.after + LATE),
    ],
    # A failed delivery (疑难 / 问题件), delivered the next day.
    "problem": [
        COLLECTED,
        SENT_ON,
        AT_HUB,
        OUT,
        Step(timedelta(hours=22), "4", "2", "【{city}{district}】派送不成功，收件人电话无人接听，待再次派送", "402"),
        replace(OUT, after=timedelta(hours=44)),
        replace(SIGNED, after=timedelta(hours=48)),
    ],
    # The buyer refuses the parcel; it goes back to the sender.
    "refused": [
        COLLECTED,
        SENT_ON,
        AT_HUB,
        OUT,
        Step(timedelta(hours=23), "4", "14", "【{city}{district}】收件人拒收，快件将退回", "404", "14"),
        Step(timedelta(hours=40), "4", "6", "【{origin}】快件已退回寄件人", "404"),
    ],
}
JOURNEY = [(step.after, step.kdniao, step.text) for step in SCENARIOS["normal"]]  # the everyday journey
KUAIDI100_NAMES = {code: name for name, code in kuaidi100.KUAIDI100_NAMES.items() if name != "转单"}
SLASH_TIMES = {"SF"}  # SF's traces come with '/' separated times, as in the doc's example


@dataclass(frozen=True)
class Issued:
    shipper: str
    order_code: str
    number: str
    at: datetime
    mobile: str
    origin: str
    city: str
    district: str


@dataclass
class CarrierState:
    ebusiness_id: str
    app_key: str
    fail_every: int = 0
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    seed: int = 11
    mix: float = 0.0  # share of parcels whose journey is not the everyday one
    kuaidi100_customer: str = "sim-kuaidi100-customer"
    kuaidi100_key: str = "sim-kuaidi100-key"
    scenarios: dict[str, str] = field(default_factory=dict)  # tracking number → scenario, pinned by a test
    subscriptions: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (company, number) → params
    requests: int = 0
    failures: int = 0  # HTTP 500s answered, so tests can see that retries happened
    by_order: dict[tuple[str, str], Issued] = field(default_factory=dict)
    by_number: dict[tuple[str, str], Issued] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def should_fail(self) -> bool:
        with self.lock:
            self.requests += 1
            failing = bool(self.fail_every) and self.requests % self.fail_every == 0
            self.failures += failing
            return failing

    def issue(self, shipper: str, order: dict[str, Any]) -> tuple[Issued, bool]:
        """The waybill for (shipper, OrderCode), and whether it is new."""
        key = (shipper, str(order["OrderCode"]))
        with self.lock:
            if key in self.by_order:
                return self.by_order[key], False
            receiver, sender = order["Receiver"], order.get("Sender") or {}
            issued = Issued(
                shipper=shipper,
                order_code=key[1],
                number=self._new_number(shipper),
                at=self.now(),
                mobile=str(receiver.get("Mobile") or receiver.get("Tel") or ""),
                origin=str(sender.get("CityName") or "始发地"),
                city=str(receiver["CityName"]),
                district=str(receiver["ExpAreaName"]),
            )
            self.by_order[key] = self.by_number[(shipper, issued.number)] = issued
            return issued, True

    def _new_number(self, shipper: str) -> str:
        prefix, digits = NUMBER_SHAPES[shipper]
        while True:  # under the lock
            number = prefix + "".join(self.rng.choice("0123456789") for _ in range(digits))
            if (shipper, number) not in self.by_number:
                return number

    def find(self, shipper: str, number: str) -> Issued | None:
        with self.lock:
            return self.by_number.get((shipper, number))

    def journey(self, number: str) -> list[Step]:
        """The parcel's journey: pinned, or drawn from its number (so every query tells the same story)."""
        if number in self.scenarios:
            return SCENARIOS[self.scenarios[number]]
        draw = int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if draw >= self.mix:
            return SCENARIOS["normal"]
        others = ["delayed", "problem", "refused"]
        return SCENARIOS[others[int(draw / self.mix * len(others)) % len(others)]]

    def issued_numbers(self) -> list[Issued]:
        with self.lock:
            return list(self.by_order.values())


def make_carrier_app(
    ebusiness_id: str,
    app_key: str,
    *,
    fail_every: int = 0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    seed: int = 11,
    mix: float = 0.0,
    kuaidi100_customer: str = "sim-kuaidi100-customer",
    kuaidi100_key: str = "sim-kuaidi100-key",
) -> FastAPI:
    """The Kdniao and Kuaidi100 simulator. Its state (issued waybills, subscriptions, request and failure counts)
    is `app.state.carrier`."""
    state = CarrierState(
        ebusiness_id,
        app_key,
        fail_every=fail_every,
        now=now,
        seed=seed,
        mix=mix,
        kuaidi100_customer=kuaidi100_customer,
        kuaidi100_key=kuaidi100_key,
    )
    app = FastAPI(title="carrier simulator (Kdniao, Kuaidi100)")
    app.state.carrier = state

    @app.post("/kuaidi100" + kuaidi100.QUERY_PATH)
    async def kuaidi100_query(request: Request) -> JSONResponse:
        if state.should_fail():
            return JSONResponse({"result": False, "returnCode": "501", "message": "服务器错误"}, status_code=500)
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        return JSONResponse(_kuaidi100_query(state, form))

    @app.post("/kuaidi100" + kuaidi100.SUBSCRIBE_PATH)
    async def kuaidi100_subscribe(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        return JSONResponse(_kuaidi100_subscribe(state, form))

    @app.post("/_push")
    def push_now(kdniao_url: str = "") -> dict[str, Any]:
        """Simulator control, not an aggregator API: push every subscribed Kuaidi100 number now, and every
        issued number Kdniao-style to `kdniao_url` (Kdniao's push address is set in its console, not per call)."""
        with httpx.Client(timeout=10) as http:
            sent = push_kuaidi100(state, http)
            if kdniao_url:
                sent += push_kdniao(state, http, kdniao_url)
        return {"pushed": len(sent), "statuses": [status for _, status in sent]}

    @app.post(PATH)
    async def handle(request: Request) -> JSONResponse:
        if state.should_fail():
            return JSONResponse({"Success": False, "Reason": "系统繁忙"}, status_code=500)
        form = dict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))
        return JSONResponse(_answer(state, form))

    return app


def _answer(state: CarrierState, form: dict[str, str]) -> dict[str, Any]:
    refusal = _check_envelope(state, form)
    if refusal:
        return refusal
    try:
        payload = json.loads(form["RequestData"])
    except ValueError:
        return _refuse(state, "103", "RequestData 不是合法的 JSON")
    if not isinstance(payload, dict):
        return _refuse(state, "103", "RequestData 应为 JSON 对象")
    if form["RequestType"] == "1007":
        return _eorder(state, payload)
    if form["RequestType"] == "1002":
        return _query(state, payload)
    return _refuse(state, "105", f"不支持的 RequestType {form['RequestType']}")


def _check_envelope(state: CarrierState, form: dict[str, str]) -> dict[str, Any] | None:
    missing = [name for name in ("RequestData", "EBusinessID", "RequestType", "DataSign") if not form.get(name)]
    if missing:
        return _refuse(state, "101", f"缺少必要参数 {', '.join(missing)}")
    if form.get("DataType", "2") != "2":
        return _refuse(state, "103", "DataType 只支持 2 (JSON)")
    if form["EBusinessID"] != state.ebusiness_id:
        return _refuse(state, "104", f"用户不存在: EBusinessID {form['EBusinessID']}")
    if not same(form["DataSign"], data_sign(form["RequestData"], state.app_key)):
        return _refuse(state, "104", "签名错误: DataSign 校验失败")
    return None


def _refuse(state: CarrierState, code: str, reason: str) -> dict[str, Any]:
    return {"EBusinessID": state.ebusiness_id, "Success": False, "ResultCode": code, "Reason": reason}


def _eorder(state: CarrierState, order: dict[str, Any]) -> dict[str, Any]:
    shipper, order_code = str(order.get("ShipperCode") or ""), str(order.get("OrderCode") or "")
    if shipper not in NUMBER_SHAPES:
        return _refuse(state, "105", f"不支持的快递公司编码 ShipperCode {shipper!r}")
    if not order_code:
        return _refuse(state, "105", "订单编号 OrderCode 不能为空")
    receiver = order.get("Receiver")
    if not isinstance(receiver, dict):
        return _refuse(state, "105", "收件人信息 Receiver 不能为空")
    if not (receiver.get("Mobile") or receiver.get("Tel")):  # Kdniao takes either phone
        return _refuse(state, "105", "收件人手机 Receiver.Mobile 与电话 Receiver.Tel 不能同时为空")
    for name, label in RECEIVER_FIELDS.items():
        if name != "Mobile" and not str(receiver.get(name) or "").strip():
            return _refuse(state, "105", f"{label} Receiver.{name} 不能为空")
    issued, new = state.issue(shipper, order)
    return {
        "EBusinessID": state.ebusiness_id,
        "Success": True,
        "ResultCode": "100" if new else "106",
        "Reason": "" if new else "该订单号已下单成功",
        "UniquerRequestNumber": f"{issued.shipper}-{issued.order_code}",
        "Order": {"OrderCode": issued.order_code, "ShipperCode": issued.shipper, "LogisticCode": issued.number},
    }


def _query(state: CarrierState, query: dict[str, Any]) -> dict[str, Any]:
    shipper, number = str(query.get("ShipperCode") or ""), str(query.get("LogisticCode") or "")
    base = {"EBusinessID": state.ebusiness_id, "OrderCode": "", "ShipperCode": shipper, "LogisticCode": number}
    if not shipper or not number:
        return base | {"Success": False, "Reason": "ShipperCode 与 LogisticCode 不能为空"}
    issued = state.find(shipper, number)
    if issued is None:
        return base | {"Success": True, "State": "0", "Reason": "暂无轨迹信息", "Traces": []}
    if shipper == "SF" and str(query.get("CustomerName") or "") != issued.mobile[-4:]:
        return base | {"Success": False, "Reason": "顺丰单号查询需提供收件人或寄件人手机号后四位 CustomerName"}
    return base | _journey_so_far(issued, state.journey(issued.number), state.now())


def _steps_so_far(issued: Issued, steps: list[Step], now: datetime) -> list[tuple[datetime, Step, str]]:
    """The nodes that have happened by `now`, oldest first: (when, step, text)."""
    words = {"origin": issued.origin, "city": issued.city, "district": issued.district}
    done = [(issued.at + step.after, step) for step in steps if issued.at + step.after <= now]
    return [(at, step, step.text.format(**words)) for at, step in sorted(done, key=lambda pair: pair[0])]


def _journey_so_far(issued: Issued, steps: list[Step], now: datetime) -> dict[str, Any]:
    pattern = "%Y/%m/%d %H:%M:%S" if issued.shipper in SLASH_TIMES else "%Y-%m-%d %H:%M:%S"
    traces, current, detailed = [], "0", ""
    for at, step, text in _steps_so_far(issued, steps, now):  # ascending, as Kdniao sends them
        when = at.astimezone(BEIJING).strftime(pattern)
        traces.append({"AcceptTime": when, "AcceptStation": text, "Remark": None})
        current, detailed = step.kdniao, step.kdniao_ex
    reason = "" if traces else "暂无轨迹信息"
    answer = {"Success": True, "State": current, "Reason": reason or None, "Traces": traces}
    return answer | ({"StateEx": detailed} if detailed else {})


# --- Kuaidi100 -----------------------------------------------------------------------------------------------------


def _kuaidi100_refusal(code: str, message: str) -> dict[str, Any]:
    return {"result": False, "returnCode": code, "message": message}


def _kuaidi100_query(state: CarrierState, form: dict[str, str]) -> dict[str, Any]:
    param, sign, customer = form.get("param", ""), form.get("sign", ""), form.get("customer", "")
    if not (param and sign and customer):
        return _kuaidi100_refusal("400", "找不到所需参数 customer, sign 或 param")
    if customer != state.kuaidi100_customer or not same(
        sign, kuaidi100.query_sign(param, state.kuaidi100_key, customer)
    ):
        return _kuaidi100_refusal("503", "验证签名失败")
    try:
        query = json.loads(param)
    except ValueError:
        return _kuaidi100_refusal("400", "param 不是合法的 JSON")
    if not isinstance(query, dict) or not query.get("com") or not query.get("num"):
        return _kuaidi100_refusal("400", "param 缺少 com 或 num")
    issued = state.find(kuaidi100.CARRIERS.get(str(query["com"]), ""), str(query["num"]))
    if issued is None:
        return _kuaidi100_refusal("500", "查询无结果，请隔段时间再查")
    phone = str(query.get("phone") or "")
    if issued.shipper == "SF" and (not phone or not issued.mobile.endswith(phone[-4:])):
        return _kuaidi100_refusal("408", "您提供的快递单号需要手机号码验证，请提供收件人或寄件人的手机号")
    result = _kuaidi100_result(issued, state.journey(issued.number), state.now())
    if result is None:
        return _kuaidi100_refusal("500", "查询无结果，请隔段时间再查")
    return result


def _kuaidi100_result(issued: Issued, steps: list[Step], now: datetime) -> dict[str, Any] | None:
    """The query answer (and a push's lastResult) with resultv2=4 fields, newest node first. None: no node yet."""
    done = _steps_so_far(issued, steps, now)
    if not done:
        return None
    data = []
    for at, step, text in reversed(done):
        when = at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        name = KUAIDI100_NAMES.get(step.kuaidi100, "在途")
        area = text[1 : text.index("】")] if text.startswith("【") else ""
        node = {"time": when, "ftime": when, "context": text, "status": name, "statusCode": step.kuaidi100_code}
        data.append(node | {"areaCode": None, "areaName": area or None, "location": area})
    last = done[-1][1]
    return {
        "message": "ok",
        "nu": issued.number,
        "ischeck": "1" if last.kuaidi100 == "3" else "0",
        "condition": "F00",
        "com": kuaidi100.COMPANIES[issued.shipper],
        "status": "200",
        "state": last.kuaidi100,
        "data": data,
    }


def _kuaidi100_subscribe(state: CarrierState, form: dict[str, str]) -> dict[str, Any]:
    try:
        request = json.loads(form.get("param") or "")
    except ValueError:
        return _kuaidi100_refusal("700", "param 不是合法的 JSON")
    if form.get("schema") != "json" or not isinstance(request, dict):
        return _kuaidi100_refusal("700", "订阅参数有误: schema 应为 json")
    parameters = request.get("parameters") if isinstance(request.get("parameters"), dict) else {}
    if request.get("key") != state.kuaidi100_key:
        return _kuaidi100_refusal("600", "您不是合法的订阅者（即授权Key出错）")
    company, number = str(request.get("company") or ""), str(request.get("number") or "")
    if company not in kuaidi100.CARRIERS or not number or not parameters.get("callbackurl"):
        return _kuaidi100_refusal("700", "订阅参数有误: company, number 与 parameters.callbackurl 必填")
    with state.lock:
        if (company, number) in state.subscriptions:
            return _kuaidi100_refusal("501", "重复订阅")
        state.subscriptions[(company, number)] = {
            "callbackurl": str(parameters["callbackurl"]),
            "salt": str(parameters.get("salt") or ""),
        }
    return {"result": True, "returnCode": "200", "message": "提交成功"}


def push_kuaidi100(state: CarrierState, http: httpx.Client) -> list[tuple[str, int]]:
    """Push each subscribed number's trace so far to its callback, form-encoded (sign, param), as Kuaidi100 does.
    Returns (number, HTTP status) per push; numbers with no node yet are not pushed."""
    sent = []
    for (company, number), subscription in sorted(state.subscriptions.items()):
        issued = state.find(kuaidi100.CARRIERS[company], number)
        result = _kuaidi100_result(issued, state.journey(number), state.now()) if issued else None
        if result is None:
            continue
        status = "shutdown" if result["state"] in {"3", "4"} else "polling"
        push = {"status": status, "billstatus": "", "message": "", "autoCheck": "0", "comOld": "", "comNew": ""}
        param = kuaidi100.param_text(push | {"lastResult": result})
        form = {"sign": kuaidi100.push_sign(param, subscription["salt"]), "param": param}
        sent.append((number, http.post(subscription["callbackurl"], data=form).status_code))
    return sent


def push_kdniao(
    state: CarrierState, http: httpx.Client, url: str, numbers: list[str] | None = None
) -> list[tuple[str, int]]:
    """Push the traces of issued numbers (all, or those given) to `url` in one RequestType 101 call, signed with
    DataSign as Kdniao signs. Returns one (count of waybills, HTTP status)."""
    now = state.now()
    wanted = [i for i in state.issued_numbers() if numbers is None or i.number in numbers]
    data = []
    for issued in wanted:
        base = {"EBusinessID": state.ebusiness_id, "OrderCode": issued.order_code, "ShipperCode": issued.shipper}
        answer = _journey_so_far(issued, state.journey(issued.number), now)
        if answer["Traces"]:
            data.append(base | {"LogisticCode": issued.number, "CallBack": ""} | answer)
    if not data:
        return []
    pushed_at = now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
    body = request_data({"EBusinessID": state.ebusiness_id, "PushTime": pushed_at, "Count": len(data), "Data": data})
    form = {"RequestData": body, "DataSign": data_sign(body, state.app_key), "RequestType": "101", "DataType": "2"}
    return [(str(len(data)), http.post(url, data=form).status_code)]
