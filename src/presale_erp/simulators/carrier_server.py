"""A local HTTP server that answers like Kdniao (快递鸟) on its real path: electronic waybills (RequestType 1007)
and instant trace queries (1002), with the real form fields, DataSign check and JSON envelopes
(../shared/formats/carrier_tracking.md section 2).

Waybills are keyed on (ShipperCode, OrderCode), so asking again for a parcel returns the number issued before.
A parcel's trace grows with the time since its number was issued: collected after half an hour, in transit for a
day, signed after 26 hours. `fail_every=n` answers every n-th request with HTTP 500, as a gateway does on a peak
night. Result codes: 100 ok, 101-105 refusals (104: the account or signature), 106 a repeat of an issued order."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from presale_erp.adapters.carriers.kdniao import PATH, data_sign
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
# (time after issue, state, text): the journey every parcel makes. State 0 until the first step.
JOURNEY = [
    (timedelta(minutes=30), "1", "【{origin}】快件已揽收"),
    (timedelta(hours=4), "2", "【{origin}】快件已发往 {city}转运中心"),
    (timedelta(hours=14), "2", "【{city}】快件已到达 {city}转运中心"),
    (timedelta(hours=20), "2", "【{city}{district}】快递员正在派件"),
    (timedelta(hours=26), "3", "【{city}{district}】已签收，签收人：本人"),
]
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


def make_carrier_app(
    ebusiness_id: str,
    app_key: str,
    *,
    fail_every: int = 0,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    seed: int = 11,
) -> FastAPI:
    """The Kdniao simulator. Its state (issued waybills, request and failure counts) is `app.state.carrier`."""
    state = CarrierState(ebusiness_id, app_key, fail_every=fail_every, now=now, seed=seed)
    app = FastAPI(title="carrier simulator (Kdniao)")
    app.state.carrier = state

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
    return base | _journey_so_far(issued, state.now())


def _journey_so_far(issued: Issued, now: datetime) -> dict[str, Any]:
    pattern = "%Y/%m/%d %H:%M:%S" if issued.shipper in SLASH_TIMES else "%Y-%m-%d %H:%M:%S"
    words = {"origin": issued.origin, "city": issued.city, "district": issued.district}
    traces, current = [], "0"
    for after, step_state, text in JOURNEY:  # ascending, as Kdniao sends them
        at = issued.at + after
        if at > now:
            break
        when = at.astimezone(BEIJING).strftime(pattern)
        traces.append({"AcceptTime": when, "AcceptStation": text.format(**words), "Remark": None})
        current = step_state
    reason = "" if traces else "暂无轨迹信息"
    return {"Success": True, "State": current, "Reason": reason or None, "Traces": traces}
