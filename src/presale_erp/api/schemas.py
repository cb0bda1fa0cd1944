"""Shared response shapes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field

T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class CursorPageOut(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def _in_range_utc(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("the time is outside the years 1900-9998") from exc
    if not 1900 <= utc.year <= 9998:
        raise ValueError("the time is outside the years 1900-9998")
    return utc


Timestamp = Annotated[AwareDatetime, AfterValidator(_in_range_utc)]
"""A moment in time with its time zone (e.g. 2026-11-11T00:00:00+08:00), kept in UTC."""

Cursor = Annotated[str, Field(pattern=r"^\d{1,18}$", description="next_cursor of the previous page")]
