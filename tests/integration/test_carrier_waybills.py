"""Electronic waybills and traces through Kdniao, over real HTTP to the carrier simulator (no database)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import Request

from presale_erp.adapters.carriers.kdniao import KdniaoClient
from presale_erp.domain.shipping import (
    CarrierError,
    CarrierUnavailable,
    Sender,
    TraceState,
    WaybillRequest,
)
from presale_erp.simulators.carrier_server import CarrierState, make_carrier_app
from tests.carrier_server_runner import serving

EBUSINESS_ID = "1109259"
APP_KEY = "sim-kdniao-key"
ISSUED_AT = datetime(2026, 11, 11, 0, 10, tzinfo=UTC)  # 08:10 in Beijing
HANGZHOU = Sender("杭州仓", "0571-88880000", "浙江省", "杭州市", "余杭区", "仓前街道 1 号")
SHAPES = {
    "ZTO": r"7\d{11}",
    "YTO": r"YT\d{13}",
    "STO": r"77\d{11}",
    "YD": r"46\d{11}",
    "SF": r"SF\d{12}",
    "EMS": r"11\d{11}",
    "JD": r"JD\d{13}",
}


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def parcel(n: int, carrier: str = "ZTO", **changes: Any) -> WaybillRequest:
    fields: dict[str, Any] = {
        "parcel_ref": f"PKG-{n:05d}",
        "carrier": carrier,
        "receiver_name": f"顾客{n}",
        "receiver_phone": f"1380000{n:04d}",
        "province": "广东省",
        "city": "广州市",
        "district": "天河区",
        "street": f"体育西路 {n} 号",
        "weight_grams": 850,
        "goods": [("龙井茶 250g", 2), ("青瓷杯", 1)],
    }
    return WaybillRequest(**(fields | changes))


def client(base_url: str, app_key: str = APP_KEY, **options: Any) -> KdniaoClient:
    options = {"first_delay": 0.001, "sleep": lambda _: None} | options
    return KdniaoClient(base_url, EBUSINESS_ID, app_key, sender=HANGZHOU, **options)


@contextmanager
def carrier(**options: Any) -> Iterator[tuple[str, CarrierState]]:
    app = make_carrier_app(EBUSINESS_ID, APP_KEY, **options)
    with serving(app) as base_url:
        yield base_url, app.state.carrier


def test_a_batch_of_200_parcels_gets_200_distinct_tracking_numbers_over_a_few_kept_alive_connections():
    carriers = list(SHAPES)
    batch = [parcel(n, carriers[n % len(carriers)]) for n in range(200)]
    app = make_carrier_app(EBUSINESS_ID, APP_KEY)
    peers: set[tuple[str, int]] = set()

    @app.middleware("http")
    async def note_peer(request: Request, call_next: Callable[..., Any]) -> Any:
        assert request.client is not None
        peers.add((request.client.host, request.client.port))  # one per TCP connection
        return await call_next(request)

    with serving(app) as base_url, client(base_url, concurrency=8) as kdniao:
        issued, refused = kdniao.request_waybills(batch)

    assert refused == []
    assert [w.parcel_ref for w in issued] == [p.parcel_ref for p in batch]
    assert len({(w.carrier, w.tracking_no) for w in issued}) == 200
    assert all(re.fullmatch(SHAPES[w.carrier], w.tracking_no) for w in issued)
    assert len(peers) <= 8, "each worker should keep its connection alive across parcels"


def test_asking_again_for_the_same_parcel_returns_the_number_issued_before():
    with carrier() as (base_url, state), client(base_url) as kdniao:
        first, _ = kdniao.request_waybills([parcel(n) for n in range(5)])
        again, refused = kdniao.request_waybills([parcel(3), parcel(1), parcel(9)])

    assert refused == []
    numbers = {w.parcel_ref: w.tracking_no for w in first}
    assert again[0].tracking_no == numbers["PKG-00003"]
    assert again[1].tracking_no == numbers["PKG-00001"]
    assert again[2].tracking_no not in numbers.values()
    assert len(state.by_order) == 6


def test_the_same_parcel_ref_with_another_carrier_gets_that_carriers_own_number():
    with carrier() as (base_url, _), client(base_url) as kdniao:
        issued, _ = kdniao.request_waybills([parcel(1, "ZTO"), parcel(1, "SF")])

    assert re.fullmatch(SHAPES["ZTO"], issued[0].tracking_no)
    assert re.fullmatch(SHAPES["SF"], issued[1].tracking_no)


def test_a_parcel_without_a_receiver_phone_is_refused_with_the_carriers_reason_while_the_rest_succeed():
    batch = [parcel(n) for n in range(20)]
    batch[7] = parcel(7, receiver_phone="")
    batch[12] = parcel(12, district="")
    with carrier() as (base_url, _), client(base_url) as kdniao:
        issued, refused = kdniao.request_waybills(batch)

    assert len(issued) == 18
    assert [r.parcel_ref for r in refused] == ["PKG-00007", "PKG-00012"]
    assert "Receiver.Mobile" in refused[0].reason and "收件人手机" in refused[0].reason
    assert "Receiver.ExpAreaName" in refused[1].reason
    assert not any(r.retryable for r in refused)


def test_a_carrier_we_do_not_ship_with_is_refused_without_asking():
    with carrier() as (base_url, state), client(base_url) as kdniao:
        issued, refused = kdniao.request_waybills([parcel(1, "DHL"), parcel(2)])

    assert [w.parcel_ref for w in issued] == ["PKG-00002"]
    assert "DHL" in refused[0].reason
    assert state.requests == 1


def test_http_500s_are_retried_until_every_parcel_has_its_number():
    # Eight requests in flight share the simulator's counter, so one parcel can draw every third slot several
    # times running (about one run in four with 5 attempts): allow enough attempts that this never decides the test.
    with carrier(fail_every=3) as (base_url, state), client(base_url, attempts=12) as kdniao:
        issued, refused = kdniao.request_waybills([parcel(n) for n in range(60)])

    assert refused == []
    assert len({w.tracking_no for w in issued}) == 60
    assert state.failures >= 20  # a third of the requests failed and were asked again
    assert len(state.by_order) == 60


def test_a_carrier_that_stays_down_leaves_its_parcels_refused_as_retryable():
    with carrier(fail_every=1) as (base_url, state), client(base_url, attempts=3) as kdniao:
        issued, refused = kdniao.request_waybills([parcel(1), parcel(2)])
        with pytest.raises(CarrierUnavailable, match="HTTP 500 after 3 attempts"):
            kdniao.query_trace("ZTO", "712345678901")

    assert issued == []
    assert all(r.retryable and "HTTP 500 after 3 attempts" in r.reason for r in refused)
    assert state.requests == 9


def test_a_wrong_app_key_is_refused_with_a_clear_error():
    with carrier() as (base_url, state), client(base_url, app_key="not-the-key") as kdniao:
        with pytest.raises(CarrierError, match="签名错误"):
            kdniao.request_waybills([parcel(n) for n in range(50)])
        with pytest.raises(CarrierError, match="签名错误"):
            kdniao.query_trace("ZTO", "712345678901")

    assert state.by_order == {}


def test_a_trace_comes_back_in_utc_ascending_order_with_the_state_for_the_time_since_issue():
    clock = Clock(ISSUED_AT)
    with carrier(now=clock) as (base_url, _), client(base_url) as kdniao:
        (waybill,), _ = kdniao.request_waybills([parcel(1, "YTO")])
        states = {}
        for hours in (0, 1, 8, 30):
            clock.at = ISSUED_AT + timedelta(hours=hours)
            states[hours] = kdniao.query_trace("YTO", waybill.tracking_no)

    assert states[0].state is TraceState.NO_TRACE and states[0].events == []
    assert states[1].state is TraceState.COLLECTED
    assert states[8].state is TraceState.IN_TRANSIT
    signed = states[30]
    assert signed.state is TraceState.SIGNED and signed.tracking_no == waybill.tracking_no
    times = [event.at for event in signed.events]
    assert times == sorted(times) and len(times) == 5
    assert all(at.utcoffset() == timedelta(0) for at in times)
    assert times[0] == ISSUED_AT + timedelta(minutes=30)  # sent as 08:40 Beijing time
    assert "杭州市" in signed.events[0].text and "签收" in signed.events[-1].text


def test_slash_separated_sf_times_parse_and_sf_wants_the_phone_last4():
    clock = Clock(ISSUED_AT)
    with carrier(now=clock) as (base_url, _), client(base_url) as kdniao:
        (waybill,), _ = kdniao.request_waybills([parcel(42, "SF")])
        clock.at = ISSUED_AT + timedelta(hours=5)
        with pytest.raises(CarrierError, match="CustomerName"):
            kdniao.query_trace("SF", waybill.tracking_no)
        trace = kdniao.query_trace("SF", waybill.tracking_no, phone_last4="0042")

    assert trace.state is TraceState.IN_TRANSIT
    assert [e.at for e in trace.events] == [ISSUED_AT + timedelta(minutes=30), ISSUED_AT + timedelta(hours=4)]


def test_an_unknown_tracking_number_has_no_trace_and_the_carriers_reason():
    with carrier() as (base_url, _), client(base_url) as kdniao:
        trace = kdniao.query_trace("ZTO", "700000000000")

    assert trace.state is TraceState.NO_TRACE and trace.events == []
    assert trace.reason == "暂无轨迹信息"


def answering(*bodies: Any, status: int = 200) -> KdniaoClient:
    """A client whose carrier answers each call with the next body (text as is, anything else as JSON)."""
    queue = list(bodies)

    def answer(_: httpx.Request) -> httpx.Response:
        body = queue.pop(0)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    return KdniaoClient("http://carrier.test", EBUSINESS_ID, APP_KEY, http=http, sleep=lambda _: None)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("<html>gateway</html>", "not JSON"),
        ({"ResultCode": "100"}, "no Success flag"),
        ({"Success": True, "ResultCode": "100", "Order": {"OrderCode": "PKG-00001"}}, "without Order.LogisticCode"),
        ({"Success": True, "Order": {"OrderCode": "PKG-99999", "LogisticCode": "7123"}}, "PKG-99999"),
    ],
)
def test_a_malformed_waybill_answer_raises_a_carrier_error_with_the_reason(body: Any, says: str):
    with pytest.raises(CarrierError, match=says):
        answering(body).request_waybills([parcel(1)])


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"Success": True, "State": "soon", "Traces": []}, "unreadable State"),
        ({"Success": True, "State": 2, "Traces": [{"AcceptStation": "x"}]}, "no AcceptTime"),
        ({"Success": True, "State": 2, "Traces": [{"AcceptTime": "25.06.2014 08:05"}]}, "unreadable time"),
    ],
)
def test_a_malformed_trace_answer_raises_a_carrier_error_with_the_reason(body: Any, says: str):
    with pytest.raises(CarrierError, match=says):
        answering(body).query_trace("ZTO", "712345678901")


def test_the_docs_example_trace_with_slashes_and_a_numeric_state_reads_as_utc():
    example = {
        "EBusinessID": "1109259",
        "ShipperCode": "SF",
        "LogisticCode": "118461988807",
        "Success": True,
        "State": 3,
        "Reason": None,
        "Traces": [
            {"AcceptTime": "2014/06/25 08:05:37", "AcceptStation": "正在派件..[深圳市]", "Remark": None},
            {"AcceptTime": "2014/06/24 20:18:58", "AcceptStation": "已收件[深圳市]", "Remark": None},
        ],
    }
    trace = answering(example).query_trace("SF", "118461988807", "1234")

    assert trace.state is TraceState.SIGNED
    assert [e.at for e in trace.events] == [
        datetime(2014, 6, 24, 12, 18, 58, tzinfo=UTC),
        datetime(2014, 6, 25, 0, 5, 37, tzinfo=UTC),
    ]


def test_a_429_is_waited_out_for_at_least_its_retry_after():
    waits: list[float] = []
    calls = iter(
        [
            httpx.Response(429, headers={"Retry-After": "2"}),
            httpx.Response(200, json={"Success": True, "Order": {"OrderCode": "PKG-00001", "LogisticCode": "7"}}),
        ]
    )
    http = httpx.Client(transport=httpx.MockTransport(lambda _: next(calls)))
    kdniao = KdniaoClient("http://carrier.test", EBUSINESS_ID, APP_KEY, http=http, sleep=waits.append)

    issued, _ = kdniao.request_waybills([parcel(1)])

    assert issued[0].tracking_no == "7"
    assert len(waits) == 1 and waits[0] >= 2
