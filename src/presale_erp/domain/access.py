"""Who may do what: permissions, and the roles that bundle them by job. Everything not granted is denied."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest


class Permission(StrEnum):
    CATALOG_READ = "catalog:read"
    CATALOG_WRITE = "catalog:write"
    SHOPS_READ = "shops:read"
    SHOPS_WRITE = "shops:write"
    WAREHOUSES_READ = "warehouses:read"
    WAREHOUSES_WRITE = "warehouses:write"
    STOCK_READ = "stock:read"
    STOCK_MOVE = "stock:move"  # post receipts, shipments, transfers, adjustments, counts
    STOCK_RESERVE = "stock:reserve"  # reserve, release, consume
    PRESALE_READ = "presale:read"
    PRESALE_WRITE = "presale:write"
    ORDERS_READ = "orders:read"
    ORDERS_INTAKE = "orders:intake"  # push or import platform orders; retry dead letters
    ORDERS_REVIEW = "orders:review"  # approve or reject held orders, run review, keep the blacklist
    FINANCE_REVIEW = "orders:finance_review"  # 财审: the second, financial approval
    REVIEW_RULES_WRITE = "review_rules:write"  # change the rule set
    PII_READ = "pii:read"  # see buyers' names, phones and addresses unmasked
    USERS_ADMIN = "users:admin"
    AUDIT_READ = "audit:read"
    JOBS_RUN = "jobs:run"
    FULFILMENT_READ = "fulfilment:read"  # parcels, allocation reasons, fulfilment settings
    FULFILMENT_RUN = "fulfilment:run"  # allocate, merge/unmerge, request waybills, flag priority orders
    FULFILMENT_SETTINGS = "fulfilment:settings"  # strategies, coverage, pins, gift and carrier rules
    PLANNING_READ = "planning:read"  # forecasts, replenishment suggestions, alerts
    PLANNING_RUN = "planning:run"  # run forecasts, settings, turn suggestions into draft POs, resolve alerts
    PURCHASING_READ = "purchasing:read"  # suppliers and purchase orders
    PURCHASING_WRITE = "purchasing:write"
    WEBHOOKS_MANAGE = "webhooks:manage"  # subscribe other systems to events; see deliveries
    FINANCE_READ = "finance:read"  # payments, refunds, reconciliation, reports, receivables, vouchers
    FINANCE_WRITE = "finance:write"  # record payments and refunds, import bills, credit limits, chart of accounts
    AFTERSALES = "aftersales:write"  # 售后: open and process refund-only and return-and-refund cases
    # A supplier's own key (供应商协同): its purchase orders only. Never part of a role, never with another scope.
    SUPPLIER_PORTAL = "supplier:portal"


class Role(StrEnum):
    ADMIN = "admin"  # 管理员
    CUSTOMER_SERVICE = "customer_service"  # 客服
    WAREHOUSE = "warehouse"  # 仓库
    PURCHASER = "purchaser"  # 采购
    FINANCE = "finance"  # 财务
    VIEWER = "viewer"  # 只读


ROLE_NAMES_ZH: dict[Role, str] = {
    Role.ADMIN: "管理员",
    Role.CUSTOMER_SERVICE: "客服",
    Role.WAREHOUSE: "仓库",
    Role.PURCHASER: "采购",
    Role.FINANCE: "财务",
    Role.VIEWER: "只读",
}

_READ_ALL = frozenset(
    {
        Permission.CATALOG_READ,
        Permission.SHOPS_READ,
        Permission.WAREHOUSES_READ,
        Permission.STOCK_READ,
        Permission.PRESALE_READ,
        Permission.ORDERS_READ,
        Permission.FULFILMENT_READ,
        Permission.PLANNING_READ,
        Permission.PURCHASING_READ,
    }
)

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission) - {Permission.SUPPLIER_PORTAL},
    Role.CUSTOMER_SERVICE: _READ_ALL
    | {
        Permission.STOCK_RESERVE,
        Permission.ORDERS_INTAKE,
        Permission.ORDERS_REVIEW,
        Permission.PII_READ,
        Permission.FULFILMENT_RUN,
        Permission.AFTERSALES,
    },
    Role.WAREHOUSE: _READ_ALL
    | {
        Permission.STOCK_MOVE,
        Permission.STOCK_RESERVE,
        Permission.WAREHOUSES_WRITE,
        Permission.PII_READ,
        Permission.FULFILMENT_RUN,
        Permission.FULFILMENT_SETTINGS,
        Permission.AFTERSALES,  # returned parcels are received back by the warehouse
    },
    Role.PURCHASER: _READ_ALL
    | {Permission.CATALOG_WRITE, Permission.PRESALE_WRITE, Permission.PLANNING_RUN, Permission.PURCHASING_WRITE},
    Role.FINANCE: _READ_ALL
    | {
        Permission.AUDIT_READ,
        Permission.ORDERS_REVIEW,
        Permission.FINANCE_REVIEW,
        Permission.FINANCE_READ,
        Permission.FINANCE_WRITE,
        Permission.AFTERSALES,
    },
    Role.VIEWER: _READ_ALL,
}


def permissions_of(roles: list[Role]) -> frozenset[Permission]:
    granted: frozenset[Permission] = frozenset()
    for role in roles:
        granted |= ROLE_PERMISSIONS[role]
    return granted


def parse_scopes(scopes: list[str]) -> frozenset[Permission]:
    """API-key scopes are permission names; an unknown scope is refused rather than ignored."""
    known = {p.value: p for p in Permission}
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise InvalidRequest(f"Unknown scope(s): {', '.join(unknown)}. Known scopes: {', '.join(sorted(known))}.")
    return frozenset(known[s] for s in scopes)


@dataclass(frozen=True)
class Actor:
    """Who is doing something: a person, a third-party system's API key, or the system itself (jobs)."""

    kind: str  # "user" | "api_key" | "system"
    name: str
    permissions: frozenset[Permission]
    supplier: str | None = None  # a supplier's key: the supplier code it is limited to

    @property
    def label(self) -> str:
        """What is written in created_by / actor columns."""
        return f"{self.kind}:{self.name}"

    def may(self, permission: Permission) -> bool:
        return permission in self.permissions


SYSTEM = Actor(kind="system", name="jobs", permissions=frozenset(Permission))
