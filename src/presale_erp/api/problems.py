"""Errors as RFC 9457 problem details: a title, a status, and a detail a person can act on."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from presale_erp.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    IllegalTransition,
    InsufficientStock,
    InvalidRequest,
    NegativeStock,
    NotFound,
    Unauthenticated,
)

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

STATUS_OF: list[tuple[type[DomainError], int]] = [
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (InsufficientStock, 409),
    (NegativeStock, 409),
    (IllegalTransition, 409),
    (InvalidRequest, 422),
]


def problem(status: int, title: str, detail: str, request: Request, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://presale-erp.dev/problems/{title.lower().replace(' ', '-')}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _status_for(error: DomainError) -> int:
    for kind, status in STATUS_OF:
        if isinstance(error, kind):
            return status
    return 400


def _field_message(error: dict[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
    return {"field": ".".join(location), "message": error.get("msg", "invalid"), "type": error.get("type")}


def install(app: FastAPI) -> None:
    @app.middleware("http")
    async def _refuse_nul(request: Request, call_next):
        # A NUL character is never part of a code or a name, and PostgreSQL cannot store one.
        if (
            "\x00" in request.url.path
            or "%00" in request.url.query
            or "%00" in request.scope.get("raw_path", b"").decode("latin-1")
        ):
            return problem(422, "Invalid request", "The address contains a NUL character (%00).", request)
        return await call_next(request)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem(_status_for(exc), exc.title, exc.detail, request, **exc.facts())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_field_message(e) for e in exc.errors()]
        summary = "; ".join(f"{e['field'] or 'request'}: {e['message']}" for e in errors[:5])
        return problem(422, "Invalid request", f"The request has invalid fields: {summary}.", request, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 401: "Not signed in", 403: "Not allowed"}
        detail = exc.detail if isinstance(exc.detail, str) else "Request refused."
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"There is nothing at {request.url.path}; see /docs for the API."
        return problem(exc.status_code, titles.get(exc.status_code, "Request refused"), detail, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(
            500,
            "Internal error",
            "Something went wrong on our side; nothing was saved. The error has been logged.",
            request,
        )
