"""What staff see of orders. Names and phones are shown masked unless the caller may read PII (pii:read)."""

from __future__ import annotations

from typing import Any

from presale_erp.adapters.crypto import PiiCipher, mask_name, mask_phone
from presale_erp.adapters.db import order_queries
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor, Permission
from presale_erp.domain.errors import NotFound


def _buyer(row: dict[str, Any], cipher: PiiCipher, actor: Actor) -> dict[str, Any]:
    name, phone, street = (
        cipher.decrypt(row["buyer_name"]),
        cipher.decrypt(row["buyer_phone"]),
        cipher.decrypt(row["street"]),
    )
    if not actor.may(Permission.PII_READ):
        name, phone, street = mask_name(name), mask_phone(phone), (street[:6] + "…" if street else "")
    return {
        "name": name,
        "phone": phone,
        "province": row["province"],
        "city": row["city"],
        "district": row["district"],
        "street": street,
    }


def _view(row: dict[str, Any], cipher: PiiCipher, actor: Actor) -> dict[str, Any]:
    view = {
        k: v
        for k, v in row.items()
        if k not in ("buyer_name", "buyer_phone", "street", "buyer_index", "phone_index", "address_index", "shop_id")
    }
    view["buyer"] = _buyer(row, cipher, actor)
    view["awaiting_balance"] = row["status"] == "deposit_paid" and not row["balance_paid"]
    return view


def list_orders(db: Database, cipher: PiiCipher, actor: Actor, **filters: Any) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        rows = order_queries.order_page(uow.conn, **filters)
    return [_view(row, cipher, actor) for row in rows]


def get_order(db: Database, cipher: PiiCipher, actor: Actor, shop: str, platform_order_id: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        row = order_queries.one_order(uow.conn, shop, platform_order_id)
    if row is None:
        raise NotFound(f"No order {platform_order_id} in shop {shop}.")
    view = _view(row, cipher, actor)
    view["lines"], view["events"] = row["lines"], row["events"]
    return view


def list_dead_letters(db: Database, **filters: Any) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return order_queries.dead_letter_page(uow.conn, **filters)
