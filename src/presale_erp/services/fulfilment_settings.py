"""What staff set up for fulfilment: per-shop policy (strategies in order, split and merge switches), warehouse
coverage (属地仓), SKU pins (商品指定仓), gift rules, carrier rules and the rate table, and order flags."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import audit_repo, lookups
from presale_erp.adapters.db import fulfilment_repo as repo
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.errors import InvalidRequest, NotFound
from presale_erp.domain.fulfilment.gifts import GiftKind
from presale_erp.domain.fulfilment.model import FulfilmentPolicy, QueueOrder, Strategy
from presale_erp.services.fulfilment import policy_from_row

CARRIERS = ("ZTO", "YTO", "STO", "YD", "SF", "EMS", "JD", "JTSD", "DBL")  # 中通 圆通 申通 韵达 顺丰 EMS 京东 极兔 德邦


def policy(db: Database, shop: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        return _view(policy_from_row(repo.policies(uow.conn, [shop_id]).get(shop_id)))


def set_policy(db: Database, actor: Actor, shop: str, changes: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """Change some switches; the others keep their values. Strategies are a full ordered list."""
    known = {f.name for f in fields(FulfilmentPolicy)}
    unknown = sorted(set(changes) - known)
    if unknown:
        raise InvalidRequest(f"Unknown fulfilment setting(s): {', '.join(unknown)}.")
    with db.uow() as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        current = asdict(policy_from_row(repo.policies(uow.conn, [shop_id]).get(shop_id)))
        merged = _checked(current | changes)
        repo.save_policy(
            uow.conn,
            {"shop_id": shop_id, **merged, "updated_at": now, "updated_by": actor.label},
        )
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="fulfilment.policy",
            entity="shop",
            entity_id=shop,
            at=now,
            details=changes,
        )
        uow.commit()
    return _view(policy_from_row(merged))


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    strategies = values["strategies"]
    try:
        parsed = [Strategy(s) for s in strategies]
    except ValueError:
        raise InvalidRequest(
            f"strategies must be drawn from {', '.join(s.value for s in Strategy)}; got {strategies!r}."
        ) from None
    if len(set(parsed)) != len(parsed):
        raise InvalidRequest("Each strategy may appear once.")
    for name in ("max_parcel_weight_grams", "max_parcel_volume_cm3", "merge_window_hours", "merge_wait_minutes"):
        if not isinstance(values[name], int) or isinstance(values[name], bool) or values[name] < 0:
            raise InvalidRequest(f"{name} must be a whole number, 0 or more.")
    try:
        QueueOrder(values["queue_order"])
    except ValueError:
        raise InvalidRequest(f"queue_order must be one of {', '.join(q.value for q in QueueOrder)}.") from None
    return values | {"strategies": [s.value for s in parsed], "queue_order": QueueOrder(values["queue_order"]).value}


def _view(p: FulfilmentPolicy) -> dict[str, Any]:
    return asdict(p) | {"strategies": [s.value for s in p.strategies], "queue_order": p.queue_order.value}


def set_coverage(db: Database, actor: Actor, warehouse: str, ranks: dict[str, int], *, now: datetime) -> dict[str, int]:
    """属地仓: the provinces this warehouse serves, 1 = first choice there."""
    if any(not isinstance(r, int) or isinstance(r, bool) or r < 1 for r in ranks.values()):
        raise InvalidRequest("Each province's rank must be a whole number from 1 (first choice).")
    with db.uow() as uow:
        warehouse_id = lookups.warehouse_ids(uow.conn, [warehouse])[warehouse]
        repo.replace_coverage(uow.conn, warehouse_id, ranks)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="fulfilment.coverage",
            entity="warehouse",
            entity_id=warehouse,
            at=now,
            details={"provinces": len(ranks)},
        )
        uow.commit()
        return repo.coverage(uow.conn, warehouse_id)


def pin_sku(db: Database, actor: Actor, shop: str, sku: str, warehouses: list[str], *, now: datetime) -> list[str]:
    """商品指定仓: this shop's orders of the SKU ship only from these warehouses (none: unpinned)."""
    with db.uow() as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        sku_id = lookups.sku_ids(uow.conn, [sku])[sku]
        warehouse_ids = lookups.warehouse_ids(uow.conn, warehouses)
        repo.replace_pins(uow.conn, shop_id, sku_id, set(warehouse_ids.values()))
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="fulfilment.pin",
            entity="sku",
            entity_id=sku,
            at=now,
            details={"shop": shop, "warehouses": sorted(warehouses)},
        )
        uow.commit()
    return sorted(warehouses)


@dataclass(frozen=True)
class NewGiftRule:
    shop: str
    name: str
    kind: GiftKind
    gift_sku: str
    gift_quantity: int
    starts_at: datetime
    ends_at: datetime
    trigger_sku: str | None = None
    trigger_quantity: int = 1
    threshold: Decimal = Decimal("0.00")
    repeat: bool = False
    gift_limit: int | None = None


def add_gift_rule(db: Database, actor: Actor, rule: NewGiftRule, *, now: datetime) -> dict[str, Any]:
    if rule.ends_at <= rule.starts_at:
        raise InvalidRequest("A gift rule must end after it starts.")
    if rule.kind is GiftKind.BUY_X_GET_Y and not rule.trigger_sku:
        raise InvalidRequest("A buy-X-get-Y rule needs the SKU to buy (trigger_sku).")
    if rule.kind is GiftKind.SPEND_OVER and rule.threshold <= 0:
        raise InvalidRequest("A spend-over rule needs a threshold above 0.")
    with db.uow() as uow:
        shop_id = lookups.shop_ids(uow.conn, [rule.shop])[rule.shop]
        codes = [rule.gift_sku, *([rule.trigger_sku] if rule.trigger_sku else [])]
        sku_ids = lookups.sku_ids(uow.conn, codes)
        row = {
            "shop_id": shop_id,
            "name": rule.name,
            "kind": rule.kind.value,
            "trigger_sku_id": sku_ids[rule.trigger_sku] if rule.trigger_sku else None,
            "trigger_quantity": rule.trigger_quantity,
            "threshold": rule.threshold,
            "repeat": rule.repeat,
            "gift_sku_id": sku_ids[rule.gift_sku],
            "gift_quantity": rule.gift_quantity,
            "starts_at": rule.starts_at,
            "ends_at": rule.ends_at,
            "gift_limit": rule.gift_limit,
            "gifts_given": 0,
            "enabled": True,
            "priority": 100,
            "created_at": now,
            "created_by": actor.label,
        }
        rule_id = repo.add_gift_rule(uow.conn, row)
        audit_repo.record(
            uow.conn, actor=actor.label, action="gift_rule.add", entity="gift_rule", entity_id=str(rule_id), at=now
        )
        uow.commit()
    return gift_rules(db, rule.shop, only=rule_id)[0]


def gift_rules(db: Database, shop: str, *, only: int | None = None) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        rows = repo.gift_rules_of(uow.conn, [shop_id], active_only=False)
        skus = repo.sku_facts(uow.conn, {r["gift_sku_id"] for r in rows} | {r["trigger_sku_id"] for r in rows} - {None})
    return [
        {
            "id": r["id"],
            "shop": shop,
            "name": r["name"],
            "kind": r["kind"],
            "trigger_sku": skus[r["trigger_sku_id"]][0] if r["trigger_sku_id"] else None,
            "trigger_quantity": r["trigger_quantity"],
            "threshold": r["threshold"],
            "repeat": r["repeat"],
            "gift_sku": skus[r["gift_sku_id"]][0],
            "gift_quantity": r["gift_quantity"],
            "starts_at": r["starts_at"],
            "ends_at": r["ends_at"],
            "gift_limit": r["gift_limit"],
            "gifts_given": r["gifts_given"],
            "enabled": r["enabled"],
        }
        for r in rows
        if only is None or r["id"] == only
    ]


def enable_gift_rule(db: Database, actor: Actor, rule_id: int, enabled: bool, *, now: datetime) -> None:
    with db.uow() as uow:
        if repo.set_gift_rule_enabled(uow.conn, rule_id, enabled) == 0:
            raise NotFound(f"No gift rule {rule_id}.")
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="gift_rule.enable" if enabled else "gift_rule.disable",
            entity="gift_rule",
            entity_id=str(rule_id),
            at=now,
        )
        uow.commit()


def add_carrier_rule(
    db: Database,
    actor: Actor,
    shop: str,
    carrier: str,
    *,
    provinces: list[str],
    warehouses: list[str],
    max_weight_grams: int,
    priority: int,
    now: datetime,
) -> dict[str, Any]:
    _check_carrier(carrier)
    with db.uow() as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        warehouse_ids = lookups.warehouse_ids(uow.conn, warehouses)
        row = {
            "shop_id": shop_id,
            "carrier": carrier,
            "provinces": sorted(set(provinces)),
            "warehouse_ids": sorted(warehouse_ids.values()),
            "max_weight_grams": max_weight_grams,
            "priority": priority,
        }
        rule_id = repo.add_carrier_rule(uow.conn, row)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="carrier_rule.add",
            entity="carrier_rule",
            entity_id=str(rule_id),
            at=now,
        )
        uow.commit()
    return {"id": rule_id, "shop": shop, **row, "warehouses": sorted(warehouses)}


def carrier_rules(db: Database, shop: str) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        return repo.carrier_rules_of(uow.conn, [shop_id]).get(shop_id, [])


def remove_carrier_rule(db: Database, actor: Actor, rule_id: int, *, now: datetime) -> None:
    with db.uow() as uow:
        if repo.remove_carrier_rule(uow.conn, rule_id) == 0:
            raise NotFound(f"No carrier rule {rule_id}.")
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="carrier_rule.remove",
            entity="carrier_rule",
            entity_id=str(rule_id),
            at=now,
        )
        uow.commit()


def set_rate(
    db: Database,
    actor: Actor,
    carrier: str,
    *,
    warehouse: str | None,
    province: str | None,
    first_weight_grams: int,
    first_fee: Decimal,
    extra_fee_per_kg: Decimal,
    now: datetime,
) -> None:
    """首重/续重 for a carrier, from a warehouse (or any) to a province (or any); setting it again replaces it."""
    _check_carrier(carrier)
    if first_fee < 0 or extra_fee_per_kg < 0 or first_weight_grams < 0:
        raise InvalidRequest("Fees and weights cannot be negative.")
    with db.uow() as uow:
        warehouse_id = lookups.warehouse_ids(uow.conn, [warehouse])[warehouse] if warehouse else None
        values = {
            "first_weight_grams": first_weight_grams,
            "first_fee": first_fee,
            "extra_fee_per_kg": extra_fee_per_kg,
        }
        existing = repo.find_rate(uow.conn, carrier, warehouse_id, province)
        if existing is None:
            repo.insert_rate(
                uow.conn, {"carrier": carrier, "warehouse_id": warehouse_id, "province": province, **values}
            )
        else:
            repo.update_rate(uow.conn, existing, values)
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="shipping_rate.set",
            entity="carrier",
            entity_id=carrier,
            at=now,
            details={"warehouse": warehouse, "province": province, **{k: str(v) for k, v in values.items()}},
        )
        uow.commit()


def rates(db: Database) -> list[dict[str, Any]]:
    with db.uow(write=False) as uow:
        return repo.rates(uow.conn)


def _check_carrier(carrier: str) -> None:
    if carrier not in CARRIERS:
        raise InvalidRequest(f"Unknown carrier {carrier}; known: {', '.join(CARRIERS)}.")


def flag_orders(
    db: Database,
    actor: Actor,
    order_ids: list[int],
    *,
    priority: int | None,
    separate_parcels: bool | None,
    now: datetime,
) -> int:
    """优先发货 (served first when stock is scarce) and 不合单 (the buyer wants separate parcels)."""
    if not order_ids:
        raise InvalidRequest("Name at least one order.")
    changes = {k: v for k, v in (("priority", priority), ("separate_parcels", separate_parcels)) if v is not None}
    if not changes:
        raise InvalidRequest("Give priority or separate_parcels.")
    with db.uow() as uow:
        found = repo.flag_orders(uow.conn, sorted(set(order_ids)), changes)
        missing = sorted(set(order_ids) - found)
        if missing:
            raise NotFound(f"No order with id {', '.join(map(str, missing[:10]))}.")
        audit_repo.record(
            uow.conn,
            actor=actor.label,
            action="order.flag",
            entity="orders",
            entity_id=",".join(map(str, sorted(found)))[:120],
            at=now,
            details=changes,
        )
        uow.commit()
    return len(found)


def shop_id(db: Database, shop: str) -> int:
    with db.uow(write=False) as uow:
        return lookups.shop_ids(uow.conn, [shop])[shop]
