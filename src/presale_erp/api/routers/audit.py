"""The audit trail: who changed what, when."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from presale_erp.api.deps import DbDep, actor_with
from presale_erp.api.schemas import Cursor, CursorPageOut
from presale_erp.domain.access import Permission
from presale_erp.services import stock_views

router = APIRouter(prefix="/api/v1/audit-log", tags=["audit"])
Read = actor_with(Permission.AUDIT_READ)


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    details: dict[str, Any] | None


@router.get("", response_model=CursorPageOut[AuditOut], summary="Audit trail, newest first")
def audit_log(
    actor: Read,
    db: DbDep,
    entity: str | None = None,
    by: Annotated[str | None, Query(description="Actor, e.g. user:alice or api_key:3pl")] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict:
    rows = stock_views.audit_trail(db, entity=entity, actor=by, before_id=int(cursor) if cursor else None, limit=limit)
    return {"items": rows, "next_cursor": str(rows[-1]["id"]) if len(rows) == limit else None}
