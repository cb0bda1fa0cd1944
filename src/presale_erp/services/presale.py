"""Presale campaigns: set them up, open them (quotas go live on the positions), close them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from presale_erp.adapters.db import audit_repo, lookups, presale_repo, stock_repo
from presale_erp.adapters.db import master_data_repo as repo
from presale_erp.adapters.db.tables import campaign_skus, presale_campaigns, skus
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import Actor
from presale_erp.domain.catalog import check_code
from presale_erp.domain.errors import Conflict, InvalidRequest, NotFound
from presale_erp.domain.presale import Campaign, CampaignSku, CampaignStatus, PresaleMode


@dataclass(frozen=True)
class NewCampaign:
    code: str
    name: str
    mode: PresaleMode
    shop: str | None
    deposit_starts_at: datetime
    deposit_ends_at: datetime
    balance_starts_at: datetime | None
    balance_ends_at: datetime | None
    ships_from: datetime
    skus: list[CampaignSku]


def create_campaign(db: Database, actor: Actor, new: NewCampaign, *, now: datetime) -> dict[str, Any]:
    check_code("Campaign", new.code)
    campaign = Campaign(
        new.code,
        new.name,
        new.mode,
        new.deposit_starts_at,
        new.deposit_ends_at,
        new.balance_starts_at,
        new.balance_ends_at,
        new.ships_from,
        skus=list(new.skus),
    )
    if not new.skus:
        raise InvalidRequest(f"Campaign {new.code} needs at least one SKU.")
    keys = [(line.sku, line.warehouse) for line in new.skus]
    if len(set(keys)) != len(keys):
        raise InvalidRequest(f"Campaign {new.code} lists a SKU in the same warehouse twice.")
    with db.uow() as uow:
        conn = uow.conn
        if repo.exists(conn, presale_campaigns, code=new.code):
            raise Conflict(f"A presale campaign with code {new.code} already exists.")
        sku_ids = lookups.sku_ids(conn, [line.sku for line in new.skus])
        warehouse_ids = lookups.warehouse_ids(conn, [line.warehouse for line in new.skus])
        not_presale = [code for code in sku_ids if not repo.exists(conn, skus, code=code, presale_capable=True)]
        if not_presale:
            raise InvalidRequest(f"SKU(s) {', '.join(sorted(not_presale))} are not marked presale-capable.")
        shop_id = lookups.shop_ids(conn, [new.shop])[new.shop] if new.shop else None
        row = {
            "code": campaign.code,
            "name": campaign.name,
            "mode": campaign.mode.value,
            "shop_id": shop_id,
            "deposit_starts_at": campaign.deposit_starts_at,
            "deposit_ends_at": campaign.deposit_ends_at,
            "balance_starts_at": campaign.balance_starts_at,
            "balance_ends_at": campaign.balance_ends_at,
            "ships_from": campaign.ships_from,
            "status": campaign.status.value,
            "created_at": now,
            "created_by": actor.label,
        }
        campaign_id = repo.insert(conn, presale_campaigns, row)
        repo.insert_many(
            conn,
            campaign_skus,
            [
                {
                    "campaign_id": campaign_id,
                    "sku_id": sku_ids[line.sku],
                    "warehouse_id": warehouse_ids[line.warehouse],
                    "presale_quota": line.presale_quota,
                    "price": line.price,
                    "deposit": line.deposit,
                }
                for line in new.skus
            ],
        )
        audit_repo.record(
            conn,
            actor=actor.label,
            action="campaign.create",
            entity="presale_campaign",
            entity_id=new.code,
            at=now,
        )
        uow.commit()
    return get_campaign(db, new.code)


def get_campaign(db: Database, code: str) -> dict[str, Any]:
    with db.uow(write=False) as uow:
        row = presale_repo.campaign_by_code(uow.conn, code)
        if row is None:
            raise NotFound(f"No presale campaign {code}.")
        row["skus"] = presale_repo.campaign_lines(uow.conn, [row["id"]])[row["id"]]
        return row


def open_campaign(db: Database, actor: Actor, code: str, *, now: datetime) -> dict[str, Any]:
    """Quotas go live: each listed SKU may now be sold that many units ahead of its stock."""
    return _move(
        db, actor, code, CampaignStatus.OPEN, now, lambda position, line: position.open_presale(line["presale_quota"])
    )


def close_campaign(db: Database, actor: Actor, code: str, *, now: datetime) -> dict[str, Any]:
    """No more selling ahead of stock; units already sold ahead stay counted against the quota."""
    return _move(
        db,
        actor,
        code,
        CampaignStatus.CLOSED,
        now,
        lambda position, line: position.close_presale(line["presale_quota"]),
    )


def _move(db: Database, actor: Actor, code: str, target: CampaignStatus, now: datetime, adjust) -> dict[str, Any]:
    with db.uow() as uow:
        conn = uow.conn
        # Locked, so two people opening (or closing) the same campaign at once apply its quotas only once.
        row = presale_repo.campaign_by_code(conn, code, for_update=True)
        if row is None:
            raise NotFound(f"No presale campaign {code}.")
        lines = presale_repo.campaign_lines(conn, [row["id"]])[row["id"]]
        campaign = Campaign(
            row["code"],
            row["name"],
            PresaleMode(row["mode"]),
            row["deposit_starts_at"],
            row["deposit_ends_at"],
            row["balance_starts_at"],
            row["balance_ends_at"],
            row["ships_from"],
            CampaignStatus(row["status"]),
            [
                CampaignSku(x["sku"], x["warehouse"], x["presale_quota"], Decimal(x["price"]), Decimal(x["deposit"]))
                for x in lines
            ],
        )
        was_open = campaign.status is CampaignStatus.OPEN
        campaign.move_to(target)
        if target is CampaignStatus.OPEN or was_open:
            sku_ids = {x["sku"]: x["sku_id"] for x in lines}
            warehouse_ids = {x["warehouse"]: x["warehouse_id"] for x in lines}
            locked = stock_repo.lock_positions(
                conn,
                [(x["sku"], x["warehouse"]) for x in lines],
                sku_ids,
                warehouse_ids,
                create_missing=True,
                now=now,
            )
            for line in lines:
                adjust(locked.book.position(line["sku"], line["warehouse"]), line)
            stock_repo.save(conn, locked, {}, now)
        presale_repo.set_status(conn, row["id"], target.value)
        audit_repo.record(
            conn,
            actor=actor.label,
            action=f"campaign.{target.value}",
            entity="presale_campaign",
            entity_id=code,
            at=now,
        )
        uow.commit()
    return get_campaign(db, code)


def list_campaigns(db: Database, *, status: CampaignStatus | None, limit: int, offset: int):
    with db.uow(write=False) as uow:
        rows, total = presale_repo.campaign_page(
            uow.conn, status=status.value if status else None, limit=limit, offset=offset
        )
        lines = presale_repo.campaign_lines(uow.conn, [r["id"] for r in rows]) if rows else {}
    for row in rows:
        row["skus"] = lines.get(row["id"], [])
    return rows, total
