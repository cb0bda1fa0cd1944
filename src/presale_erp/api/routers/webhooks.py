"""Outbound webhooks: other systems (a 3PL, the merchant's own tools) subscribe to events; staff see what was
delivered and send a failed delivery again. The signing scheme is described in services/webhooks.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.services import webhooks

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
Manage = actor_with(Permission.WEBHOOKS_MANAGE)
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


class SubscriptionIn(BaseModel):
    url: str = Field(min_length=1, max_length=webhooks.URL_MAX, examples=["https://3pl.example.com/hooks/presale"])
    events: list[Annotated[str, Field(min_length=1, max_length=60)]] = Field(
        min_length=1, max_length=50, description="Event names (GET /api/v1/webhooks/events), or ['*'] for all"
    )
    secret: str = Field(
        min_length=webhooks.SECRET_MIN,
        max_length=webhooks.SECRET_MAX,
        description="Signs each delivery (X-Presale-Signature); stored encrypted and never shown again",
    )


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    created_by: str


class DeliveryOut(BaseModel):
    id: int
    subscription_id: int
    url: str
    event: str
    payload: dict[str, Any]
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    delivered_at: datetime | None


@router.get("/events", summary="Events a system may subscribe to")
def events(actor: Manage) -> dict[str, str]:
    return webhooks.known_events()


@router.post("", response_model=SubscriptionOut, status_code=201, summary="Subscribe a URL to events")
def subscribe(body: SubscriptionIn, request: Request, db: DbDep, actor: Manage, now: NowDep) -> dict[str, Any]:
    return webhooks.subscribe(db, request.app.state.cipher, actor, body.url, body.events, body.secret, now)


@router.get("", response_model=list[SubscriptionOut], summary="Subscriptions, active or not")
def list_subscriptions(db: DbDep, actor: Manage) -> list[dict[str, Any]]:
    return webhooks.list_subscriptions(db)


@router.delete("/{subscription_id}", response_model=SubscriptionOut, summary="Stop sending events to a subscriber")
def deactivate(
    subscription_id: Annotated[int, Path(ge=1, le=2**31 - 1)], db: DbDep, actor: Manage, now: NowDep
) -> dict[str, Any]:
    return webhooks.deactivate(db, actor, subscription_id, now)


@router.get("/deliveries", response_model=list[DeliveryOut], summary="Deliveries, newest first")
def list_deliveries(
    db: DbDep,
    actor: Manage,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return webhooks.list_deliveries(db, status, limit)


@router.post(
    "/deliveries/{delivery_id}/redeliver", response_model=DeliveryOut, summary="Send a delivery again at the next run"
)
def redeliver(delivery_id: Id, db: DbDep, actor: Manage, now: NowDep) -> dict[str, Any]:
    return webhooks.redeliver(db, actor, delivery_id, now)
