"""Customers on account (挂账客户): wholesale and distributor customers with a credit limit and payment terms, and
the platform buyers that are them. Staff link a buyer by the platform's buyer id; only its blind index (the one
intake stores on orders) and a masked label are kept, so the link finds the buyer's orders without storing PII."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.crypto import PiiCipher, mask_name
from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import receivables_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.credit import CustomerTerms
from presale_erp.domain.errors import Conflict, Forbidden, InvalidRequest, NotFound


def require(actor: Actor, permission: Permission) -> None:
    if not actor.may(permission):
        raise Forbidden(f"{actor.label} lacks the permission '{permission.value}' for receivables.")


def create(db: Database, actor: Actor, code: str, terms: CustomerTerms, *, now: datetime) -> dict[str, Any]:
    require(actor, Permission.FINANCE_WRITE)
    terms.check()
    code = code.strip()
    if not code:
        raise InvalidRequest("A customer needs a code.")
    with db.uow() as uow:
        if repo.find_customer(uow.conn, code) is not None:
            raise Conflict(f"Customer {code} already exists.")
        row = {"code": code, **_values(terms), "created_at": now, "created_by": actor.label, "updated_at": now}
        customer_id = repo.insert_customer(uow.conn, row)
        _audit(uow.conn, actor, "customer.create", code, now, _values(terms))
        uow.commit()
    return get(db, actor, code) | {"id": customer_id}


def update(db: Database, actor: Actor, code: str, terms: CustomerTerms, *, now: datetime) -> dict[str, Any]:
    """New terms apply to invoices raised from now on; invoices already raised keep their due dates."""
    require(actor, Permission.FINANCE_WRITE)
    terms.check()
    with db.uow() as uow:
        found = repo.customer(uow.conn, code, lock=True)
        repo.update_customer(uow.conn, found["id"], _values(terms) | {"updated_at": now})
        _audit(uow.conn, actor, "customer.update", code, now, _values(terms))
        uow.commit()
    return get(db, actor, code)


def get(db: Database, actor: Actor, code: str) -> dict[str, Any]:
    require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        found = repo.customer(uow.conn, code)
        return found | {"buyers": repo.accounts_of(uow.conn, found["id"])}


def list_customers(db: Database, actor: Actor, *, kind: str | None = None, active: bool | None = None) -> list[dict]:
    require(actor, Permission.FINANCE_READ)
    with db.uow(write=False) as uow:
        return repo.customer_list(uow.conn, kind=kind, active=active)


def link_buyer(
    db: Database, cipher: PiiCipher, actor: Actor, code: str, *, shop: str, platform_buyer_id: str, now: datetime
) -> list[dict[str, Any]]:
    """The buyer's orders in that shop placed from now on are this customer's, on account."""
    require(actor, Permission.FINANCE_WRITE)
    index = cipher.blind_index(platform_buyer_id)
    if not index:
        raise InvalidRequest("Give the buyer's platform id (会员名 / buyer id) to link.")
    with db.uow() as uow:
        found = repo.customer(uow.conn, code)
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        owner = repo.account_owner(uow.conn, shop_id, index)
        if owner not in (None, code):
            raise Conflict(f"That buyer of shop {shop} is already linked to customer {owner}; unlink it there first.")
        label = mask_name(platform_buyer_id.strip())[:120]
        row = {
            "shop_id": shop_id,
            "buyer_index": index,
            "customer_id": found["id"],
            "buyer_label": label,
            "created_at": now,
            "created_by": actor.label,
        }
        repo.link(uow.conn, row)
        _audit(uow.conn, actor, "customer.link_buyer", code, now, {"shop": shop, "buyer": label})
        uow.commit()
        return repo.accounts_of(uow.conn, found["id"])


def unlink_buyer(db: Database, actor: Actor, code: str, *, shop: str, buyer_index: str, now: datetime) -> None:
    require(actor, Permission.FINANCE_WRITE)
    with db.uow() as uow:
        found = repo.customer(uow.conn, code)
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        if repo.unlink(uow.conn, found["id"], shop_id, buyer_index) == 0:
            raise NotFound(f"Customer {code} has no linked buyer {buyer_index} in shop {shop}.")
        _audit(uow.conn, actor, "customer.unlink_buyer", code, now, {"shop": shop, "buyer_index": buyer_index})
        uow.commit()


def _values(terms: CustomerTerms) -> dict[str, Any]:
    return {
        "name": terms.name.strip()[:200],
        "kind": terms.kind.value,
        "credit_limit": terms.credit_limit,
        "payment_terms_days": terms.payment_terms_days,
        "active": terms.active,
        "note": terms.note[:1000],
    }


def _audit(conn, actor: Actor, action: str, code: str, now: datetime, details: dict[str, Any]) -> None:
    plain = {k: str(v) if isinstance(v, Decimal) else v for k, v in details.items()}
    audit_repo.record(conn, actor=actor.label, action=action, entity="customer", entity_id=code, at=now, details=plain)
