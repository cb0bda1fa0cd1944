"""Sign-in and API keys: argon2 password hashes, opaque bearer tokens, scoped keys for other systems."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from presale_erp.adapters.db import audit_repo, auth_repo
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.tables import access_tokens, api_keys, suppliers, users
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission, Role, parse_scopes, permissions_of
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound, Unauthenticated

_hasher = PasswordHasher()
API_KEY_PREFIX = "pk_"
API_KEY_SHAPE = re.compile(r"pk_[0-9a-f]{12}_[A-Za-z0-9_\-]{20,}")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._\-]{1,63}$")
MIN_PASSWORD_LENGTH = 8
# Hashed once so a login for an unknown user costs as much as a wrong password (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# Touching last_used_at on every API call would turn each read into a write; a few minutes' precision is enough.
API_KEY_TOUCH_INTERVAL = timedelta(minutes=5)


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_user(
    db: Database,
    actor: Actor,
    *,
    username: str,
    display_name: str,
    password: str,
    roles: list[Role],
    now: datetime,
) -> dict[str, Any]:
    if not USERNAME.match(username):
        raise InvalidRequest("Username: 2-64 lower-case letters, digits, '.', '_' or '-'.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if not roles:
        raise InvalidRequest("A user needs at least one role.")
    beyond = sorted(p.value for p in permissions_of(roles) - actor.permissions)
    if beyond:
        raise InvalidRequest(f"You cannot give a user permissions you do not have yourself: {', '.join(beyond)}.")
    with db.uow() as uow:
        if repo.exists(uow.conn, users, username=username):
            raise Conflict(f"User {username} already exists.")
        row = {
            "username": username,
            "display_name": display_name.strip() or username,
            "password_hash": _hasher.hash(password),
            "roles": sorted(r.value for r in roles),
            "active": True,
            "created_at": now,
            "created_by": actor.label,
        }
        row["id"] = repo.insert(uow.conn, users, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="user.create",
            entity="user",
            entity_id=username,
            at=now,
            details={"roles": row["roles"]},
        )
        uow.commit()
    return _public_user(row)


def _public_user(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("id", "username", "display_name", "roles", "active", "created_at", "created_by")}


def list_users(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return [_public_user(r) for r in auth_repo.list_users(uow.conn)]


def login(db: Database, *, username: str, password: str, ttl: timedelta, now: datetime) -> dict[str, Any]:
    with db.uow() as uow:
        conn = uow.conn
        user = auth_repo.user_by_username(conn, username)
        if user is None or not user["active"]:
            _verify(_DUMMY_HASH, password)
            raise Unauthenticated("Wrong username or password.")
        if not _verify(user["password_hash"], password):
            raise Unauthenticated("Wrong username or password.")
        if _hasher.check_needs_rehash(user["password_hash"]):
            auth_repo.set_password_hash(conn, user["id"], _hasher.hash(password))
        token = secrets.token_urlsafe(32)
        expires_at = now + ttl
        conn.execute(
            access_tokens.insert(),
            [
                {
                    "token_hash": _sha256(token),
                    "user_id": user["id"],
                    "created_at": now,
                    "expires_at": expires_at,
                }
            ],
        )
        audit_repo.record(
            conn, actor=f"user:{username}", action="user.login", entity="user", entity_id=username, at=now
        )
        uow.commit()
    return {"access_token": token, "token_type": "bearer", "expires_at": expires_at, "roles": user["roles"]}


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def logout(db: Database, token: str, *, now: datetime) -> None:
    with db.uow() as uow:
        auth_repo.revoke_token(uow.conn, _sha256(token), now)
        uow.commit()


def authenticate(db: Database, credential: str, *, now: datetime) -> Actor:
    """Turn a bearer token or an API key into the actor making the request."""
    if API_KEY_SHAPE.fullmatch(credential):
        return _authenticate_api_key(db, credential, now)
    with db.uow(write=False) as uow:
        user = auth_repo.user_for_token(uow.conn, _sha256(credential), now)
    if user is None:
        raise Unauthenticated("The sign-in token is unknown, expired or revoked; sign in again.")
    return Actor("user", user["username"], permissions_of([Role(r) for r in user["roles"]]))


def _authenticate_api_key(db: Database, key: str, now: datetime) -> Actor:
    prefix, _, _secret = key[len(API_KEY_PREFIX) :].partition("_")
    with db.uow(write=False) as uow:
        row = auth_repo.api_key_by_prefix(uow.conn, prefix)
    if row is None or row["revoked_at"] is not None or not hmac.compare_digest(row["key_hash"], _sha256(key)):
        raise Unauthenticated("The API key is unknown or revoked.")
    if row["last_used_at"] is None or now - row["last_used_at"] > API_KEY_TOUCH_INTERVAL:
        with db.uow() as uow:
            auth_repo.touch_api_key(uow.conn, row["id"], now)
            uow.commit()
    if row["supplier_id"] is not None:
        # A supplier's key holds the portal permission alone, whatever its row says, and is bound to its supplier.
        with db.uow(write=False) as uow:
            code = uow.conn.execute(select(suppliers.c.code).where(suppliers.c.id == row["supplier_id"])).scalar()
        return Actor("api_key", row["name"], frozenset({Permission.SUPPLIER_PORTAL}), supplier=code)
    return Actor("api_key", row["name"], parse_scopes(row["scopes"]) - {Permission.SUPPLIER_PORTAL})


def create_api_key(db: Database, actor: Actor, *, name: str, scopes: list[str], now: datetime) -> dict[str, Any]:
    """The key is shown once, here; only its hash is kept."""
    granted = parse_scopes(scopes)
    if not granted:
        raise InvalidRequest("An API key needs at least one scope.")
    if Permission.SUPPLIER_PORTAL in granted:
        raise InvalidRequest("A supplier's key is made for that supplier: POST /api/v1/suppliers/{code}/api-keys.")
    if not name.strip():
        raise InvalidRequest("Give the API key a name that says which system uses it.")
    missing = sorted(p.value for p in granted if not actor.may(p))
    if missing:
        raise InvalidRequest(f"You cannot grant scopes you do not have yourself: {', '.join(missing)}.")
    return _insert_api_key(db, actor, name=name, scopes=sorted(scopes), supplier_id=None, now=now)


def create_supplier_api_key(db: Database, actor: Actor, *, supplier: str, name: str, now: datetime) -> dict[str, Any]:
    """A key for one supplier (供应商协同): it confirms and reports on that supplier's purchase orders only."""
    if not actor.may(Permission.PURCHASING_WRITE):
        raise InvalidRequest("Only a purchaser may give a supplier a key.")
    with db.uow(write=False) as uow:
        supplier_id = uow.conn.execute(select(suppliers.c.id).where(suppliers.c.code == supplier)).scalar()
    if supplier_id is None:
        raise NotFound(f"No supplier with code {supplier}.")
    label = name.strip() or f"supplier {supplier}"
    scopes = [Permission.SUPPLIER_PORTAL.value]
    return _insert_api_key(db, actor, name=label, scopes=scopes, supplier_id=supplier_id, now=now) | {
        "supplier": supplier
    }


def _insert_api_key(
    db: Database, actor: Actor, *, name: str, scopes: list[str], supplier_id: int | None, now: datetime
) -> dict[str, Any]:
    if not name.strip():
        raise InvalidRequest("Give the API key a name that says which system uses it.")
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    row = {
        "name": name.strip(),
        "prefix": prefix,
        "key_hash": _sha256(key),
        "scopes": scopes,
        "supplier_id": supplier_id,
        "created_at": now,
        "created_by": actor.label,
    }
    with db.uow() as uow:
        row["id"] = repo.insert(uow.conn, api_keys, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="api_key.create",
            entity="api_key",
            entity_id=prefix,
            at=now,
            details={"name": row["name"], "scopes": row["scopes"]},
        )
        uow.commit()
    return {
        "id": row["id"],
        "name": row["name"],
        "prefix": prefix,
        "scopes": row["scopes"],
        "key": key,
        "created_at": now,
    }


def list_api_keys(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return [
            {
                k: r[k]
                for k in (
                    "id",
                    "name",
                    "prefix",
                    "scopes",
                    "created_at",
                    "created_by",
                    "revoked_at",
                    "last_used_at",
                )
            }
            for r in auth_repo.list_api_keys(uow.conn)
        ]


def revoke_api_key(db: Database, actor: Actor, prefix: str, *, now: datetime) -> None:
    with db.uow() as uow:
        if auth_repo.revoke_api_key(uow.conn, prefix, now) == 0:
            raise NotFound(f"No active API key {prefix}.")
        audit_repo.record(
            uow.conn, actor=actor.label, action="api_key.revoke", entity="api_key", entity_id=prefix, at=now
        )
        uow.commit()
