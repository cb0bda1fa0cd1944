"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlalchemy import text

from presale_erp import __version__
from presale_erp.adapters.carriers.kdniao import KdniaoClient
from presale_erp.adapters.crypto import PiiCipher, load_master_key
from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.api import problems
from presale_erp.api.routers import (
    aftersales,
    audit,
    auth,
    catalog,
    fetching,
    finance_reports,
    fulfilment,
    orders,
    payments,
    planning,
    preorders,
    presale,
    purchase_orders,
    receivables,
    receiving,
    reconciliation,
    reservations,
    review,
    shipping,
    stock,
    supplier_portal,
    tracking,
    vouchers,
    warehouses,
    webhooks,
)
from presale_erp.services.reservation_desk import ReservationDesk
from presale_erp.settings import Settings, get_settings

# The tracking push callbacks authenticate by the aggregator's signature, not by our tokens.
PUBLIC_PATHS = frozenset({"/healthz", "/api/v1/auth/login"}) | tracking.PUSH_PATHS
ROUTERS = [
    auth.router,
    catalog.router,
    warehouses.router,
    stock.router,
    reservations.router,
    presale.router,
    # Before orders: its GET /orders/{order_id}/parcels would otherwise be read as /orders/{shop}/{platform id}.
    fulfilment.router,
    orders.router,
    preorders.router,
    fetching.router,
    review.router,
    planning.router,
    purchase_orders.router,
    receivables.router,
    receiving.router,
    supplier_portal.router,
    tracking.router,
    audit.router,
    webhooks.router,
    vouchers.router,
    finance_reports.router,
    payments.router,
    shipping.router,
    aftersales.router,
    reconciliation.router,
]


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    owns_db = db is None
    database = db or Database(make_engine(settings.resolved_database_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Concurrent reservations share one transaction per batch (a flash sale queues on one position lock).
        with ReservationDesk(database, lanes=settings.reservation_lanes) as desk:
            app.state.reservation_desk = desk
            yield
        if owns_db:
            database.dispose()

    app = FastAPI(
        title="presale-erp",
        version=__version__,
        summary="ERP for presale (预售) e-commerce: inventory, orders, supply chain and money.",
        lifespan=lifespan,
    )
    app.state.db = database
    app.state.settings = settings
    app.state.cipher = PiiCipher(load_master_key(settings.secret_key, settings.data_dir))
    app.state.carrier = (
        KdniaoClient(settings.carrier_url, settings.carrier_id, settings.carrier_key) if settings.carrier_url else None
    )
    problems.install(app)
    for router in ROUTERS:
        _deny_by_default(router.routes)
        app.include_router(router)

    @app.get("/healthz", tags=["health"], summary="Liveness and database check")
    def healthz() -> dict[str, str]:
        with database.uow(write=False) as uow:
            uow.conn.execute(text("SELECT 1"))
        return {"status": "ok", "database": database.engine.dialect.name, "version": __version__}

    _deny_by_default(app.router.routes)
    return app


def _deny_by_default(routes: list) -> None:
    """Refuse to start if any route outside PUBLIC_PATHS has no permission check, and publish each route's
    permission in the OpenAPI document (x-permission) so clients and tests can see it."""
    unguarded = []
    for route in routes:
        if not isinstance(route, APIRoute) or route.path in PUBLIC_PATHS:
            continue
        permission = _permission_of(route)
        if permission is None:
            unguarded.append(f"{sorted(route.methods)} {route.path}")
            continue
        route.openapi_extra = {**(route.openapi_extra or {}), "x-permission": str(permission)}
    if unguarded:
        raise RuntimeError("Routes without a permission check: " + ", ".join(unguarded))


def _permission_of(route: APIRoute) -> object | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        permission = getattr(dependant.call, "permission", None)
        if permission is not None:
            return permission
        stack.extend(dependant.dependencies)
    return None
