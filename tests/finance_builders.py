"""Orders with money on them, for the finance tests: a Tmall deposit presale (定金 50.00 + 尾款 149.00 for two
units at 99.50) and a plain paid order, taken in through the real intake."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db import costing_repo, lookups
from presale_erp.adapters.db.tables import orders, sales_postings
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.catalog import StockLockPolicy
from presale_erp.services import catalog, fulfilment, intake, parcels, review
from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, sample
from tests import builders
from tests.conftest import NOW

CIPHER = PiiCipher(b"f" * 32)
TEA = "TEA-250G"


def shop_and_stock(db: Database, units: int = 10, policy: StockLockPolicy = StockLockPolicy.ON_PAYMENT) -> None:
    builders.stocked(db, units)
    builders.shop(db, "TM-1")
    catalog.set_stock_locking(db, SYSTEM, "TM-1", policy=policy, warehouse="HZ", now=NOW)


def push(db: Database, order_id: str, *, stage: str, modified: datetime, presale: str = "deposit", **kw) -> None:
    order = sample(
        order_id,
        stage=stage,
        presale=presale,
        deposit=kw.pop("deposit", Decimal("50.00") if presale == "deposit" else Decimal("0.00")),
        lines=kw.pop("lines", [SimLine(TEA, 2, Decimal("99.50"))]),
        created=NOW - timedelta(days=10),
        modified=modified,
        **kw,
    )
    intake.intake(db, CIPHER, SYSTEM, "TM-1", [payloads.taobao(order)], source="fetch", now=modified)


def order_id(db: Database, platform_order_id: str) -> int:
    with db.uow(write=False) as uow:
        return uow.conn.execute(select(orders.c.id).where(orders.c.platform_order_id == platform_order_id)).scalar_one()


def set_average_cost(db: Database, cost: Decimal, *, sku: str = TEA, wh: str = "HZ") -> None:
    """The moving average an earlier costed receipt left (receiving is tested on its own)."""
    with db.uow() as uow:
        sku_id = lookups.sku_ids(uow.conn, [sku])[sku]
        wh_id = lookups.warehouse_ids(uow.conn, [wh])[wh]
        costing_repo.save_costs(uow.conn, {(sku_id, wh_id): cost}, NOW)
        uow.commit()


def presale_story_allocated(db: Database, platform_order_id: str = "5001") -> list[dict]:
    """定金 50.00 paid, 尾款 149.00 paid, ship date reached, reviewed and allocated: its parcels."""
    shop_and_stock(db)
    set_average_cost(db, Decimal("61.333333"))
    shipped_by = NOW - timedelta(days=1)
    push(db, platform_order_id, stage="deposit", modified=NOW - timedelta(days=9), ship_by=shipped_by)
    push(db, platform_order_id, stage="paid", modified=NOW - timedelta(hours=3), ship_by=shipped_by)
    review.review_pending(db, CIPHER, SYSTEM, now=NOW)
    fulfilment.allocate(db, SYSTEM, now=NOW)
    return parcels.parcels_of_order(db, order_id(db, platform_order_id))


def postings(db: Database) -> list[tuple]:
    """The sales postings in the order they were written: kind, line, units, revenue, unit cost, cost."""
    with db.uow(write=False) as uow:
        rows = uow.conn.execute(
            select(
                sales_postings.c.kind,
                sales_postings.c.line_no,
                sales_postings.c.quantity,
                sales_postings.c.revenue,
                sales_postings.c.unit_cost,
                sales_postings.c.cost,
            ).order_by(sales_postings.c.id)
        ).all()
    return [tuple(r) for r in rows]
