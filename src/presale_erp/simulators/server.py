"""A local HTTP server that answers like the platforms' incremental order APIs: the same paths, parameters,
signatures, window limits, page sizes and envelopes, serving order histories as time passes on its clock.

Chaos, as on a real peak night: now and then it throttles (HTTP 429 with Retry-After), and for a share of
recently changed orders it serves the previous version (a lagging replica), so the client sees versions out of
order; fetch windows that overlap by more than the replica lag still end on the newest version."""

from __future__ import annotations

import base64
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

from presale_erp.adapters.platforms import signing
from presale_erp.simulators.generator import History

CHINA = timezone(timedelta(hours=8))
PLATFORM_PATHS = {"taobao": "/taobao", "jd": "/jd", "pinduoduo": "/pdd", "douyin": "/douyin", "shopify": "/shopify"}


@dataclass
class SimulatorState:
    app_key: str = "sim-app"
    app_secret: str = "sim-secret"
    access_token: str = "sim-token"
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    throttle_every: int = 0  # every Nth request answers 429; 0 = never
    stale_share: float = 0.0  # share of answers that carry an order's previous version...
    replica_lag: timedelta = timedelta(minutes=15)  # ...while its newest version is younger than this
    seed: int = 7
    histories: dict[str, list[History]] = field(default_factory=dict)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def visible(self, platform: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Orders whose current version (latest at or before the clock) was modified within [start, end]."""
        now = self.now()
        rng = random.Random(f"{self.seed}:{platform}:{start.isoformat()}:{end.isoformat()}")
        found = []
        for history in self.histories.get(platform, []):
            current = [v for v in history.versions if v.at <= now]
            if not current or not (start <= current[-1].at <= end):
                continue
            lagging = len(current) > 1 and now - current[-1].at < self.replica_lag
            shown = current[-2] if lagging and rng.random() < self.stale_share else current[-1]
            found.append((current[-1].at, history.order_id, shown.payload))
        found.sort(key=lambda item: (item[0], item[1]))
        return [payload for _, _, payload in found]

    def throttled(self) -> bool:
        with self.lock:
            self.requests += 1
            return bool(self.throttle_every) and self.requests % self.throttle_every == 0


def _cn(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)


async def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


def _throttle() -> JSONResponse:
    return JSONResponse({"error": "too many requests"}, status_code=429, headers={"Retry-After": "0.05"})


def create_simulator(state: SimulatorState) -> FastAPI:
    app = FastAPI(title="platform simulators")
    _top_and_jos(app, state)
    _pdd_douyin_shopify(app, state)
    return app


def _top_and_jos(app: FastAPI, state: SimulatorState) -> None:
    @app.post("/taobao/router/rest")
    async def taobao(request: Request) -> JSONResponse:
        if state.throttled():
            return _throttle()
        params = await _form(request)
        if not signing.same(params.get("sign", ""), signing.top_sign(params, state.app_secret)):
            return JSONResponse({"error_response": {"code": 25, "msg": "Invalid signature"}})
        start, end = _cn(params["start_modified"]), _cn(params["end_modified"])
        if end - start > timedelta(days=1):
            return JSONResponse(
                {"error_response": {"code": 40, "msg": "start_modified and end_modified span over one day"}}
            )
        page, size = int(params.get("page_no", 1)), min(int(params.get("page_size", 40)), 100)
        rows = state.visible("taobao", start, end)[::-1]  # newest first, as TOP sorts by modified descending
        wanted = {f.split(".")[0] for f in params.get("fields", "").split(",") if f}
        if not wanted:
            return JSONResponse({"error_response": {"code": 40, "msg": "Missing required arguments:fields"}})
        chunk = [{k: v for k, v in trade.items() if k in wanted} for trade in rows[(page - 1) * size : page * size]]
        result = {"trades": {"trade": chunk}, "has_next": page * size < len(rows), "total_results": len(rows)}
        return JSONResponse({"trades_sold_increment_get_response": result})

    @app.post("/jd/routerjson")
    async def jd(request: Request) -> JSONResponse:
        if state.throttled():
            return _throttle()
        params = await _form(request)
        if not signing.same(params.get("sign", ""), signing.md5_wrapped_sign(params, state.app_secret)):
            return JSONResponse({"error_response": {"code": "19", "zh_desc": "sign 验证失败"}})
        business = json.loads(params["360buy_param_json"])
        start, end = _cn(business["start_date"]), _cn(business["end_date"])
        if end - start > timedelta(days=31):
            return JSONResponse({"error_response": {"code": "60", "zh_desc": "时间跨度不能超过一个月"}})
        page, size = int(business.get("page", 1)), min(int(business.get("page_size", 50)), 100)
        wanted = set(business.get("optional_fields", "").split(","))
        rows = [{k: v for k, v in order.items() if k in wanted} for order in state.visible("jd", start, end)]
        return JSONResponse(
            {
                "jingdong_pop_order_enSearch_responce": {
                    "searchorderinfo_result": {
                        "orderInfoList": rows[(page - 1) * size : page * size],
                        "orderTotal": len(rows),
                        "apiResult": {"success": True},
                    }
                }
            }
        )


def _pdd_douyin_shopify(app: FastAPI, state: SimulatorState) -> None:
    @app.post("/pdd/api/router")
    async def pdd(request: Request) -> JSONResponse:
        if state.throttled():
            return _throttle()
        params = await _form(request)
        if not signing.same(params.get("sign", ""), signing.md5_wrapped_sign(params, state.app_secret)):
            return JSONResponse({"error_response": {"error_code": 10019, "error_msg": "签名错误"}})
        start = datetime.fromtimestamp(int(params["start_updated_at"]), UTC)
        end = datetime.fromtimestamp(int(params["end_updated_at"]), UTC)
        if end - start > timedelta(minutes=30):
            return JSONResponse({"error_response": {"error_code": 10000, "error_msg": "时间跨度不能超过30分钟"}})
        page, size = int(params.get("page", 1)), min(int(params.get("page_size", 100)), 100)
        rows = state.visible("pinduoduo", start, end)[::-1]
        return JSONResponse(
            {
                "order_sn_increment_get_response": {
                    "order_sn_list": rows[(page - 1) * size : page * size],
                    "total_count": len(rows),
                    "has_next": page * size < len(rows),
                }
            }
        )

    @app.post("/douyin/order/searchList")
    async def douyin(request: Request) -> JSONResponse:
        if state.throttled():
            return _throttle()
        query = request.query_params
        param_json = (await request.body()).decode()
        expected = signing.douyin_sign(
            query.get("app_key", ""), query.get("method", ""), param_json, query.get("timestamp", ""), state.app_secret
        )
        if not signing.same(query.get("sign", ""), expected):
            return JSONResponse({"code": 40004, "msg": "签名校验失败", "data": None})
        business = json.loads(param_json)
        start = datetime.fromtimestamp(business["update_time_start"], UTC)
        end = datetime.fromtimestamp(business["update_time_end"], UTC)
        page, size = int(business.get("page", 0)), min(int(business.get("size", 100)), 100)
        rows = state.visible("douyin", start, end)
        return JSONResponse(
            {
                "code": 10000,
                "msg": "success",
                "data": {
                    "shop_order_list": rows[page * size : (page + 1) * size],
                    "total": len(rows),
                    "page": page,
                    "size": size,
                },
            }
        )

    @app.get("/shopify/admin/api/2025-01/orders.json")
    async def shopify(request: Request) -> JSONResponse:
        if state.throttled():
            return _throttle()
        if request.headers.get("X-Shopify-Access-Token") != state.access_token:
            return JSONResponse({"errors": "[API] Invalid API key or access token"}, status_code=401)
        query = request.query_params
        limit = min(int(query.get("limit", 50)), 250)
        if "page_info" in query:
            cursor = json.loads(base64.urlsafe_b64decode(query["page_info"]))
        else:
            cursor = {"min": query["updated_at_min"], "max": query["updated_at_max"], "offset": 0}
        rows = state.visible("shopify", datetime.fromisoformat(cursor["min"]), datetime.fromisoformat(cursor["max"]))
        offset = cursor["offset"]
        headers = {"X-Shopify-Shop-Api-Call-Limit": "1/40"}
        if offset + limit < len(rows):
            following = base64.urlsafe_b64encode(json.dumps({**cursor, "offset": offset + limit}).encode()).decode()
            headers["Link"] = f'<{request.url.path}?page_info={following}&limit={limit}>; rel="next"'
        return JSONResponse({"orders": rows[offset : offset + limit]}, headers=headers)

    return app
