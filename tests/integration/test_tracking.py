"""Tracking traces from the carrier simulator, pulled (Kuaidi100 and Kdniao queries) and pushed (both aggregators'
callbacks, over real HTTP to the ERP), attach to the right parcel exactly once; stuck and went-wrong shipments
raise alerts that resolve when the parcel is delivered (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from presale_erp.adapters.carriers.kdniao import KdniaoClient
from presale_erp.adapters.carriers.kuaidi100 import Kuaidi100Client, param_text, push_sign
from presale_erp.adapters.db.tables import alerts, parcels, tracking_traces
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.api.app import create_app
from presale_erp.domain.access import SYSTEM, Role
from presale_erp.domain.shipping import WaybillRequest
from presale_erp.services import parcels as parcel_service
from presale_erp.services import tracking
from presale_erp.settings import Settings
from presale_erp.simulators.carrier_server import CarrierState, make_carrier_app, push_kdniao, push_kuaidi100
from tests.api.conftest import _signer
from tests.carrier_server_runner import serving
from tests.integration.test_fulfilment import CIPHER, LATER, approve_and_allocate, push, set_up

EBUSINESS_ID, APP_KEY = "1109259", "sim-kdniao-key"
CUSTOMER, KEY, SALT = "sim-customer", "sim-kuaidi100-key", "salt-of-our-subscriptions"
ISSUED_AT = LATER + timedelta(minutes=5)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def hours_after_issue(self, hours: float) -> datetime:
        self.at = ISSUED_AT + timedelta(hours=hours)
        return self.at


@contextmanager
def simulator(clock: Clock) -> Iterator[tuple[str, CarrierState]]:
    app = make_carrier_app(EBUSINESS_ID, APP_KEY, now=clock, kuaidi100_customer=CUSTOMER, kuaidi100_key=KEY)
    with serving(app) as base_url:
        yield base_url, app.state.carrier


def kuaidi100(base_url: str) -> Kuaidi100Client:
    return Kuaidi100Client(base_url + "/kuaidi100", CUSTOMER, KEY, sleep=lambda _: None)


def kdniao(base_url: str) -> KdniaoClient:
    return KdniaoClient(base_url, EBUSINESS_ID, APP_KEY, sleep=lambda _: None, first_delay=0.001)


def erp_app(db: Database, tmp_path: Path, **settings: Any):
    account = {"carrier_id": EBUSINESS_ID, "carrier_key": APP_KEY, "kuaidi100_salt": SALT}
    return create_app(Settings(data_dir=tmp_path, database_url="sqlite://", **(account | settings)), db=db)


def ship(db: Database, base_url: str, buyers: list[str]) -> dict[str, dict[str, Any]]:
    """One order per buyer, allocated and given its tracking number by the simulator: platform id → parcel."""
    set_up(db, hz=20, gz=20)
    for n, buyer in enumerate(buyers):
        push(db, f"{1000 + n}", buyer=buyer, phone=f"1380000{n:04d}")
    approve_and_allocate(db)
    with kdniao(base_url) as client:
        report = parcel_service.request_waybills(db, CIPHER, client, SYSTEM, now=ISSUED_AT)
    assert report.issued == len(buyers)
    found = {}
    for n in range(len(buyers)):
        (row,) = tracking.by_platform_order(db, "TM-1", f"{1000 + n}")["parcels"]
        found[f"{1000 + n}"] = row
    return found


def stored(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        query = select(tracking_traces).order_by(tracking_traces.c.tracking_no, tracking_traces.c.at)
        return [dict(row) for row in uow.conn.execute(query).mappings()]


def parcel_row(db: Database, code: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        return dict(uow.conn.execute(select(parcels).where(parcels.c.code == code)).mappings().one())


def shipment_alerts(db: Database) -> dict[str, dict[str, Any]]:
    with db.uow(write=False) as uow:
        rows = uow.conn.execute(select(alerts).where(alerts.c.kind.like("shipment_%"))).mappings()
        return {row["key"]: dict(row) for row in rows}


def test_pulled_traces_attach_to_the_parcel_that_carries_the_number(db, tmp_path):
    clock = Clock(ISSUED_AT)
    with simulator(clock) as (base_url, _):
        shipped = ship(db, base_url, ["b1", "b2", "b3"])
        report = tracking.poll_due(db, kuaidi100(base_url), now=clock.hours_after_issue(30), cipher=CIPHER)

    assert report.polled == 3 and report.failed == 0
    assert report.recorded.stored == 15 and report.recorded.unattached == 0
    for parcel in shipped.values():
        mine = [t for t in stored(db) if t["parcel_code"] == parcel["code"]]
        assert len(mine) == 5
        assert {t["tracking_no"] for t in mine} == {parcel["tracking_no"]}
        assert [t["state"] for t in mine] == ["collected", "in_transit", "in_transit", "delivering", "delivered"]
        row = parcel_row(db, parcel["code"])
        assert row["tracking_state"] == "delivered"
        assert row["tracking_updated_at"] == ISSUED_AT.replace(microsecond=0) + timedelta(hours=26)
    again = tracking.poll_due(db, kuaidi100(base_url), now=clock.at)
    assert again.polled == 0, "delivered parcels are not asked again"


def test_the_same_node_pulled_twice_and_pushed_twice_is_stored_once(db, tmp_path):
    clock = Clock(ISSUED_AT)
    with simulator(clock) as (base_url, carrier), serving(erp_app(db, tmp_path)) as erp_url:
        (parcel,) = ship(db, base_url, ["b1"]).values()
        number = parcel["tracking_no"]
        first = tracking.poll_due(db, kuaidi100(base_url), now=clock.hours_after_issue(15))
        second = tracking.poll_due(db, kdniao(base_url), now=clock.at)  # the other aggregator, same nodes
        callback = erp_url + "/api/v1/tracking/push/kuaidi100"
        subscribed = [
            tracking.subscribe_pushes(db, kuaidi100(base_url), callback_url=callback, salt=SALT, now=clock.at)
            for _ in range(2)
        ]
        with httpx.Client() as http:
            pushed = push_kuaidi100(carrier, http)
            clock.hours_after_issue(21)
            pushed += push_kdniao(carrier, http, erp_url + "/api/v1/tracking/push/kdniao")

    assert (first.recorded.stored, second.recorded.stored, second.recorded.duplicates) == (3, 0, 3)
    assert [r.subscribed for r in subscribed] == [1, 0], "a number is subscribed once"
    assert list(carrier.subscriptions) == [("zhongtong", number)]
    assert [status for _, status in pushed] == [200, 200]
    traces = stored(db)
    assert len(traces) == 4, "three nodes seen four times each, and one new node pushed by Kdniao"
    assert len({t["trace_key"] for t in traces}) == 4
    assert {t["parcel_code"] for t in traces} == {parcel["code"]}
    assert [t["source"] for t in traces] == ["poll", "poll", "poll", "push"]
    assert parcel_row(db, parcel["code"])["tracking_state"] == "delivering"


def test_a_push_for_a_number_no_parcel_has_is_kept_unattached_and_shown_by_number(db, tmp_path):
    clock = Clock(ISSUED_AT)
    app = erp_app(db, tmp_path)
    with simulator(clock) as (base_url, carrier), serving(app) as erp_url, kdniao(base_url) as client:
        issued, _ = client.request_waybills([_stranger()])  # a parcel shipped outside the ERP
        clock.hours_after_issue(5)
        with httpx.Client() as http:
            (pushed,) = push_kdniao(carrier, http, erp_url + "/api/v1/tracking/push/kdniao")

    assert pushed[1] == 200
    assert [t["parcel_code"] for t in stored(db)] == [None, None]
    with TestClient(app) as api:
        headers = _signer(api)(Role.VIEWER)
        found = api.get(f"/api/v1/tracking/{issued[0].tracking_no}", headers=headers).json()
        missing = api.get("/api/v1/tracking/700000000000", headers=headers)
    assert found["parcels"] == [] and len(found["unattached_traces"]) == 2
    assert found["unattached_traces"][0]["state"] == "collected"
    assert missing.status_code == 404


def test_a_node_pushed_before_our_waybill_was_stored_joins_its_parcel_when_the_parcel_is_seen(db, tmp_path):
    clock = Clock(ISSUED_AT)
    set_up(db, hz=20, gz=20)
    push(db, "1000", buyer="b1")
    approve_and_allocate(db)
    (code,) = [p["code"] for p in parcel_service.parcels(db, status="allocated", shop=None, after="", limit=10)]
    with simulator(clock) as (base_url, carrier), serving(erp_app(db, tmp_path)) as erp_url, kdniao(base_url) as client:
        # The carrier issued the number, and pushed a trace, before our waybill run committed it.
        (early,), _ = client.request_waybills([_stranger(code)])
        clock.hours_after_issue(5)
        with httpx.Client() as http:
            push_kdniao(carrier, http, erp_url + "/api/v1/tracking/push/kdniao")
        before = [t["parcel_code"] for t in stored(db)]
        parcel_service.request_waybills(db, CIPHER, client, SYSTEM, now=clock.at)  # the same number again (106)
        report = tracking.poll_due(db, client, now=clock.at)

    assert before == [None, None]
    assert parcel_row(db, code)["tracking_no"] == early.tracking_no
    assert (report.recorded.stored, report.recorded.duplicates) == (0, 2)
    assert [t["parcel_code"] for t in stored(db)] == [code, code]
    assert parcel_row(db, code)["tracking_state"] == "in_transit"


def test_sf_is_asked_with_the_buyers_phone_last4_and_a_parcel_the_aggregator_refuses_is_asked_again(db, tmp_path):
    clock = Clock(ISSUED_AT)
    set_up(db, hz=20, gz=20)
    push(db, "1000", buyer="b1", phone="13912345678")
    approve_and_allocate(db)
    with db.uow() as uow:  # this shop ships with SF (顺丰), whose traces need the phone
        uow.conn.execute(update(parcels).values(carrier="SF"))
        uow.commit()
    with simulator(clock) as (base_url, _), kdniao(base_url) as client:
        parcel_service.request_waybills(db, CIPHER, client, SYSTEM, now=ISSUED_AT)
        clock.hours_after_issue(5)
        without_phone = tracking.poll_due(db, kuaidi100(base_url), now=clock.at)
        with_phone = tracking.poll_due(db, kuaidi100(base_url), now=clock.at, cipher=CIPHER)

    assert (without_phone.polled, without_phone.failed, without_phone.recorded.stored) == (1, 1, 0)
    assert "408" in without_phone.errors[0]
    assert (with_phone.polled, with_phone.failed, with_phone.recorded.stored) == (1, 0, 2)
    assert {t["carrier"] for t in stored(db)} == {"SF"}


def _stranger(parcel_ref: str = "PKG-ELSEWHERE") -> WaybillRequest:
    fields = (parcel_ref, "ZTO", "某人", "13900000000", "广东省", "广州市", "天河区", "体育西路 1 号", 500)
    return WaybillRequest(*fields)


def kuaidi100_form(lastResult: dict[str, Any], salt: str = SALT) -> dict[str, str]:
    param = param_text({"status": "polling", "message": "", "lastResult": lastResult})
    return {"sign": push_sign(param, salt), "param": param}


NODE = {"ftime": "2026-11-02 10:00:00", "context": "【杭州市】快件已揽收", "status": "揽收", "statusCode": "103"}


@pytest.mark.parametrize(
    ("form", "status"),
    [
        (kuaidi100_form({"com": "zhongtong", "nu": "7123", "state": "1", "data": [NODE]}, salt="guessed"), 401),
        ({"param": param_text({"lastResult": {"com": "zhongtong", "nu": "7123", "data": [NODE]}})}, 401),
        (kuaidi100_form({"com": "zhongtong", "nu": "7123", "data": [{"context": "no time"}]}), 400),
        (kuaidi100_form({"com": "zhongtong", "nu": "7123", "data": "not a list"}), 400),
        ({"sign": "X"}, 400),
        ({"param": "{not json", "sign": push_sign("{not json", SALT)}, 400),
    ],
)
def test_a_forged_or_malformed_kuaidi100_push_is_refused_and_nothing_is_stored(db, tmp_path, form, status):
    with TestClient(erp_app(db, tmp_path)) as api:
        response = api.post("/api/v1/tracking/push/kuaidi100", data=form)

    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert stored(db) == []


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("RequestData=%7B%22Data%22%3A%5B%5D%7D&DataSign=bm9wZQ%3D%3D&RequestType=101", 401),
        ("RequestType=101", 400),
        (b"\xff\xfe not utf-8", 400),
        ("a=1&&&b", 400),
    ],
)
def test_a_forged_or_malformed_kdniao_push_is_refused_and_nothing_is_stored(db, tmp_path, body, status):
    with TestClient(erp_app(db, tmp_path)) as api:
        response = api.post(
            "/api/v1/tracking/push/kdniao",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )

    assert response.status_code == status, response.text
    assert stored(db) == []


def test_a_parcel_stuck_at_the_hub_raises_an_alert_that_resolves_when_it_is_delivered(db, tmp_path):
    clock = Clock(ISSUED_AT)
    with simulator(clock) as (base_url, carrier):
        (parcel,) = ship(db, base_url, ["b1"]).values()
        carrier.scenarios[parcel["tracking_no"]] = "delayed"
        source = kuaidi100(base_url)
        tracking.poll_due(db, source, now=clock.hours_after_issue(15))
        early = shipment_alerts(db)
        quiet = tracking.poll_due(db, source, now=clock.hours_after_issue(14 + 73))
        during = shipment_alerts(db)
        later = tracking.poll_due(db, source, now=clock.hours_after_issue(130))
        after = shipment_alerts(db)

    key = f"shipment_stuck:{parcel['code']}"
    assert early == {}
    assert quiet.recorded.stored == 0 and quiet.recorded.alerts_opened == 1
    assert during[key]["status"] == "open" and "73" in during[key]["title"]
    assert during[key]["money_at_stake"] > 0 and during[key]["details"]["tracking_no"] == parcel["tracking_no"]
    assert later.recorded.alerts_resolved == 1
    assert after[key]["status"] == "resolved" and parcel_row(db, parcel["code"])["tracking_state"] == "delivered"


def test_a_failed_delivery_alerts_until_signed_and_a_refused_parcel_stays_alerted_as_it_returns(db, tmp_path):
    clock = Clock(ISSUED_AT)
    with simulator(clock) as (base_url, carrier):
        shipped = ship(db, base_url, ["b1", "b2"])
        problem, refused = shipped["1000"], shipped["1001"]
        carrier.scenarios[problem["tracking_no"]] = "problem"
        carrier.scenarios[refused["tracking_no"]] = "refused"
        tracking.poll_due(db, kuaidi100(base_url), now=clock.hours_after_issue(23.5))
        during = shipment_alerts(db)
        tracking.poll_due(db, kuaidi100(base_url), now=clock.hours_after_issue(50))
        after = shipment_alerts(db)

    problem_key, refused_key = f"shipment_exception:{problem['code']}", f"shipment_exception:{refused['code']}"
    assert (during[problem_key]["status"], during[problem_key]["severity"]) == ("open", "warning")
    assert (during[refused_key]["status"], during[refused_key]["severity"]) == ("open", "critical")
    assert during[refused_key]["details"]["tracking_state"] == "rejected"
    assert after[problem_key]["status"] == "resolved"
    assert after[refused_key]["status"] == "open" and after[refused_key]["details"]["tracking_state"] == "returned"
    assert parcel_row(db, refused["code"])["tracking_state"] == "returned"


def test_an_order_shows_its_parcels_with_their_trace_newest_first(db, tmp_path):
    clock = Clock(ISSUED_AT)
    with simulator(clock) as (base_url, _), TestClient(erp_app(db, tmp_path, carrier_url=base_url)) as api:
        shipped = ship(db, base_url, ["b1", "b2"])
        headers = _signer(api)(Role.CUSTOMER_SERVICE)
        clock.hours_after_issue(15)
        polled = api.post("/api/v1/tracking/poll", headers=headers).json()  # through the Kdniao account
        by_platform = api.get("/api/v1/orders/TM-1/1001/tracking", headers=headers)
        order_id = by_platform.json()["order_id"]
        by_id = api.get(f"/api/v1/tracking/orders/{order_id}", headers=headers)
        by_number = api.get(f"/api/v1/tracking/{shipped['1001']['tracking_no']}", headers=headers)
        stranger = api.get("/api/v1/orders/TM-1/1001/tracking")
        unknown = api.get("/api/v1/tracking/orders/999999", headers=headers)

    assert (polled["polled"], polled["stored"], polled["failed"]) == (2, 6, 0)
    assert by_platform.status_code == 200, by_platform.text
    (parcel,) = by_platform.json()["parcels"]
    assert parcel["code"] == shipped["1001"]["code"] and parcel["tracking_state"] == "in_transit"
    assert [t["state"] for t in parcel["traces"]] == ["in_transit", "in_transit", "collected"]
    assert parcel["orders"] == [{"order_id": order_id, "shop": "TM-1", "platform_order_id": "1001"}]
    assert by_id.json()["parcels"] == by_platform.json()["parcels"]
    assert by_number.json()["parcels"] == by_platform.json()["parcels"]
    assert stranger.status_code == 401 and unknown.status_code == 404


def test_a_poll_with_no_parcel_on_its_way_asks_the_aggregator_nothing(db):
    report = tracking.poll_due(db, kuaidi100("http://127.0.0.1:9"), now=datetime(2026, 11, 2, tzinfo=UTC))
    with db.uow(write=False) as uow:
        count = uow.conn.execute(select(func.count()).select_from(tracking_traces)).scalar_one()
    assert (report.polled, report.failed, count) == (0, 0, 0)
