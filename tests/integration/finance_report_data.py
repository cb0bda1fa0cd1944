"""A small, hand-computed finance dataset for the report tests: two shops, two SKUs, two warehouses, five
orders with their payments and sales postings, a presale campaign, and purchase orders owed to two suppliers.
Times are UTC; the comments give the Beijing day each lands on (the reports bucket by Beijing day)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import insert, select

from presale_erp.adapters.db.tables import (
    campaign_skus,
    order_lines,
    orders,
    payment_entries,
    presale_campaigns,
    purchase_order_lines,
    purchase_orders,
    receipt_lines,
    receipts,
    sales_postings,
    shops,
    skus,
    stock_costs,
    stock_positions,
    suppliers,
    warehouses,
)
from presale_erp.adapters.db.unit_of_work import Database
from tests import builders
from tests.conftest import NOW

D = Decimal


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _order(order_id: int, shop_id: int, created: str, **over: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": order_id,
        "shop_id": shop_id,
        "platform_order_id": f"P{order_id}",
        "status": "shipped",
        "platform_status": "shipped",
        "presale_type": "deposit",
        "platform_modified_at": at(created),
        "platform_created_at": at(created),
        "paid_at": at(created),
        "total_amount": D("0.00"),
        "paid_amount": D("0.00"),
        "postage": D("0.00"),
        "deposit_amount": D("0.00"),
        "balance_amount": D("0.00"),
        "balance_paid": True,
        "buyer_index": "b",
        "buyer_name": "x",
        "buyer_phone": "x",
        "phone_index": "p",
        "province": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "street": "x",
        "address_index": "a",
        "buyer_remark": "",
        "seller_remark": "",
        "cash_on_delivery": False,
        "mixed_presale": False,
        "refund_requested": False,
        "versions_seen": 1,
        "preorder_status": "none",
        "preorder_reason": "",
        "stock_locked": False,
        "lock_reason": "",
        "review_status": "approved",
        "risk_score": 0,
        "review_rules_hit": "",
        "first_seen_at": NOW,
        "updated_at": NOW,
        "balance_due_at": None,
    }
    return {**row, **over}


def _line(order_id: int, line_no: int, shop_id: int, sku_id: int, *, presale: bool) -> dict[str, object]:
    return {
        "order_id": order_id,
        "line_no": line_no,
        "shop_id": shop_id,
        "line_key": f"{order_id}-{line_no}",
        "platform_sku_id": str(sku_id),
        "sku_id": sku_id,
        "title": "t",
        "quantity": 1,
        "unit_price": D("1.00"),
        "paid_amount": D("1.00"),
        "presale": presale,
        "refunded": False,
    }


def _pay(key: str, shop: int, order: int | None, kind: str, amount: str, channel: str, when: str) -> dict:
    return {
        "entry_key": key,
        "shop_id": shop,
        "order_id": order,
        "kind": kind,
        "amount": D(amount),
        "channel": channel,
        "external_ref": key,
        "occurred_at": at(when),
        "source": "platform",
        "recorded_at": NOW,
        "recorded_by": "t",
    }


def _post(
    key: str,
    kind: str,
    shop: int,
    order: int,
    line: int,
    sku: int,
    wh: int,
    qty: int,
    revenue: str,
    cost: str,
    when: str,
) -> dict:
    return {
        "posting_key": key,
        "kind": kind,
        "shop_id": shop,
        "order_id": order,
        "line_no": line,
        "sku_id": sku,
        "warehouse_id": wh,
        "quantity": qty,
        "revenue": D(revenue),
        "unit_cost": D("0"),
        "cost": D(cost),
        "occurred_at": at(when),
        "recorded_by": "t",
    }


def load(db: Database) -> dict[str, int]:
    """Master data through the builders, the rest as rows; returns the ids by code."""
    for code in ("HZ", "SH"):
        builders.warehouse(db, code)
    for code in ("TEA", "CUP"):
        builders.sku(db, code)  # catalogue unit cost 80.00
    for code in ("TM-1", "TM-2"):
        builders.shop(db, code)
    with db.uow() as uow:
        conn = uow.conn
        ids = {code: i for t in (shops, skus, warehouses) for i, code in conn.execute(select(t.c.id, t.c.code))}
        tm1, tm2, tea, cup, hz, sh = (ids[c] for c in ("TM-1", "TM-2", "TEA", "CUP", "HZ", "SH"))
        conn.execute(
            insert(orders),
            [
                _order(1, tm1, "2026-09-20 02:00"),  # campaign order: deposit, balance, a return
                _order(2, tm1, "2026-10-19 17:00", presale_type="none"),
                _order(3, tm2, "2026-10-31 17:00", presale_type="none"),
                _order(
                    4,
                    tm1,
                    "2026-09-25 02:00",
                    status="deposit_paid",
                    balance_paid=False,
                    deposit_amount=D("30.00"),
                    balance_amount=D("170.00"),
                    balance_due_at=at("2026-11-11 15:00"),
                ),
                _order(5, tm2, "2026-09-26 02:00", status="cancelled"),
            ],
        )
        conn.execute(
            insert(order_lines),
            [
                _line(1, 1, tm1, tea, presale=True),
                _line(1, 2, tm1, cup, presale=False),
                _line(2, 1, tm1, tea, presale=False),
                _line(3, 1, tm2, cup, presale=False),
                _line(4, 1, tm1, tea, presale=True),
                _line(5, 1, tm2, cup, presale=True),
            ],
        )
        conn.execute(
            insert(payment_entries),
            [
                _pay("o1-dep", tm1, 1, "deposit", "50.00", "alipay", "2026-09-20 02:00"),  # 09-20
                _pay("o4-dep", tm1, 4, "deposit", "30.00", "alipay", "2026-09-25 02:00"),  # 09-25
                _pay("o5-dep", tm2, 5, "deposit", "20.00", "alipay", "2026-10-01 02:00"),  # 10-01
                _pay("o1-bal", tm1, 1, "balance", "250.00", "alipay", "2026-10-01 03:00"),  # 10-01
                _pay("o1-fee", tm1, 1, "platform_fee", "-6.00", "alipay", "2026-10-05 04:00"),  # 10-05
                _pay("o1-com", tm1, 1, "commission", "-9.01", "alipay", "2026-10-05 04:00"),  # 10-05
                _pay("o1-ref", tm1, 1, "refund", "-100.00", "alipay", "2026-10-10 18:00"),  # 10-11 02:00
                _pay("o2-pay", tm1, 2, "full_payment", "150.00", "wechat", "2026-10-19 17:00"),  # 10-20 01:00
                _pay("o2-fee", tm1, 2, "platform_fee", "-4.50", "wechat", "2026-10-20 10:00"),  # 10-20
                _pay("o2-ref", tm1, 2, "refund", "-15.00", "wechat", "2026-10-21 02:00"),  # 10-21
                _pay("tm1-fee", tm1, None, "platform_fee", "-10.00", "bank", "2026-10-31 04:00"),  # 10-31
                _pay("o3-pay", tm2, 3, "full_payment", "270.00", "alipay", "2026-10-31 17:00"),  # 11-01 01:00
                _pay("o3-com", tm2, 3, "commission", "-27.00", "alipay", "2026-11-01 02:00"),  # 11-01
            ],
        )
        conn.execute(
            insert(sales_postings),
            [
                _post("s1-1", "shipment", tm1, 1, 1, tea, hz, 2, "200.00", "121.00", "2026-10-05 03:00"),
                _post("s1-2", "shipment", tm1, 1, 2, cup, sh, 1, "100.00", "30.00", "2026-10-05 03:00"),
                _post("r1-1", "return", tm1, 1, 1, tea, hz, -1, "-100.00", "-60.50", "2026-10-10 17:00"),  # 10-11
                _post("s2-1", "shipment", tm1, 2, 1, tea, sh, 1, "150.00", "58.00", "2026-10-20 10:00"),
                _post("a2-1", "refund_allowance", tm1, 2, 1, tea, sh, 0, "-15.00", "0.00", "2026-10-21 02:00"),
                _post("s3-1", "shipment", tm2, 3, 1, cup, hz, 3, "270.00", "90.00", "2026-11-01 01:00"),
                _post("f5-1", "deposit_forfeited", tm2, 5, 1, cup, hz, 0, "20.00", "0.00", "2026-10-31 16:30"),  # 11-01
            ],
        )
        _campaign(conn, tm1, tea, hz)
        _purchasing(conn, tea, cup, hz, sh)
        _stock(conn, tea, cup, hz, sh)
        uow.commit()
    return ids


def _campaign(conn, shop_id: int, tea: int, hz: int) -> None:
    conn.execute(
        insert(presale_campaigns),
        [
            {
                "id": 1,
                "code": "C-1111",
                "name": "双11 预售",
                "mode": "deposit",
                "shop_id": shop_id,
                "deposit_starts_at": at("2026-09-15 00:00"),
                "deposit_ends_at": at("2026-09-30 16:00"),
                "ships_from": at("2026-10-05 00:00"),
                "status": "closed",
                "created_at": NOW,
                "created_by": "t",
            }
        ],
    )
    conn.execute(
        insert(campaign_skus),
        [
            {
                "campaign_id": 1,
                "sku_id": tea,
                "warehouse_id": hz,
                "presale_quota": 100,
                "price": D("300.00"),
                "deposit": D("50.00"),
            }
        ],
    )


def _purchasing(conn, tea: int, cup: int, hz: int, sh: int) -> None:
    supplier = {"lead_time_days": D("10"), "lead_time_std_days": D("2"), "created_at": NOW, "created_by": "t"}
    conn.execute(
        insert(suppliers),
        [
            {"id": 1, "code": "S1", "name": "茶厂", "payment_terms_days": 30, **supplier},
            {"id": 2, "code": "S2", "name": "杯厂", "payment_terms_days": 0, **supplier},
        ],
    )
    po = {"note": "", "created_at": NOW, "created_by": "t"}
    conn.execute(
        insert(purchase_orders),
        [
            {"id": 1, "code": "PO-1", "supplier_id": 1, "warehouse_id": hz, "status": "partly_received", **po},
            {"id": 2, "code": "PO-2", "supplier_id": 2, "warehouse_id": sh, "status": "confirmed", **po},
            {"id": 3, "code": "PO-3", "supplier_id": 1, "warehouse_id": hz, "status": "draft", **po},
        ],
    )
    conn.execute(
        insert(purchase_order_lines),
        [
            {
                "purchase_order_id": 1,
                "line_no": 1,
                "sku_id": tea,
                "quantity": 10,
                "unit_cost": D("60.00"),
                "promised_on": date(2026, 10, 20),
                "received_quantity": 4,
            },
            {
                "purchase_order_id": 2,
                "line_no": 1,
                "sku_id": cup,
                "quantity": 5,
                "unit_cost": D("20.00"),
                "promised_on": None,
                "received_quantity": 0,
            },
            {
                "purchase_order_id": 3,
                "line_no": 1,
                "sku_id": tea,
                "quantity": 100,
                "unit_cost": D("60.00"),
                "promised_on": date(2026, 11, 2),
                "received_quantity": 0,
            },
        ],
    )
    conn.execute(
        insert(receipts),
        [
            {
                "id": 1,
                "code": "R-1",
                "purchase_order_id": 1,
                "warehouse_id": hz,
                "received_at": at("2026-10-02 02:00"),
                "received_by": "t",
            }
        ],
    )
    conn.execute(
        insert(receipt_lines),
        [
            {
                "receipt_id": 1,
                "line_no": 1,
                "sku_id": tea,
                "accepted": 4,
                "damaged": 1,
                "unit_cost": D("60.00"),
                "landed_cost": D("8.00"),
            }
        ],
    )


def _stock(conn, tea: int, cup: int, hz: int, sh: int) -> None:
    conn.execute(
        insert(stock_positions),
        [
            {"sku_id": tea, "warehouse_id": hz, "on_hand": 10, "damaged": 1, "updated_at": NOW},
            {"sku_id": cup, "warehouse_id": hz, "on_hand": 3, "damaged": 0, "updated_at": NOW},
            {"sku_id": cup, "warehouse_id": sh, "on_hand": 2, "damaged": 0, "updated_at": NOW},
        ],
    )
    conn.execute(
        insert(stock_costs),
        [
            {"sku_id": tea, "warehouse_id": hz, "average_cost": D("60.333333"), "updated_at": NOW},
            {"sku_id": cup, "warehouse_id": sh, "average_cost": D("20.125"), "updated_at": NOW},
        ],
    )
