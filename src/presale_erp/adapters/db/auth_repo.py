"""Users, login tokens and API keys (only hashes of secrets are stored)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import access_tokens, api_keys, users


def user_by_username(conn: Connection, username: str) -> dict[str, Any] | None:
    row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
    return dict(row) if row else None


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def user_for_token(conn: Connection, token_hash: str, now: datetime) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(users)
            .join(access_tokens, access_tokens.c.user_id == users.c.id)
            .where(
                access_tokens.c.token_hash == token_hash,
                access_tokens.c.revoked_at.is_(None),
                access_tokens.c.expires_at > now,
                users.c.active.is_(True),
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def revoke_token(conn: Connection, token_hash: str, now: datetime) -> None:
    conn.execute(update(access_tokens).where(access_tokens.c.token_hash == token_hash).values(revoked_at=now))


def api_key_by_prefix(conn: Connection, prefix: str) -> dict[str, Any] | None:
    row = conn.execute(select(api_keys).where(api_keys.c.prefix == prefix)).mappings().first()
    return dict(row) if row else None


def touch_api_key(conn: Connection, key_id: int, now: datetime) -> None:
    conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=now))


def revoke_api_key(conn: Connection, prefix: str, now: datetime) -> int:
    result = conn.execute(
        update(api_keys).where(api_keys.c.prefix == prefix, api_keys.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return result.rowcount


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(users).order_by(users.c.username)).mappings()
    return [dict(r) for r in rows]


def list_api_keys(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(select(api_keys).order_by(api_keys.c.id)).mappings()
    return [dict(r) for r in rows]
