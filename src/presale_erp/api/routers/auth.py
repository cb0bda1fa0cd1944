"""Sign in and out, who am I, users and API keys (管理员 only for the last two)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, SignedInDep, actor_with, credential
from presale_erp.domain.access import ROLE_PERMISSIONS, Permission, Role
from presale_erp.services import auth

router = APIRouter(prefix="/api/v1", tags=["auth"])
AdminDep = actor_with(Permission.USERS_ADMIN)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class TokenOut(BaseModel):
    access_token: str
    token_type: str
    expires_at: datetime
    roles: list[str]


class MeOut(BaseModel):
    kind: str
    name: str
    permissions: list[str]


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, examples=["wang.li"])
    display_name: str = Field(default="", max_length=120, examples=["王丽"])
    password: str = Field(min_length=8, max_length=200)
    roles: list[Role] = Field(min_length=1)


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    active: bool
    created_at: datetime
    created_by: str


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=120, examples=["3PL 云仓 sync"])
    scopes: list[str] = Field(min_length=1, examples=[["stock:read", "stock:move"]])


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    created_by: str | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class NewApiKeyOut(ApiKeyOut):
    key: str = Field(description="Shown once; store it now.")


class RoleOut(BaseModel):
    role: str
    permissions: list[str]


@router.post("/auth/login", response_model=TokenOut, summary="Sign in with username and password")
def login(body: LoginIn, db: DbDep, now: NowDep, request: Request) -> dict:
    ttl = timedelta(minutes=request.app.state.settings.token_ttl_minutes)
    return auth.login(db, username=body.username, password=body.password, ttl=ttl, now=now)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke the current token")
def logout(actor: SignedInDep, db: DbDep, now: NowDep, secret: Annotated[str | None, Depends(credential)]) -> None:
    if secret and actor.kind == "user":
        auth.logout(db, secret, now=now)


@router.get("/auth/me", response_model=MeOut, summary="Who is calling, with what permissions")
def me(actor: SignedInDep) -> dict:
    return {"kind": actor.kind, "name": actor.name, "permissions": sorted(p.value for p in actor.permissions)}


@router.get("/roles", response_model=list[RoleOut], summary="Roles by job and what each may do")
def roles(actor: SignedInDep) -> list[dict]:
    return [{"role": r.value, "permissions": sorted(p.value for p in perms)} for r, perms in ROLE_PERMISSIONS.items()]


@router.get("/users", response_model=list[UserOut], summary="List users")
def list_users(actor: AdminDep, db: DbDep) -> list[dict]:
    return auth.list_users(db)


@router.post("/users", response_model=UserOut, status_code=201, summary="Create a user")
def create_user(body: UserIn, actor: AdminDep, db: DbDep, now: NowDep) -> dict:
    return auth.create_user(
        db,
        actor,
        username=body.username,
        display_name=body.display_name,
        password=body.password,
        roles=body.roles,
        now=now,
    )


@router.get("/api-keys", response_model=list[ApiKeyOut], summary="List API keys (never the secrets)")
def list_api_keys(actor: AdminDep, db: DbDep) -> list[dict]:
    return auth.list_api_keys(db)


@router.post("/api-keys", response_model=NewApiKeyOut, status_code=201, summary="Create a scoped API key")
def create_api_key(body: ApiKeyIn, actor: AdminDep, db: DbDep, now: NowDep) -> dict:
    return auth.create_api_key(db, actor, name=body.name, scopes=body.scopes, now=now)


@router.delete("/api-keys/{prefix}", status_code=204, summary="Revoke an API key")
def revoke_api_key(prefix: str, actor: AdminDep, db: DbDep, now: NowDep) -> None:
    auth.revoke_api_key(db, actor, prefix, now=now)
