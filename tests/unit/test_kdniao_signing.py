"""Kdniao's DataSign (carrier_tracking.md section 2): URL-encoded Base64(MD5hex(RequestData + AppKey))."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, unquote_plus

import httpx

from presale_erp.adapters.carriers.kdniao import KdniaoClient, data_sign

TRACE_QUERY = '{"OrderCode":"","ShipperCode":"SF","LogisticCode":"118461988807"}'


def test_data_sign_is_base64_of_the_md5_hex_text_of_request_data_plus_app_key():
    # By hand: MD5 of the raw JSON followed by the key is a84a518a…385f; Base64 of those 32 characters is below.
    assert hashlib.md5((TRACE_QUERY + "test-app-key").encode()).hexdigest() == "a84a518ae9b893854faeec80b780385f"
    assert base64.b64encode(b"a84a518ae9b893854faeec80b780385f").decode() == (
        "YTg0YTUxOGFlOWI4OTM4NTRmYWVlYzgwYjc4MDM4NWY="
    )
    assert data_sign(TRACE_QUERY, "test-app-key") == "YTg0YTUxOGFlOWI4OTM4NTRmYWVlYzgwYjc4MDM4NWY="


def test_data_sign_hashes_the_utf8_bytes_of_chinese_request_data():
    data = '{"OrderCode":"P-1","Receiver":{"Name":"张三"}}'
    assert data_sign(data, "密钥key") == "NjY1NDZhZTk1MDU4YjcwNjQ0M2E5M2NjNjZiMWI1Njc="


def test_the_posted_form_carries_url_encoded_request_data_and_data_sign_over_the_exact_json_sent():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"Success": True, "State": "0", "Reason": "暂无轨迹信息", "Traces": []})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    KdniaoClient("http://carrier.test", "1109259", "test-app-key", http=http).query_trace("SF", "118461988807", "1234")

    request = seen[0]
    assert request.url.path == "/Ebusiness/EbusinessOrderHandle.aspx"
    assert request.headers["content-type"].startswith("application/x-www-form-urlencoded")
    raw = request.content.decode("ascii")  # all non-ASCII and '+', '/', '=' are percent-encoded on the wire
    wire = dict(pair.split("=", 1) for pair in raw.split("&"))
    assert wire["DataSign"].endswith("%3D") and "=" not in wire["DataSign"]
    form = {key: values[0] for key, values in parse_qs(raw).items()}
    assert form["EBusinessID"] == "1109259" and form["RequestType"] == "1002" and form["DataType"] == "2"
    assert form["RequestData"] == unquote_plus(wire["RequestData"])
    assert '"CustomerName":"1234"' in form["RequestData"]
    expected = base64.b64encode(hashlib.md5((form["RequestData"] + "test-app-key").encode()).hexdigest().encode())
    assert form["DataSign"] == expected.decode()
