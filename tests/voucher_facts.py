"""Finance facts written straight into payment_entries and sales_postings (SQLAlchemy Core), so voucher tests
state exactly what happened, when (in Beijing time) and for how much."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from itertools import count

from sqlalchemy import insert

from presale_erp.adapters.db import lookups
from presale_erp.adapters.db.tables import orders, payment_entries, sales_postings
from presale_erp.adapters.db.unit_of_work import Database
from tests import builders
from tests.conftest import NOW

BEIJING = timezone(timedelta(hours=8))
_keys = count(1)
EMPTY_TEXT = (
    *("buyer_index", "buyer_name", "buyer_phone", "phone_index", "province", "city", "district", "street"),
    *("address_index", "buyer_remark", "seller_remark", "preorder_reason", "lock_reason", "review_rules_hit"),
)
EMPTY_TEXT = (
    *("buyer_index", "buyer_name", "buyer_phone", "phone_index", "province", "city", "district", "street"),
    *("address_index", "buyer_remark", "seller_remark", "preorder_reason", "lock_reason", "review_rules_hit"),
)


def beijing(text: str) -> datetime:
    """'2026-10-30 00:30' Beijing time, as the aware datetime the tables store (in UTC)."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)


def shop_with_an_order(db: Database, shop: str = "TM-1", platform_order_id: str = "9001") -> int:
    """A shop, the HZ warehouse, the SKU TEA-250G and one order row; returns the order id."""
    builders.warehouse(db)
    builders.sku(db)
    builders.shop(db, shop)
    return order_row(db, shop, platform_order_id)


def order_row(db: Database, shop: str, platform_order_id: str) -> int:
    with db.uow() as uow:
        shop_id = lookups.shop_ids(uow.conn, [shop])[shop]
        zero = Decimal("0.00")
        row = {
            "shop_id": shop_id,
            "platform_order_id": platform_order_id,
            "status": "shipped",
            "platform_status": "TRADE_FINISHED",
            "presale_type": "deposit",
            "platform_modified_at": NOW,
            "platform_created_at": NOW,
            "total_amount": zero,
            "paid_amount": zero,
            "postage": zero,
            "deposit_amount": zero,
            "balance_amount": zero,
            "balance_paid": True,
            "cash_on_delivery": False,
            "mixed_presale": False,
            "refund_requested": False,
            "stock_locked": False,
            "versions_seen": 1,
            "risk_score": 0,
            "first_seen_at": NOW,
            "updated_at": NOW,
            **dict.fromkeys(EMPTY_TEXT, ""),
            "preorder_status": "none",
            "review_status": "approved",
        }
        order_id = uow.conn.execute(insert(orders).returning(orders.c.id), [row]).scalar_one()
        uow.commit()
    return order_id


def payment(db: Database, order_id: int, kind: str, amount: str, channel: str, at: str, shop: str = "TM-1") -> None:
    with db.uow() as uow:
        uow.conn.execute(
            insert(payment_entries),
            [
                {
                    "entry_key": f"test:{next(_keys)}",
                    "shop_id": lookups.shop_ids(uow.conn, [shop])[shop],
                    "order_id": order_id,
                    "kind": kind,
                    "amount": Decimal(amount),
                    "channel": channel,
                    "external_ref": f"T{next(_keys)}",
                    "occurred_at": beijing(at),
                    "source": "manual",
                    "recorded_at": NOW,
                    "recorded_by": "test",
                }
            ],
        )
        uow.commit()


def posting(
    db: Database, order_id: int, kind: str, quantity: int, revenue: str, cost: str, at: str, shop: str = "TM-1"
) -> None:
    with db.uow() as uow:
        uow.conn.execute(
            insert(sales_postings),
            [
                {
                    "posting_key": f"test:{next(_keys)}",
                    "kind": kind,
                    "shop_id": lookups.shop_ids(uow.conn, [shop])[shop],
                    "order_id": order_id,
                    "line_no": 1,
                    "sku_id": lookups.sku_ids(uow.conn, ["TEA-250G"])["TEA-250G"],
                    "warehouse_id": lookups.warehouse_ids(uow.conn, ["HZ"])["HZ"],
                    "quantity": quantity,
                    "revenue": Decimal(revenue),
                    "unit_cost": Decimal(cost) / quantity if quantity else Decimal("0"),
                    "cost": Decimal(cost),
                    "occurred_at": beijing(at),
                    "recorded_by": "test",
                }
            ],
        )
        uow.commit()
