"""HTTP clients for each platform's incremental order query: signed requests, the platform's window and page
limits, paging, and retries with backoff that honour rate limits (429 + Retry-After)."""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from presale_erp.adapters.http_retry import retry_after
from presale_erp.adapters.platforms import signing
from presale_erp.domain.catalog import Platform

CHINA = timezone(timedelta(hours=8))
RETRYABLE = {429, 500, 502, 503, 504}


class PlatformError(Exception):
    """The platform refused the call (bad signature, expired token, bad parameter): retrying will not help."""


class PlatformUnavailable(Exception):
    """The platform kept failing or throttling after every retry; the job will run again later."""


@dataclass(frozen=True)
class Credentials:
    base_url: str
    app_key: str
    app_secret: str
    access_token: str


class Http:
    def __init__(
        self,
        base_url: str,
        *,
        attempts: int = 5,
        first_delay: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 30.0,
    ) -> None:
        self.client = httpx.Client(base_url=base_url, timeout=timeout)
        self.attempts, self.first_delay, self.sleep = attempts, first_delay, sleep
        self.throttled = 0

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == self.attempts:
                    raise PlatformUnavailable(f"{url}: {exc}") from exc
            else:
                if response.status_code not in RETRYABLE:
                    return response
                if response.status_code == 429:
                    self.throttled += 1
                    delay = max(delay, retry_after(response.headers.get("Retry-After"), delay))
                if attempt == self.attempts:
                    raise PlatformUnavailable(f"{url}: HTTP {response.status_code} after {attempt} attempts")
            self.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.client.close()


def _cn(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def _now_cn() -> str:
    return _cn(datetime.now(UTC))


class PlatformClient(ABC):
    """One platform's incremental order query; subclasses know its paths, signing, limits and paging."""

    max_window: timedelta = timedelta(days=1)
    page_size: int = 100

    def __init__(self, credentials: Credentials, http: Http | None = None) -> None:
        self.credentials = credentials
        self.http = http or Http(credentials.base_url)

    @abstractmethod
    def pages(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        """Every order modified in [start, end], a page at a time."""


# increment.get returns a partial Trade: only the fields asked for (doc 1.1), so ask for all the adapter reads.
TAOBAO_FIELDS = ",".join(
    [
        "tid",
        "tid_str",
        "type",
        "status",
        "created",
        "pay_time",
        "modified",
        "payment",
        "post_fee",
        "buyer_open_uid",
        "buyer_nick",
        "receiver_name",
        "receiver_mobile",
        "receiver_phone",
        "receiver_state",
        "receiver_city",
        "receiver_district",
        "receiver_address",
        "buyer_message",
        "seller_memo",
        "send_time",
        "step_trade_status",
        "step_paid_fee",
        "step_pay_details",
        "orders.oid",
        "orders.oid_str",
        "orders.sku_id",
        "orders.outer_sku_id",
        "orders.outer_iid",
        "orders.title",
        "orders.num",
        "orders.price",
        "orders.payment",
        "orders.divide_order_fee",
        "orders.refund_status",
        "orders.estimate_con_time",
    ]
)
# Pull everything modified in the window, whatever its type (doc 0); step is presale.
TAOBAO_TYPES = "guarantee_trade,auto_delivery,ec,cod,step,fixed,auction,fenxiao,external_trade"
JD_STATES = (
    "WAIT_SELLER_STOCK_OUT,WAIT_SELLER_DELIVERY,WAIT_GOODS_RECEIVE_CONFIRM,FINISHED_L,TRADE_CANCELED,"
    "LOCKED,PAUSE,POP_ORDER_PAUSE,WAIT_SEND_CODE"
)
JD_FIELDS = (
    "orderId,venderId,orderType,orderState,orderStateRemark,orderStartTime,paymentConfirmTime,modified,"
    "payType,orderTotalPrice,orderSellerPrice,orderPayment,freightPrice,open_id_buyer,xid_buyer,"
    "consigneeInfo,orderRemark,venderRemark,scDT,promisePickDate,itemInfoList"
)


class TaobaoClient(PlatformClient):
    """Results come newest first; the doc says to page from the last page backwards, so that an order modified
    meanwhile (it leaves the window and the rest move up a page) is read twice rather than skipped."""

    max_window = timedelta(minutes=30)  # the doc allows a day but advises 30 minutes
    page_size = 50

    def _call(self, start: datetime, end: datetime, page: int, size: int) -> dict[str, Any]:
        params = {
            "method": "taobao.trades.sold.increment.get",
            "app_key": self.credentials.app_key,
            "session": self.credentials.access_token,
            "timestamp": _now_cn(),
            "format": "json",
            "v": "2.0",
            "sign_method": "hmac-sha256",
            "fields": TAOBAO_FIELDS,
            "start_modified": _cn(start),
            "end_modified": _cn(end),
            "page_no": page,
            "page_size": size,
            "type": TAOBAO_TYPES,
        }
        params["sign"] = signing.top_sign(params, self.credentials.app_secret)
        body = _json(self.http.request("POST", "/router/rest", data=params))
        if "error_response" in body:
            raise PlatformError(f"taobao: {body['error_response']}")
        return body["trades_sold_increment_get_response"]

    def pages(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        total = int(self._call(start, end, 1, 1).get("total_results", 0))  # a one-row call, for the count
        for page in range(-(-total // self.page_size), 0, -1):
            yield list((self._call(start, end, page, self.page_size).get("trades") or {}).get("trade", []))


class JdClient(PlatformClient):
    max_window = timedelta(days=30)
    page_size = 50

    def pages(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        page = 1
        fetched = 0
        while True:
            business = {
                "start_date": _cn(start),
                "end_date": _cn(end),
                "page": page,
                "page_size": self.page_size,
                "order_state": JD_STATES,
                "optional_fields": JD_FIELDS,
                "sortType": 0,
                "dateType": 0,
            }
            params = {
                "method": "jingdong.pop.order.enSearch",
                "app_key": self.credentials.app_key,
                "access_token": self.credentials.access_token,
                "timestamp": _now_cn(),
                "format": "json",
                "v": "2.0",
                "360buy_param_json": json.dumps(business, ensure_ascii=False),
            }
            params["sign"] = signing.md5_wrapped_sign(params, self.credentials.app_secret)
            body = _json(self.http.request("POST", "/routerjson", data=params))
            if "error_response" in body:
                raise PlatformError(f"jd: {body['error_response']}")
            result = body["jingdong_pop_order_enSearch_responce"]["searchorderinfo_result"]
            orders = list(result.get("orderInfoList") or [])
            yield orders
            fetched += len(orders)
            if not orders or fetched >= int(result.get("orderTotal", 0)):
                return
            page += 1


class PinduoduoClient(PlatformClient):
    """Paged from the last page backwards, as the doc asks (see TaobaoClient)."""

    max_window = timedelta(minutes=30)

    def _call(self, start: datetime, end: datetime, page: int, size: int) -> dict[str, Any]:
        params = {
            "type": "pdd.order.number.list.increment.get",
            "client_id": self.credentials.app_key,
            "access_token": self.credentials.access_token,
            "timestamp": str(int(time.time())),
            "data_type": "JSON",
            "start_updated_at": int(start.timestamp()),
            "end_updated_at": int(end.timestamp()),
            "order_status": 5,
            "refund_status": 5,
            "page": page,
            "page_size": size,
        }
        params["sign"] = signing.md5_wrapped_sign(params, self.credentials.app_secret)
        body = _json(self.http.request("POST", "/api/router", data=params))
        if "error_response" in body:
            raise PlatformError(f"pinduoduo: {body['error_response']}")
        return body["order_sn_increment_get_response"]

    def pages(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        total = int(self._call(start, end, 1, 1).get("total_count", 0))
        for page in range(-(-total // self.page_size), 0, -1):
            yield list(self._call(start, end, page, self.page_size).get("order_sn_list") or [])


class DouyinClient(PlatformClient):
    max_window = timedelta(days=1)

    def pages(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        page = 0  # Douyin pages from 0
        while True:
            business = {
                "update_time_start": int(start.timestamp()),
                "update_time_end": int(end.timestamp()),
                "order_by": "update_time",
                "order_asc": True,
                "page": page,
                "size": self.page_size,
            }
            param_json = signing.douyin_param_json(business)
            timestamp = str(int(time.time()))
            sign = signing.douyin_sign(
                self.credentials.app_key, "order.searchList", param_json, timestamp, self.credentials.app_secret
            )
            query = {
                "app_key": self.credentials.app_key,
                "method": "order.searchList",
                "access_token": self.credentials.access_token,
                "timestamp": timestamp,
                "v": "2",
                "sign_method": "hmac-sha256",
                "sign": sign,
            }
            body = _json(
                self.http.request(
                    "POST",
                    "/order/searchList",
                    params=query,
                    content=param_json.encode(),
                    headers={"content-type": "application/json"},
                )
            )
            if body.get("code") != 10000:
                raise PlatformError(f"douyin: {body.get('code')} {body.get('msg')}")
            data = body["data"]
            orders = list(data.get("shop_order_list") or [])
            yield orders
            if (page + 1) * self.page_size >= int(data.get("total", 0)) or not orders:
                return
            page += 1


class ShopifyClient(PlatformClient):
    max_window = timedelta(days=30)
    page_size = 250

    def pages(self, start: datetime, end: datetime) -> Iterator[list[dict[str, Any]]]:
        headers = {"X-Shopify-Access-Token": self.credentials.access_token}
        params: dict[str, Any] = {
            "updated_at_min": start.isoformat(),
            "updated_at_max": end.isoformat(),
            "status": "any",
            "limit": self.page_size,
        }
        while True:
            response = self.http.request("GET", "/admin/api/2025-01/orders.json", params=params, headers=headers)
            if response.status_code >= 400:
                raise PlatformError(f"shopify: HTTP {response.status_code} {response.text[:200]}")
            yield list(_json(response).get("orders") or [])
            cursor = _next_page_info(response.headers.get("Link", ""))
            if cursor is None:
                return
            params = {"page_info": cursor, "limit": self.page_size}  # later pages take only these


def _next_page_info(link: str) -> str | None:
    for part in link.split(","):
        if 'rel="next"' in part:
            url = part.split(";")[0].strip().strip("<>")
            return parse_qs(urlparse(url).query).get("page_info", [None])[0]
    return None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError as exc:
        raise PlatformError(f"the platform answered HTTP {response.status_code} with no JSON") from exc


CLIENTS: dict[Platform, type[PlatformClient]] = {
    Platform.TAOBAO: TaobaoClient,
    Platform.TMALL: TaobaoClient,
    Platform.JD: JdClient,
    Platform.PINDUODUO: PinduoduoClient,
    Platform.DOUYIN: DouyinClient,
    Platform.SHOPIFY: ShopifyClient,
}


def windows(start: datetime, end: datetime, longest: timedelta) -> list[tuple[datetime, datetime]]:
    """Split [start, end) into spans the platform accepts."""
    spans = []
    while start < end:
        spans.append((start, min(start + longest, end)))
        start = spans[-1][1]
    return spans
