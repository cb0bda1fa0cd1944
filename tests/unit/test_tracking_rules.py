"""Tracking rules without a database: the aggregators' state codes mapped to our stages, the trace key, stuck and
went-wrong shipments, and the signing and reading of Kuaidi100 and Kdniao answers and pushes
(../shared/formats/carrier_tracking.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest

from presale_erp.adapters.carriers import kdniao, kuaidi100
from presale_erp.domain.tracking import (
    ForgedPush,
    Stage,
    UnreadablePush,
    concerns,
    kdniao_stage,
    kuaidi100_stage,
    location_in,
    stage_from_text,
    trace_key,
)

AT = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("state", "status_code", "stage"),
    [
        ("0", "", Stage.IN_TRANSIT),
        ("1", "", Stage.COLLECTED),
        ("2", "", Stage.EXCEPTION),
        ("3", "", Stage.DELIVERED),
        ("4", "", Stage.RETURNED),
        ("5", "", Stage.DELIVERING),
        ("6", "", Stage.RETURNED),
        ("7", "", Stage.IN_TRANSIT),
        ("8", "", Stage.IN_TRANSIT),
        ("11", "", Stage.IN_TRANSIT),
        ("13", "", Stage.EXCEPTION),
        ("14", "", Stage.REJECTED),
        ("1", "101", Stage.COLLECTED),
        ("0", "1001", Stage.IN_TRANSIT),
        ("5", "501", Stage.DELIVERING),
        ("3", "303", Stage.DELIVERED),
        ("4", "401", Stage.RETURNED),
        ("4", "14", Stage.REJECTED),
        ("0", "1099", Stage.IN_TRANSIT),  # an advanced code we do not know: its base state decides
        ("签收", "", Stage.DELIVERED),  # data[].status carries the state's name
        ("疑难", "", Stage.EXCEPTION),
        ("转单", "", Stage.IN_TRANSIT),
        ("99", "", None),
    ],
)
def test_kuaidi100_states_and_advanced_codes_map_to_our_stages(state, status_code, stage):
    assert kuaidi100_stage(state, status_code) is stage


@pytest.mark.parametrize(
    ("state", "detailed", "stage"),
    [
        ("0", "", None),  # 暂无轨迹: no node at all
        ("1", "", Stage.COLLECTED),
        ("2", "", Stage.IN_TRANSIT),
        ("3", "", Stage.DELIVERED),
        ("4", "", Stage.EXCEPTION),
        ("5", "", Stage.IN_TRANSIT),
        ("6", "", Stage.IN_TRANSIT),
        ("2", "201", Stage.IN_TRANSIT),
        ("2", "202", Stage.DELIVERING),
        ("2", "211", Stage.DELIVERING),
        ("3", "311", Stage.DELIVERED),
        ("4", "402", Stage.EXCEPTION),
        ("4", "404", Stage.REJECTED),
        ("4", "412", Stage.EXCEPTION),
        ("202", "", Stage.DELIVERING),  # a detailed code sent as State
        ("3", "399", Stage.DELIVERED),  # unknown detail: its leading digit
    ],
)
def test_kdniao_states_and_detailed_codes_map_to_our_stages(state, detailed, stage):
    assert kdniao_stage(state, detailed) is stage


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("【杭州市】快件已揽收", Stage.COLLECTED),
        ("【杭州市】快件已发往 广州市转运中心", Stage.IN_TRANSIT),
        ("【广州市天河区】快递员正在派件", Stage.DELIVERING),
        ("【广州市天河区】已签收，签收人：本人", Stage.DELIVERED),
        ("【广州市天河区】收件人拒收，快件将退回", Stage.REJECTED),
        ("【杭州市】快件已退回寄件人", Stage.RETURNED),
        ("【广州市天河区】派送不成功，收件人电话无人接听，待再次派送", Stage.EXCEPTION),
        ("【广州市】快件滞留", Stage.EXCEPTION),
        ("已收件[深圳市]", Stage.COLLECTED),
        ("派件异常后签收", Stage.DELIVERED),
    ],
)
def test_a_node_without_a_code_is_read_from_the_carriers_wording(text, stage):
    assert stage_from_text(text) is stage


def test_the_place_in_brackets_is_the_nodes_location():
    assert location_in("【杭州市】快件已揽收") == "杭州市"
    assert location_in("[深圳市]正在派件") == "深圳市"
    assert location_in("正在派件..(派件人:张三)[深圳市]") == ""


def test_the_trace_key_is_the_same_for_the_same_node_from_any_aggregator_and_differs_otherwise():
    key = trace_key("ZTO", "712345678901", AT, "【杭州市】快件已揽收")

    assert len(key) == 64
    assert trace_key("zto", " 712345678901", AT.replace(microsecond=500), "【杭州市】快件已揽收 ") == key
    assert trace_key("YTO", "712345678901", AT, "【杭州市】快件已揽收") != key
    assert trace_key("ZTO", "712345678901", AT + timedelta(seconds=1), "【杭州市】快件已揽收") != key
    assert trace_key("ZTO", "712345678901", AT, "【杭州市】快件已发出") != key


@pytest.mark.parametrize(
    ("stage", "quiet_hours", "kind", "severity"),
    [
        ("in_transit", 71, None, None),
        ("in_transit", 72, "shipment_stuck", "warning"),
        ("collected", 47, None, None),
        ("collected", 48, "shipment_stuck", "warning"),
        ("delivering", 49, "shipment_stuck", "warning"),
        ("delivered", 500, None, None),
        ("exception", 1, "shipment_exception", "warning"),
        ("rejected", 1, "shipment_exception", "critical"),
        ("returned", 1, "shipment_exception", "critical"),
    ],
)
def test_a_shipment_is_stuck_after_its_stages_quiet_time_and_alerted_when_it_went_wrong(
    stage, quiet_hours, kind, severity
):
    found = concerns(stage, AT, AT + timedelta(hours=quiet_hours), code="P1-1-1")

    assert [(c.kind, c.severity) for c in found] == ([(kind, severity)] if kind else [])
    assert all("P1-1-1" in c.title and c.reason and c.action for c in found)


def test_a_parcel_without_a_trace_has_no_concern():
    assert concerns(None, None, AT) == []


# --- Kuaidi100 -----------------------------------------------------------------------------------------------------

PARAM = '{"com":"yuantong","num":"YT5555508965056","resultv2":"4","order":"desc"}'
DOC_EXAMPLE = {  # the response excerpt in the formats doc, section 1a
    "message": "ok",
    "nu": "YT5555508965056",
    "ischeck": "1",
    "com": "yuantong",
    "status": "200",
    "data": [
        {
            "time": "2021-06-14 17:31:57",
            "context": "客户签收人: 已签收，签收人凭取货码签收。",
            "ftime": "2021-06-14 17:31:57",
            "areaCode": None,
            "areaName": None,
            "status": "签收",
        },
        {"time": "2021-06-14 08:02:11", "ftime": "2021-06-14 08:02:11", "context": "【杭州市】快件已揽收"},
    ],
}


def test_kuaidi100_query_sign_is_uppercase_md5_of_param_key_and_customer():
    by_hand = hashlib.md5((PARAM + "the-key" + "the-customer").encode()).hexdigest().upper()

    assert kuaidi100.query_sign(PARAM, "the-key", "the-customer") == by_hand == "1895A49824DDBE56C34ED193F0232055"


def test_kuaidi100_push_sign_is_md5_of_param_and_salt():
    assert kuaidi100.push_sign("{}", "salt") == hashlib.md5(b"{}salt").hexdigest().upper()
    assert kuaidi100.push_sign("{}", "salt") == "4DF345D41BAFC8E489CC9C94112F002A"


def test_the_docs_kuaidi100_example_reads_as_utc_nodes_of_our_carrier_oldest_first():
    trace = kuaidi100.read_result(DOC_EXAMPLE)

    assert (trace.carrier, trace.tracking_no) == ("YTO", "YT5555508965056")
    assert [n.at for n in trace.nodes] == [
        datetime(2021, 6, 14, 0, 2, 11, tzinfo=UTC),
        datetime(2021, 6, 14, 9, 31, 57, tzinfo=UTC),
    ]
    assert [n.stage for n in trace.nodes] == [Stage.COLLECTED, Stage.DELIVERED]
    assert trace.nodes[1].state_code == "3" and trace.nodes[0].location == "杭州市"


def _kuaidi100_push(result: dict, salt: str = "s3cret") -> dict[str, str]:
    param = kuaidi100.param_text({"status": "shutdown", "message": "", "lastResult": result})
    return {"sign": kuaidi100.push_sign(param, salt), "param": param}


def test_a_kuaidi100_push_signed_with_our_salt_is_read_whatever_the_case_of_its_sign():
    form = _kuaidi100_push(DOC_EXAMPLE)
    form["sign"] = form["sign"].lower()

    assert kuaidi100.read_push(form, "s3cret").tracking_no == "YT5555508965056"


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (_kuaidi100_push(DOC_EXAMPLE, salt="another"), ForgedPush),
        ({"param": "{}"}, ForgedPush),
        ({"sign": "X"}, UnreadablePush),
        (_kuaidi100_push({"com": "yuantong", "nu": "YT1", "data": [{"context": "no time"}]}), UnreadablePush),
    ],
)
def test_a_kuaidi100_push_that_is_forged_or_unreadable_is_refused(form, error):
    with pytest.raises(UnreadablePush) as refused:
        kuaidi100.read_push(form, "s3cret")
    assert type(refused.value) is error


# --- Kdniao --------------------------------------------------------------------------------------------------------

KDNIAO_EXAMPLE = {  # the 1002 example in the formats doc, section 2 (one node added)
    "EBusinessID": "1109259",
    "OrderCode": "",
    "ShipperCode": "SF",
    "LogisticCode": "118461988807",
    "Success": True,
    "CallBack": "",
    "State": 3,
    "Reason": None,
    "Traces": [
        {"AcceptTime": "2014/06/24 20:18:58", "AcceptStation": "已收件[深圳市]", "Remark": None},
        {"AcceptTime": "2014/06/25 08:05:37", "AcceptStation": "正在派件..(派件人:邓裕富)[深圳市]", "Remark": None},
    ],
}


def _kdniao_push(data: list, key: str = "app-key", request_type: str = "101") -> dict[str, str]:
    body = kdniao.request_data({"EBusinessID": "1109259", "PushTime": "2014-06-25 08:10:00", "Count": 1, "Data": data})
    return {"RequestData": body, "DataSign": kdniao.data_sign(body, key), "RequestType": request_type}


def test_the_docs_kdniao_example_gives_the_newest_node_the_parcels_state():
    trace = kdniao.read_traces(KDNIAO_EXAMPLE)

    assert (trace.carrier, trace.tracking_no, trace.stage) == ("SF", "118461988807", Stage.DELIVERED)
    assert [n.stage for n in trace.nodes] == [Stage.COLLECTED, Stage.DELIVERED]
    assert [n.state_code for n in trace.nodes] == ["", "3"]
    assert trace.nodes[0].at == datetime(2014, 6, 24, 12, 18, 58, tzinfo=UTC)


def test_kdniao_node_actions_and_state_ex_take_precedence_over_the_wording():
    body = KDNIAO_EXAMPLE | {"State": 4, "StateEx": 404}
    body["Traces"] = [*KDNIAO_EXAMPLE["Traces"][:1], KDNIAO_EXAMPLE["Traces"][1] | {"Action": "202"}]

    trace = kdniao.read_traces(body)

    assert trace.stage is Stage.REJECTED
    assert [(n.stage, n.state_code) for n in trace.nodes] == [(Stage.COLLECTED, ""), (Stage.DELIVERING, "202")]


def test_a_kdniao_push_signed_with_our_app_key_gives_one_trace_per_waybill():
    other = KDNIAO_EXAMPLE | {"ShipperCode": "ZTO", "LogisticCode": "712345678901"}
    traces = kdniao.read_push(_kdniao_push([KDNIAO_EXAMPLE, other]), "1109259", "app-key")

    assert [(t.carrier, t.tracking_no) for t in traces] == [("SF", "118461988807"), ("ZTO", "712345678901")]


def test_the_kdniao_data_sign_of_a_push_is_base64_of_the_md5_hex_text():
    form = _kdniao_push([KDNIAO_EXAMPLE])
    digest = hashlib.md5((form["RequestData"] + "app-key").encode()).hexdigest()

    assert form["DataSign"] == base64.b64encode(digest.encode()).decode()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (_kdniao_push([KDNIAO_EXAMPLE], key="not-our-key"), ForgedPush),
        ({"RequestData": "{}", "RequestType": "101"}, ForgedPush),
        ({"DataSign": "x", "RequestType": "101"}, UnreadablePush),
        (_kdniao_push([KDNIAO_EXAMPLE], request_type="1002"), UnreadablePush),
        (_kdniao_push(["not an object"]), UnreadablePush),
        (_kdniao_push([KDNIAO_EXAMPLE | {"Traces": [{"AcceptStation": "no time"}]}]), UnreadablePush),
    ],
)
def test_a_kdniao_push_that_is_forged_or_unreadable_is_refused(form, error):
    with pytest.raises(UnreadablePush) as refused:
        kdniao.read_push(form, "1109259", "app-key")
    assert type(refused.value) is error


def test_a_kdniao_push_for_another_account_is_refused():
    body = json.dumps({"EBusinessID": "999", "Data": [KDNIAO_EXAMPLE]})
    form = {"RequestData": body, "DataSign": kdniao.data_sign(body, "app-key"), "RequestType": "101"}

    with pytest.raises(UnreadablePush, match="another account"):
        kdniao.read_push(form, "1109259", "app-key")


def test_the_kdniao_push_reply_carries_our_id_and_beijing_time():
    reply = kdniao.push_reply("1109259", datetime(2026, 11, 11, 0, 0, 5, tzinfo=UTC))

    assert reply == {"EBusinessID": "1109259", "UpdateTime": "2026-11-11 08:00:05", "Success": True, "Reason": ""}
