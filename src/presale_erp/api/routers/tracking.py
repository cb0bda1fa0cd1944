"""Tracking (物流轨迹): a parcel's trace by tracking number or by order, polling now, and the callbacks the
aggregators push traces to. The callbacks carry no token of ours: each checks the aggregator's own signature
instead (Kuaidi100: MD5(param + salt); Kdniao: DataSign with our AppKey), so they are in PUBLIC_PATHS."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from presale_erp.adapters.carriers import kdniao, kuaidi100
from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.api.problems import problem
from presale_erp.domain.access import Permission
from presale_erp.domain.errors import Conflict
from presale_erp.domain.tracking import CarrierTrace, ForgedPush, UnreadablePush
from presale_erp.services import tracking

Read = actor_with(Permission.FULFILMENT_READ)
Run = actor_with(Permission.FULFILMENT_RUN)
TrackingNo = Annotated[str, Path(min_length=4, max_length=40, pattern=r"^[A-Za-z0-9-]+$")]
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1)]
PREFIX = "/api/v1"
KUAIDI100_PUSH = "/tracking/push/kuaidi100"
KDNIAO_PUSH = "/tracking/push/kdniao"
PUSH_PATHS = frozenset({PREFIX + KUAIDI100_PUSH, PREFIX + KDNIAO_PUSH})
router = APIRouter(prefix=PREFIX, tags=["tracking"])
PUSH_BODY_MAX = 2_000_000  # a push carries one parcel's trace (Kuaidi100) or a batch of them (Kdniao)


class TraceOut(BaseModel):
    carrier: str
    tracking_no: str
    at: datetime
    state: str
    state_code: str
    location: str
    description: str
    source: str


class OrderRefOut(BaseModel):
    order_id: int
    shop: str
    platform_order_id: str


class ShipmentAlertOut(BaseModel):
    kind: str
    severity: str
    title: str
    action: str


class ParcelTrackingOut(BaseModel):
    code: str
    carrier: str | None
    tracking_no: str | None
    status: str
    tracking_state: str | None
    tracking_updated_at: datetime | None
    orders: list[OrderRefOut]
    alerts: list[ShipmentAlertOut]
    traces: list[TraceOut]  # newest first


class TrackingOut(BaseModel):
    tracking_no: str
    parcels: list[ParcelTrackingOut]
    unattached_traces: list[TraceOut]


class OrderTrackingOut(BaseModel):
    order_id: int
    shop: str | None = None
    platform_order_id: str | None = None
    parcels: list[ParcelTrackingOut]


@router.get("/tracking/{tracking_no}", response_model=TrackingOut, summary="A tracking number's parcels and trace")
def by_number(tracking_no: TrackingNo, db: DbDep, actor: Read) -> dict[str, Any]:
    return tracking.by_tracking_number(db, tracking_no)


@router.get("/tracking/orders/{order_id}", response_model=OrderTrackingOut, summary="An order's parcels and traces")
def by_order_id(order_id: OrderId, db: DbDep, actor: Read) -> dict[str, Any]:
    return tracking.by_order(db, order_id)


@router.get(
    "/orders/{shop}/{platform_order_id}/tracking",
    response_model=OrderTrackingOut,
    summary="An order's parcels and traces, by shop and platform order id",
)
def by_platform_order(
    shop: Annotated[str, Path(max_length=64)],
    platform_order_id: Annotated[str, Path(max_length=64)],
    db: DbDep,
    actor: Read,
) -> dict[str, Any]:
    return tracking.by_platform_order(db, shop, platform_order_id)


@router.post("/tracking/poll", summary="Pull traces now for every parcel on its way")
def poll_now(request: Request, db: DbDep, actor: Run, now: NowDep) -> dict[str, Any]:
    source = trace_source(request)
    report = tracking.poll_due(db, source, now=now, cipher=request.app.state.cipher)
    return {
        "polled": report.polled,
        "failed": report.failed,
        "stored": report.recorded.stored,
        "duplicates": report.recorded.duplicates,
        "alerts_opened": report.recorded.alerts_opened,
        "alerts_resolved": report.recorded.alerts_resolved,
        "errors": report.errors,
    }


def trace_source(request: Request) -> tracking.TraceSource:
    """Kuaidi100 when it is configured, else the Kdniao account that issues the waybills."""
    settings = request.app.state.settings
    if settings.tracking_url:
        return kuaidi100.Kuaidi100Client(settings.tracking_url, settings.kuaidi100_customer, settings.kuaidi100_key)
    carrier = getattr(request.app.state, "carrier", None)
    if carrier is None:
        raise Conflict("No tracking account is configured (PRESALE_ERP_TRACKING_URL, or PRESALE_ERP_CARRIER_URL).")
    return carrier


# --- pushes (public: the aggregator's signature is the credential) ----------------------------------------------


@router.post(KUAIDI100_PUSH, summary="Kuaidi100 trace push (订阅推送); signed with the subscription's salt")
async def kuaidi100_push(request: Request, db: DbDep, now: NowDep) -> JSONResponse:
    salt = request.app.state.settings.kuaidi100_salt
    if not salt:
        # Without our salt no push can be verified, so none is trusted.
        return problem(
            401, "Bad signature", "Kuaidi100 pushes are not configured (PRESALE_ERP_KUAIDI100_SALT).", request
        )
    form = await _form(request)
    if isinstance(form, JSONResponse):
        return form
    outcome = _read(request, lambda: [kuaidi100.read_push(form, salt)])
    if isinstance(outcome, JSONResponse):
        return outcome
    tracking.accept_push(db, outcome, now=now)
    return JSONResponse(kuaidi100.PUSH_ACK)


@router.post(KDNIAO_PUSH, summary="Kdniao trace push (RequestType 101/102); signed with DataSign")
async def kdniao_push(request: Request, db: DbDep, now: NowDep) -> JSONResponse:
    settings = request.app.state.settings
    if not settings.carrier_key:
        return problem(401, "Bad signature", "Kdniao pushes are not configured (PRESALE_ERP_CARRIER_KEY).", request)
    form = await _form(request)
    if isinstance(form, JSONResponse):
        return form
    outcome = _read(request, lambda: kdniao.read_push(form, settings.carrier_id, settings.carrier_key))
    if isinstance(outcome, JSONResponse):
        return outcome
    tracking.accept_push(db, outcome, now=now)
    return JSONResponse(kdniao.push_reply(settings.carrier_id, now))


async def _form(request: Request) -> dict[str, str] | JSONResponse:
    body = await request.body()
    if len(body) > PUSH_BODY_MAX:
        return problem(413, "Push too large", f"A push is at most {PUSH_BODY_MAX} bytes.", request)
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)))
    except (UnicodeDecodeError, ValueError):
        return problem(
            400, "Unreadable push", "The body is not UTF-8 form-encoded (application/x-www-form-urlencoded).", request
        )


def _read(request: Request, read: Callable[[], list[CarrierTrace]]) -> list[CarrierTrace] | JSONResponse:
    try:
        return read()
    except ForgedPush as exc:
        return problem(401, "Bad signature", str(exc), request)
    except UnreadablePush as exc:
        return problem(400, "Unreadable push", str(exc), request)
