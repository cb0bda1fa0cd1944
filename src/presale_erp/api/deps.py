"""Request dependencies: the database, the caller, and the permission each route requires."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.errors import Forbidden, Unauthenticated
from presale_erp.services import auth
from presale_erp.services.reservation_desk import ReservationDesk

bearer = HTTPBearer(auto_error=False, description="A token from POST /api/v1/auth/login, or an API key.")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key (pk_...).")


def get_db(request: Request) -> Database:
    return request.app.state.db


def get_reservation_desk(request: Request) -> ReservationDesk:
    return request.app.state.reservation_desk


def now() -> datetime:
    return datetime.now(UTC)


DbDep = Annotated[Database, Depends(get_db)]
ReservationDeskDep = Annotated[ReservationDesk, Depends(get_reservation_desk)]
NowDep = Annotated[datetime, Depends(now)]


def credential(
    request: Request,
    bearer_credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> str | None:
    if bearer_credentials and bearer_credentials.credentials:
        return bearer_credentials.credentials
    return api_key


def current_actor(db: DbDep, when: NowDep, secret: Annotated[str | None, Depends(credential)]) -> Actor:
    if not secret:
        raise Unauthenticated("Sign in first: send 'Authorization: Bearer <token>' or 'X-API-Key: <key>'.")
    return auth.authenticate(db, secret, now=when)


def require(permission: Permission) -> Callable[[Actor], Actor]:
    """A dependency that lets the request through only if the caller holds `permission`."""

    def check(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
        if not actor.may(permission):
            raise Forbidden(f"{actor.label} lacks the permission '{permission.value}' needed here.")
        return actor

    check.permission = permission  # type: ignore[attr-defined]  # read by the deny-by-default check
    return check


def actor_with(permission: Permission) -> type[Actor]:
    return Annotated[Actor, Depends(require(permission))]  # type: ignore[return-value]


class Page:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Rows per page.")] = 50,
        offset: Annotated[int, Query(ge=0, description="Rows to skip.")] = 0,
    ) -> None:
        self.limit = limit
        self.offset = offset

    def of(self, rows: list[dict], total: int) -> dict:
        """The response body of an offset-paginated list."""
        return {"items": rows, "total": total, "limit": self.limit, "offset": self.offset}


PageDep = Annotated[Page, Depends(Page)]


def signed_in(actor: Annotated[Actor, Depends(current_actor)]) -> Actor:
    return actor


signed_in.permission = "signed-in"  # type: ignore[attr-defined]  # any valid credential, no particular permission
SignedInDep = Annotated[Actor, Depends(signed_in)]
