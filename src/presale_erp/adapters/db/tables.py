"""The schema. Order-side rows carry shop_id and stock-side rows warehouse_id, so they can be sharded later;
movements and audit rows are indexed by time for range queries and monthly partitions."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

from presale_erp.adapters.db.types import MoneyFen, UtcDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BigInteger ids autoincrement on PostgreSQL; SQLite only autoincrements INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = MoneyFen()


def _audit_columns() -> list[Column]:
    return [
        Column("created_at", UtcDateTime, nullable=False),
        Column("created_by", String(120), nullable=False),
    ]


users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(120), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    *_audit_columns(),
)

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    Column("prefix", String(16), nullable=False, unique=True),
    Column("key_hash", String(64), nullable=False),
    Column("scopes", JSON, nullable=False),
    Column("supplier_id", Integer),  # a supplier's own key: it sees that supplier's purchase orders and nothing else
    Column("revoked_at", UtcDateTime),
    Column("last_used_at", UtcDateTime),
    *_audit_columns(),
)

products = Table(
    "products",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("category", String(120)),
    *_audit_columns(),
)

skus = Table(
    "skus",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("product_id", Integer, ForeignKey("products.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("barcode", String(32), unique=True),
    Column("weight_grams", Integer, nullable=False),
    Column("volume_cm3", Integer, nullable=False, default=0, server_default="0"),  # 0: not measured
    Column("presale_capable", Boolean, nullable=False),
    Column("unit_cost", Money),
    Column("list_price", Money),
    *_audit_columns(),
)

shops = Table(
    "shops",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("platform", String(20), nullable=False),
    Column("platform_shop_id", String(64), nullable=False),
    Column("stock_lock_policy", String(20), nullable=False),
    # Where this shop's orders lock stock at intake (锁库存); none: stock is locked at allocation instead.
    Column("lock_warehouse_id", Integer, ForeignKey("warehouses.id")),
    Column("financial_review", Boolean, nullable=False, default=False, server_default=false()),  # 财审 after 客审
    Column("active", Boolean, nullable=False, default=True),
    *_audit_columns(),
    UniqueConstraint("platform", "platform_shop_id", name="uq_shops_platform_shop"),
)

warehouses = Table(
    "warehouses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("provider", String(120)),
    Column("province", String(40)),
    Column("city", String(40)),
    Column("address", String(300)),
    Column("active", Boolean, nullable=False, default=True),
    *_audit_columns(),
)

zones = Table(
    "zones",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("code", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("kind", String(20), nullable=False),
    *_audit_columns(),
    UniqueConstraint("warehouse_id", "code", name="uq_zones_warehouse_code"),
)

bins = Table(
    "bins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("zone_id", Integer, ForeignKey("zones.id"), nullable=False, index=True),
    Column("code", String(64), nullable=False),
    *_audit_columns(),
    # False: a 残次品区 bin (damaged or quarantined goods); its units count as damaged, not on_hand (0006)
    Column("sellable", Boolean, nullable=False, default=True, server_default=true()),
    UniqueConstraint("warehouse_id", "code", name="uq_bins_warehouse_code"),
)

stock_positions = Table(
    "stock_positions",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("on_hand", Integer, nullable=False, default=0),
    Column("reserved", Integer, nullable=False, default=0),
    Column("presale_quota", Integer, nullable=False, default=0),
    Column("presale_quota_used", Integer, nullable=False, default=0),
    Column("presale_booked", Integer, nullable=False, default=0),
    Column("awaiting_review", Integer, nullable=False, default=0),
    Column("awaiting_shipment", Integer, nullable=False, default=0),
    Column("in_transit_purchase", Integer, nullable=False, default=0),
    Column("in_transit_transfer", Integer, nullable=False, default=0),
    Column("low_stock_threshold", Integer, nullable=False, default=0),
    Column("presale_campaigns_open", Integer, nullable=False, default=0),
    Column("updated_at", UtcDateTime, nullable=False),
    # 残次品: units in non-sellable bins; on_hand stays sellable stock only (0006)
    Column("damaged", Integer, nullable=False, default=0, server_default="0"),
    CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    CheckConstraint("presale_quota_used <= presale_quota", name="quota_used_within_quota"),
    CheckConstraint("in_transit_purchase >= 0 AND in_transit_transfer >= 0", name="in_transit_not_negative"),
    CheckConstraint("damaged >= 0", name="damaged_not_negative"),
    Index("ix_stock_positions_warehouse", "warehouse_id", "sku_id"),
)

bin_stock = Table(
    "bin_stock",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("bin_id", Integer, ForeignKey("bins.id"), primary_key=True),
    Column("on_hand", Integer, nullable=False),
    CheckConstraint("on_hand >= 0", name="bin_on_hand_not_negative"),
)

movement_requests = Table(
    "movement_requests",
    metadata,
    Column("id", String(120), primary_key=True),  # chosen by the caller: a retry is a no-op
    Column("kind", String(30), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("reference", String(120)),
    Column("reason", String(300)),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Index("ix_movement_requests_at", "at"),
)

movements = Table(
    "movements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("request_id", String(120), ForeignKey("movement_requests.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(30), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("bin_id", Integer, ForeignKey("bins.id")),
    Column("bucket", String(30), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("reservation_id", String(120)),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    UniqueConstraint("request_id", "seq", name="uq_movements_request_seq"),
    Index("ix_movements_position_at", "sku_id", "warehouse_id", "at"),
    Index("ix_movements_at", "at"),
)

reservations = Table(
    "reservations",
    metadata,
    Column("id", String(120), primary_key=True),  # chosen by the caller, e.g. shop:order:line
    Column("sku_id", Integer, nullable=False),
    Column("warehouse_id", Integer, nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id")),
    Column("order_ref", String(120)),
    Column("quantity", Integer, nullable=False),
    Column("from_quota", Integer, nullable=False),
    Column("stage", String(30), nullable=False),
    Column("status", String(20), nullable=False),
    Column("expires_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("ended_at", UtcDateTime),
    Column("ended_by", String(120)),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    # A reservation locks stock of a position, so it refers to the position (one check per row where a SKU and a
    # warehouse key would be two: a flash sale inserts thousands a second).
    ForeignKeyConstraint(["sku_id", "warehouse_id"], ["stock_positions.sku_id", "stock_positions.warehouse_id"]),
    Index("ix_reservations_position_status", "sku_id", "warehouse_id", "status"),
    # Only leases expire: a flash sale's reservations have none and need no entry here (0013).
    Index(
        "ix_reservations_status_expires",
        "status",
        "expires_at",
        postgresql_where=text("expires_at IS NOT NULL"),
        sqlite_where=text("expires_at IS NOT NULL"),
    ),
    Index("ix_reservations_shop_order", "shop_id", "order_ref"),
)

presale_campaigns = Table(
    "presale_campaigns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id")),
    Column("deposit_starts_at", UtcDateTime, nullable=False),
    Column("deposit_ends_at", UtcDateTime, nullable=False),
    Column("balance_starts_at", UtcDateTime),
    Column("balance_ends_at", UtcDateTime),
    Column("ships_from", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    *_audit_columns(),
)

campaign_skus = Table(
    "campaign_skus",
    metadata,
    Column("campaign_id", Integer, ForeignKey("presale_campaigns.id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("presale_quota", Integer, nullable=False),
    Column("price", Money, nullable=False),
    Column("deposit", Money, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(60), nullable=False),
    Column("entity", String(60), nullable=False),
    Column("entity_id", String(120), nullable=False),
    Column("details", JSON),
    Index("ix_audit_log_at", "at"),
    Index("ix_audit_log_entity", "entity", "entity_id"),
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("key", String(200), primary_key=True),  # a job's idempotency key: done once, then a no-op
    Column("name", String(80), nullable=False),
    Column("finished_at", UtcDateTime, nullable=False),
    Column("result", JSON),
    Column("attempts", Integer, nullable=False, default=1),
)

orders = Table(
    "orders",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("platform_order_id", String(64), nullable=False),
    Column("status", String(30), nullable=False),
    Column("platform_status", String(120), nullable=False),
    Column("presale_type", String(20), nullable=False),
    Column("platform_modified_at", UtcDateTime, nullable=False),  # the version: only a newer one replaces it
    Column("platform_created_at", UtcDateTime, nullable=False),
    Column("paid_at", UtcDateTime),
    Column("total_amount", Money, nullable=False),
    Column("paid_amount", Money, nullable=False),
    Column("postage", Money, nullable=False),
    Column("deposit_amount", Money, nullable=False),
    Column("balance_amount", Money, nullable=False),
    Column("balance_paid", Boolean, nullable=False),
    Column("latest_ship_at", UtcDateTime),
    Column("balance_due_at", UtcDateTime),  # 尾款截止: from the platform, or the campaign's balance window
    Column("balance_expired_at", UtcDateTime),  # the balance window passed unpaid: stock given back
    Column("buyer_index", String(32), nullable=False),  # blind index of the platform's buyer id
    Column("buyer_name", String(400), nullable=False),  # encrypted
    Column("buyer_phone", String(400), nullable=False),  # encrypted
    Column("phone_index", String(32), nullable=False),
    Column("province", String(40), nullable=False),
    Column("city", String(40), nullable=False),
    Column("district", String(40), nullable=False),
    Column("street", String(1000), nullable=False),  # encrypted
    Column("address_index", String(32), nullable=False),
    Column("buyer_remark", String(1000), nullable=False),
    Column("seller_remark", String(1000), nullable=False),
    Column("cash_on_delivery", Boolean, nullable=False),
    Column("mixed_presale", Boolean, nullable=False),
    Column("refund_requested", Boolean, nullable=False),  # 用户已申请退款: a refund is open
    Column("versions_seen", Integer, nullable=False),
    Column("preorder_status", String(20), nullable=False),  # none | waiting (预订单) | activated
    Column("planned_ship_at", UtcDateTime),  # 计划发货时间: the latest planned date of its presale lines
    Column("preorder_reason", String(300), nullable=False),  # why a waiting pre-order cannot go yet
    Column("activated_at", UtcDateTime),
    Column("stock_locked", Boolean, nullable=False),
    Column("lock_reason", String(300), nullable=False),  # why the order's stock is not locked (缺货 ...)
    Column("review_status", String(20), nullable=False),  # none | pending | approved | held | rejected
    Column("risk_score", Integer, nullable=False),
    Column("review_hits", JSON),  # every rule the order hit: [{rule, reason, action, weight}]
    Column("review_rules_hit", String(600), nullable=False),  # ",rule,rule," so staff can filter by exception
    Column("reviewed_at", UtcDateTime),
    Column("reviewed_by", String(120)),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # Fulfilment owns these (intake never writes them): pending | waiting | allocated | cancelled.
    Column("fulfilment_status", String(20), nullable=False, default="pending", server_default="pending"),
    Column("fulfilment_reason", String(600), nullable=False, default="", server_default=""),
    Column("allocation_round", Integer, nullable=False, default=0, server_default="0"),  # names its reservations
    Column("priority", Integer, nullable=False, default=0, server_default="0"),  # 优先发货 (VIP): served first
    Column("separate_parcels", Boolean, nullable=False, default=False, server_default=false()),  # 不合单
    UniqueConstraint("shop_id", "platform_order_id", name="uq_orders_shop_platform_order"),
    Index("ix_orders_shop_status", "shop_id", "status"),
    Index("ix_orders_status_ship_by", "status", "latest_ship_at"),
    Index("ix_orders_phone_index", "phone_index"),
    Index("ix_orders_address_index", "address_index"),
    Index("ix_orders_modified", "shop_id", "platform_modified_at"),
    Index("ix_orders_review", "review_status", "id"),
    Index("ix_orders_preorder", "preorder_status", "planned_ship_at"),
    Index("ix_orders_balance_due", "status", "balance_due_at"),
    Index("ix_orders_fulfilment", "fulfilment_status", "review_status", "id"),
    Index("ix_orders_buyer_index", "buyer_index"),  # a buyer's refund rate, read for every review batch
)

order_lines = Table(
    "order_lines",
    metadata,
    Column("order_id", BigId, ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("line_key", String(64), nullable=False),
    Column("platform_sku_id", String(64), nullable=False),
    Column("sku_code", String(64)),
    Column("sku_id", Integer, ForeignKey("skus.id")),  # null: the platform's code matches none of our SKUs
    Column("title", String(300), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money, nullable=False),
    Column("paid_amount", Money, nullable=False),
    Column("presale", Boolean, nullable=False),
    Column("planned_ship_at", UtcDateTime),
    Column("refunded", Boolean, nullable=False),
    Index("ix_order_lines_sku", "sku_id"),
)

order_events = Table(
    "order_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("platform_at", UtcDateTime, nullable=False),
    Column("from_status", String(30)),
    Column("to_status", String(30), nullable=False),
    Column("source", String(20), nullable=False),
    Index("ix_order_events_order", "order_id", "id"),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("source", String(20), nullable=False),  # fetch | webhook | import
    Column("payload", Text, nullable=False),  # the raw body as received, so nothing is lost
    Column("payload_hash", String(64), nullable=False),  # the same broken payload fetched again is one letter
    Column("reason", String(1000), nullable=False),
    Column("status", String(20), nullable=False),  # open | resolved | discarded
    Column("attempts", Integer, nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(120)),
    Index("ix_dead_letters_status", "status", "shop_id"),
    Index("ix_dead_letters_hash", "shop_id", "payload_hash"),
)

shop_fetch = Table(
    "shop_fetch",
    metadata,
    Column("shop_id", Integer, ForeignKey("shops.id"), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("base_url", String(300), nullable=False),
    Column("app_key", String(120), nullable=False),
    Column("app_secret", String(400), nullable=False),  # encrypted
    Column("access_token", String(1000), nullable=False),  # encrypted
    Column("watermark", UtcDateTime),  # everything modified before this has been fetched
    Column("overlap_seconds", Integer, nullable=False),
    Column("lag_seconds", Integer, nullable=False),
    Column("backfill_hours", Integer, nullable=False),
    Column("last_run_at", UtcDateTime),
    Column("last_success_at", UtcDateTime),
    Column("last_error", String(1000)),
    Column("last_report", JSON),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(120), nullable=False),
)

review_rules = Table(
    "review_rules",
    metadata,
    Column("code", String(40), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("action", String(10), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("weight", Integer, nullable=False),
    Column("params", JSON, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(120), nullable=False),
)

blacklist = Table(
    "blacklist",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),  # buyer | phone | address
    Column("value_index", String(32), nullable=False),  # blind index: the value itself is not kept
    Column("label", String(200), nullable=False),  # masked, for people to recognise the entry
    Column("note", String(300), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    UniqueConstraint("kind", "value_index", name="uq_blacklist_kind_value"),
)


shop_fulfilment = Table(
    "shop_fulfilment",
    metadata,
    Column("shop_id", Integer, ForeignKey("shops.id"), primary_key=True),
    Column("strategies", JSON, nullable=False),  # ordered strategy codes: staff re-order them
    Column("split_across_warehouses", Boolean, nullable=False),
    Column("ship_in_stock_first", Boolean, nullable=False),
    Column("split_by_ship_date", Boolean, nullable=False),
    Column("max_parcel_weight_grams", Integer, nullable=False),
    Column("max_parcel_volume_cm3", Integer, nullable=False),
    Column("merge", Boolean, nullable=False),
    Column("merge_presale", Boolean, nullable=False),
    Column("merge_across_ship_dates", Boolean, nullable=False),
    Column("merge_window_hours", Integer, nullable=False),
    Column("merge_wait_minutes", Integer, nullable=False),
    Column("queue_order", String(20), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(120), nullable=False),
)

warehouse_coverage = Table(  # 属地仓: which provinces a warehouse serves, and how high it ranks there
    "warehouse_coverage",
    metadata,
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("province", String(40), primary_key=True),
    Column("rank", Integer, nullable=False),
)

sku_warehouse_pins = Table(  # 商品指定仓
    "sku_warehouse_pins",
    metadata,
    Column("shop_id", Integer, ForeignKey("shops.id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
)

gift_rules = Table(
    "gift_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("kind", String(20), nullable=False),  # buy_x_get_y | spend_over
    Column("trigger_sku_id", Integer, ForeignKey("skus.id")),
    Column("trigger_quantity", Integer, nullable=False),
    Column("threshold", Money, nullable=False),
    Column("repeat", Boolean, nullable=False),
    Column("gift_sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("gift_quantity", Integer, nullable=False),
    Column("starts_at", UtcDateTime, nullable=False),
    Column("ends_at", UtcDateTime, nullable=False),
    Column("gift_limit", Integer),  # gifts to give in all; null: no limit
    Column("gifts_given", Integer, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    Index("ix_gift_rules_shop", "shop_id", "enabled"),
)

carrier_rules = Table(  # 快递策略
    "carrier_rules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("carrier", String(20), nullable=False),
    Column("provinces", JSON, nullable=False),  # [] = everywhere
    Column("warehouse_ids", JSON, nullable=False),  # [] = every warehouse
    Column("max_weight_grams", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Index("ix_carrier_rules_shop", "shop_id"),
)

shipping_rates = Table(  # 运费模板: 首重 + 续重
    "shipping_rates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("carrier", String(20), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id")),  # null: from anywhere
    Column("province", String(40)),  # null: to anywhere
    Column("first_weight_grams", Integer, nullable=False),
    Column("first_fee", Money, nullable=False),
    Column("extra_fee_per_kg", Money, nullable=False),
    UniqueConstraint("carrier", "warehouse_id", "province", name="uq_shipping_rates_carrier_wh_province"),
)

parcels = Table(  # 包裹: what one warehouse packs into one box
    "parcels",
    metadata,
    Column("code", String(40), primary_key=True),  # P<first order id>-<round>-<n>: chosen without a round trip
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("status", String(20), nullable=False),  # allocated | picking | packed | shipped | cancelled
    Column("buyer_index", String(32), nullable=False),
    Column("address_index", String(32), nullable=False),
    Column("province", String(40), nullable=False),
    Column("ship_after", UtcDateTime),  # presale goods: not before their planned date
    Column("earliest_paid_at", UtcDateTime, nullable=False),
    Column("latest_paid_at", UtcDateTime, nullable=False),
    Column("weight_grams", Integer, nullable=False),
    Column("volume_cm3", Integer, nullable=False),
    Column("mergeable", Boolean, nullable=False),
    Column("presale", Boolean, nullable=False),
    Column("reason", String(300), nullable=False),  # 拆单/合单 reason
    Column("carrier", String(20)),
    Column("shipping_cost", Money),
    Column("carrier_reason", String(300), nullable=False),  # why no carrier or no waybill yet
    Column("tracking_no", String(40)),
    Column("tracking_state", String(20)),  # the latest trace's state: collected | in_transit | delivered | ...
    Column("tracking_updated_at", UtcDateTime),  # when the latest trace happened (carrier time)
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_parcels_buyer", "shop_id", "buyer_index", "status"),
    Index("ix_parcels_tracking_no", "tracking_no"),
    Index("ix_parcels_status_carrier", "status", "carrier"),
)

parcel_lines = Table(
    "parcel_lines",
    metadata,
    Column("parcel_code", String(40), ForeignKey("parcels.code"), primary_key=True),
    Column("order_id", BigId, ForeignKey("orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),  # gift lines are numbered from 10001
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("gift_rule_id", Integer, ForeignKey("gift_rules.id")),
    Column("reservation_id", String(120), nullable=False),
    Index("ix_parcel_lines_order", "order_id"),
)

# --- Planning: demand history, forecasts, buying decisions, alerts ------------------------------------------------

demand_history = Table(  # 销量历史: units sold per SKU, warehouse and day (rolled up from orders, or imported)
    "demand_history",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("revenue", Money, nullable=False),
    Column("promotion", String(60), nullable=False),  # the sales event of the day (双11, 618) or ""
    Column("source", String(20), nullable=False),  # orders | import
    Index("ix_demand_history_day", "day"),
)

campaign_commitments = Table(  # a presale's deposit curve: units deposited, refunded, balance-paid per day
    "campaign_commitments",
    metadata,
    Column("campaign_id", Integer, ForeignKey("presale_campaigns.id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("deposits", Integer, nullable=False),
    Column("cancelled", Integer, nullable=False),  # deposits refunded or lapsed that day
    Column("balance_paid", Integer, nullable=False),
    Column("source", String(20), nullable=False),  # orders | import
)

replenishment_settings = Table(  # 补货参数 per SKU × warehouse
    "replenishment_settings",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("service_level", Numeric(4, 3), nullable=False),
    Column("lead_time_days", Numeric(6, 2), nullable=False),
    Column("lead_time_std_days", Numeric(6, 2), nullable=False),
    Column("review_days", Integer, nullable=False),
    Column("min_order", Integer, nullable=False),
    Column("salvage_value", Money, nullable=False),
    Column("supplier_id", Integer, ForeignKey("suppliers.id")),
    Column("updated_at", UtcDateTime, nullable=False),
)

forecast_runs = Table(
    "forecast_runs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(20), nullable=False),  # demand | presale
    Column("status", String(20), nullable=False),  # running | finished | failed
    Column("model", String(80), nullable=False),
    Column("model_version", String(80), nullable=False),
    Column("data_version", String(80), nullable=False),  # fingerprint of the history the model saw
    Column("params", JSON, nullable=False),
    Column("summary", JSON),
    Column("error", String(1000)),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("created_by", String(120), nullable=False),
    Index("ix_forecast_runs_kind_started", "kind", "started_at"),
)

demand_forecasts = Table(
    "demand_forecasts",
    metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("mean", Float, nullable=False),  # units: an estimate, not money
    Column("low", Float, nullable=False),  # 10th percentile
    Column("high", Float, nullable=False),  # 90th percentile
)

presale_forecasts = Table(
    "presale_forecasts",
    metadata,
    Column("run_id", Integer, ForeignKey("forecast_runs.id"), primary_key=True),
    Column("campaign_id", Integer, ForeignKey("presale_campaigns.id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("days_before", Integer, nullable=False),  # days left in the deposit window when forecast
    Column("committed", Integer, nullable=False),  # deposits held at that moment
    Column("point", Float, nullable=False),  # final units expected to pay the balance
    Column("low", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("explanation", String(1000), nullable=False),
    Column("inputs", JSON, nullable=False),
)

replenishment_suggestions = Table(  # 补货建议
    "replenishment_suggestions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("forecast_runs.id"), nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("supplier_id", Integer, ForeignKey("suppliers.id")),
    Column("kind", String(20), nullable=False),  # reorder | presale (newsvendor for a campaign)
    Column("quantity", Integer, nullable=False),
    Column("unit_cost", Money, nullable=False),
    Column("explanation", String(1500), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # open | ordered | dismissed | superseded
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id")),
    Column("created_at", UtcDateTime, nullable=False),
    Index("ix_replenishment_suggestions_status", "status", "id"),
)

alerts = Table(  # 预警: kept open while the condition holds, with why and what to do
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(200), nullable=False, unique=True),  # kind:sku:warehouse[:campaign]: one open per cause
    Column("kind", String(40), nullable=False),
    Column("severity", String(10), nullable=False),  # info | warning | critical
    Column("sku_id", Integer, ForeignKey("skus.id")),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id")),
    Column("campaign_id", Integer, ForeignKey("presale_campaigns.id")),
    Column("money_at_stake", Money, nullable=False),
    Column("title", String(300), nullable=False),
    Column("reason", String(1500), nullable=False),
    Column("action", String(600), nullable=False),
    Column("details", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # open | resolved
    Column("run_id", Integer, ForeignKey("forecast_runs.id")),
    Column("first_seen_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("resolved_at", UtcDateTime),
    Index("ix_alerts_status_kind", "status", "kind"),
)

# --- Purchasing (drafts from suggestions; the supply-chain issue builds the rest of the lifecycle) ---------------

suppliers = Table(
    "suppliers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("lead_time_days", Numeric(6, 2), nullable=False),
    Column("lead_time_std_days", Numeric(6, 2), nullable=False),
    *_audit_columns(),
    # 账期: days after goods arrive (or, before they do, after the promised date) that the supplier is paid;
    # 0 = on receipt. Read by the cash-gap report (migration 0012).
    Column("payment_terms_days", Integer, nullable=False, default=0, server_default="0"),
)

supplier_skus = Table(
    "supplier_skus",
    metadata,
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("unit_cost", Money, nullable=False),
    Column("min_order", Integer, nullable=False),
    Column("lead_time_days", Numeric(6, 2), nullable=False),
)

purchase_orders = Table(
    "purchase_orders",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("status", String(20), nullable=False),  # draft | sent | confirmed | partly_received | received | ...
    Column("note", String(1000), nullable=False),
    *_audit_columns(),
)

purchase_order_lines = Table(
    "purchase_order_lines",
    metadata,
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_cost", Money, nullable=False),
    Column("promised_on", Date),
    Column("received_quantity", Integer, nullable=False),
    Column("suggestion_id", Integer, ForeignKey("replenishment_suggestions.id")),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_purchase_order_lines_sku", "sku_id"),
)

# --- Outbound webhooks (alerts and, later, any event a 3PL or another system subscribes to) -----------------------

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(400), nullable=False),  # encrypted; signs each delivery (HMAC-SHA256)
    Column("events", String(500), nullable=False),  # comma-separated event names, or *
    Column("active", Boolean, nullable=False),
    *_audit_columns(),
)

webhook_deliveries = Table(  # the outbox: written in the same transaction as the event, sent by a job
    "webhook_deliveries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("subscription_id", Integer, ForeignKey("webhook_subscriptions.id"), nullable=False),
    Column("event", String(60), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | failed (gave up)
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", String(500), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

# --- Supply chain: purchase order history, advance shipping notices, receipts, costs, carrier traces -------------

purchase_order_events = Table(  # every change and every supplier update, timestamped, as the merchant sees it
    "purchase_order_events",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("line_no", Integer),  # null: the whole order
    Column("kind", String(30), nullable=False),  # sent | confirmed | milestone | asn | rescheduled | received | ...
    Column("milestone", String(30)),  # materials_in | in_production | qc_passed | shipped
    Column("promised_on", Date),  # a (re)promised date, when the event carries one
    Column("note", String(1000), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Index("ix_purchase_order_events_po", "purchase_order_id", "id"),
)

purchase_order_risks = Table(  # 交期风险: a line whose promised date is unlikely (at_risk) or past (late)
    "purchase_order_risks",
    metadata,
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("status", String(20), nullable=False),  # on_track | at_risk | late
    Column("reason", String(1000), nullable=False),
    Column("checked_at", UtcDateTime, nullable=False),
)

asns = Table(  # 发货通知 (ASN): what a supplier says it shipped, and when it should arrive
    "asns",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("shipped_at", UtcDateTime, nullable=False),
    Column("expected_on", Date, nullable=False),
    Column("carrier", String(20)),
    Column("tracking_no", String(40)),
    Column("status", String(20), nullable=False),  # in_transit | received
    *_audit_columns(),
)

asn_lines = Table(
    "asn_lines",
    metadata,
    Column("asn_id", Integer, ForeignKey("asns.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),  # the purchase order line it ships
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("quantity", Integer, nullable=False),
)

receipts = Table(  # 入库单: goods received against a purchase order (or one of its ASNs)
    "receipts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("purchase_order_id", Integer, ForeignKey("purchase_orders.id"), nullable=False),
    Column("asn_id", Integer, ForeignKey("asns.id")),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("received_at", UtcDateTime, nullable=False),
    Column("received_by", String(120), nullable=False),
)

receipt_lines = Table(
    "receipt_lines",
    metadata,
    Column("receipt_id", Integer, ForeignKey("receipts.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),  # the purchase order line
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("accepted", Integer, nullable=False),  # into sellable stock
    Column("damaged", Integer, nullable=False),  # into the damaged bin, not sellable
    Column("bin_id", Integer, ForeignKey("bins.id")),
    Column("unit_cost", Money, nullable=False),  # the purchase price
    Column("landed_cost", Money, nullable=False),  # this line's share of freight, duties and other costs
)

landed_costs = Table(  # 到岸成本: freight, duties and other costs of a receipt, spread over its lines
    "landed_costs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("receipt_id", Integer, ForeignKey("receipts.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # freight | duty | insurance | other
    Column("amount", Money, nullable=False),
    Column("basis", String(20), nullable=False),  # value | quantity | weight
)

stock_costs = Table(  # moving weighted average cost (移动加权平均) per SKU × warehouse
    "stock_costs",
    metadata,
    Column("sku_id", Integer, ForeignKey("skus.id"), primary_key=True),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), primary_key=True),
    Column("average_cost", Numeric(18, 6), nullable=False),  # yuan per unit, kept finer than a fen
    Column("updated_at", UtcDateTime, nullable=False),
)

tracking_traces = Table(  # 物流轨迹: each node once, whether pulled from the carrier or pushed by it
    "tracking_traces",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("trace_key", String(64), nullable=False, unique=True),  # hash of carrier, number, time and text
    Column("carrier", String(20), nullable=False),
    Column("tracking_no", String(40), nullable=False),
    Column("parcel_code", String(40), ForeignKey("parcels.code")),
    Column("at", UtcDateTime, nullable=False),
    Column("state", String(20), nullable=False),  # collected | in_transit | delivering | delivered | exception | ...
    Column("state_code", String(20), nullable=False),  # the aggregator's own code, as sent
    Column("location", String(200), nullable=False),
    Column("description", String(1000), nullable=False),
    Column("source", String(10), nullable=False),  # poll | push
    Column("received_at", UtcDateTime, nullable=False),
    Index("ix_tracking_traces_number", "carrier", "tracking_no", "at"),
)

# --- Finance: money in and out per order, and revenue and cost as goods ship and come back -------------------------

payment_entries = Table(  # 收支流水: every amount paid, refunded or charged, one immutable row each
    "payment_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entry_key", String(160), nullable=False, unique=True),  # chosen by the caller: a retry is a no-op
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("order_id", BigId, ForeignKey("orders.id")),  # null: a charge not tied to one order
    # deposit | balance | full_payment | refund | platform_fee | commission | adjustment
    Column("kind", String(20), nullable=False),
    Column("amount", Money, nullable=False),  # signed: + money in to the merchant, - money out
    Column("channel", String(20), nullable=False),  # alipay | wechat | douyin | pinduoduo | jd | shopify | bank
    Column("external_ref", String(80), nullable=False),  # the payment channel's trade or refund number
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("source", String(20), nullable=False),  # platform | aftersales | settlement | manual
    Column("note", String(300), nullable=False, default="", server_default=""),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    Index("ix_payment_entries_shop_at", "shop_id", "occurred_at"),
    Index("ix_payment_entries_order", "order_id"),
    Index("ix_payment_entries_external_ref", "external_ref"),
    Index("ix_payment_entries_at", "occurred_at"),
)

sales_postings = Table(  # 收入成本明细: revenue and cost of goods as they ship, come back or are refunded
    "sales_postings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("posting_key", String(160), nullable=False, unique=True),  # e.g. ship:<parcel>:<order>:<line>
    Column("kind", String(20), nullable=False),  # shipment | return | refund_allowance (refund, goods kept)
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku_id", Integer, ForeignKey("skus.id"), nullable=False),
    Column("warehouse_id", Integer, ForeignKey("warehouses.id"), nullable=False),
    Column("quantity", Integer, nullable=False),  # signed: + shipped, - returned, 0 for an allowance
    Column("revenue", Money, nullable=False),  # signed, the line's paid amount share
    Column("unit_cost", Numeric(18, 6), nullable=False),  # moving average cost at that moment
    Column("cost", Money, nullable=False),  # signed, quantity x unit_cost rounded to the fen
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    Index("ix_sales_postings_shop_at", "shop_id", "occurred_at"),
    Index("ix_sales_postings_sku_at", "sku_id", "occurred_at"),
    Index("ix_sales_postings_warehouse_at", "warehouse_id", "occurred_at"),
    Index("ix_sales_postings_order", "order_id"),
)

# --- Supplier contacts (0006): a supplier's people, one of them primary ------------------------------------------

supplier_contacts = Table(  # 联系人: 业务 / 财务 / 跟单 ...
    "supplier_contacts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("supplier_id", Integer, ForeignKey("suppliers.id"), nullable=False),
    Column("name", String(120), nullable=False),
    Column("role", String(40), nullable=False),
    Column("phone", String(40), nullable=False),
    Column("email", String(200), nullable=False),
    Column("is_primary", Boolean, nullable=False, default=False, server_default=false()),
    *_audit_columns(),
    Index("ix_supplier_contacts_supplier", "supplier_id", "id"),
)

# --- Accounting vouchers: the chart-of-accounts mapping and summary vouchers for Kingdee / Yonyou -----------------

account_mappings = Table(  # 科目映射: which account an accounting role books to, per shop and payment channel
    "account_mappings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("role", String(30), nullable=False),  # domain/chart_of_accounts.AccountRole
    Column("shop", String(64), nullable=False),  # shop code; "" = every shop
    Column("channel", String(20), nullable=False),  # payment channel; "" = every channel
    Column("account_code", String(40), nullable=False),
    Column("account_name", String(80), nullable=False),
    Column("auxiliary", String(60), nullable=False),  # comma list of auxiliary kinds: customer, department
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(120), nullable=False),
    UniqueConstraint("role", "shop", "channel", name="uq_account_mappings_role_shop_channel"),
)

vouchers = Table(  # 凭证: one summary voucher per shop × Beijing day × business type (and its supplements)
    "vouchers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("source_key", String(120), nullable=False),  # <shop>/<day>/<business type>
    Column("sequence", Integer, nullable=False),  # 0 the day's voucher; 1, 2, ... supplements for late facts
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("business_date", Date, nullable=False),  # the Beijing day, also the voucher date
    Column("business_type", String(20), nullable=False),
    Column("fiscal_year", Integer, nullable=False),
    Column("period", Integer, nullable=False),
    Column("word", String(4), nullable=False),  # 凭证字, 记
    Column("number", Integer, nullable=False),  # 凭证号 within the period
    Column("attachments", Integer, nullable=False),  # facts summarised
    Column("preparer", String(120), nullable=False),
    Column("basis", JSON, nullable=False),  # component -> fact amount (yuan string) booked by this voucher
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    UniqueConstraint("source_key", "sequence", name="uq_vouchers_source_key_sequence"),
    UniqueConstraint("fiscal_year", "period", "word", "number", name="uq_vouchers_number"),
    Index("ix_vouchers_date_shop", "business_date", "shop_id"),
)

voucher_lines = Table(  # 分录
    "voucher_lines",
    metadata,
    Column("voucher_id", BigId, ForeignKey("vouchers.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),  # 0-based, as K/3 numbers 分录序号
    Column("summary", String(200), nullable=False),
    Column("account_code", String(40), nullable=False),
    Column("account_name", String(80), nullable=False),
    Column("debit", Money, nullable=False),
    Column("credit", Money, nullable=False),
    Column("auxiliary", JSON, nullable=False),  # [{kind, code, name}]
)

# --- Receivables: wholesale and distributor customers on account (挂账), their credit and their ledger ----------------

customers = Table(  # 客户: wholesale and distributor customers who buy on account
    "customers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),  # wholesale | distributor
    Column("credit_limit", Money, nullable=False),  # 信用额度
    Column("payment_terms_days", Integer, nullable=False),  # 账期: an invoice is due this many days after it
    Column("active", Boolean, nullable=False),
    Column("note", String(1000), nullable=False, default="", server_default=""),
    *_audit_columns(),
    Column("updated_at", UtcDateTime, nullable=False),
)

customer_accounts = Table(  # which platform buyer is which customer: orders carry the buyer's blind index
    "customer_accounts",
    metadata,
    Column("shop_id", Integer, ForeignKey("shops.id"), primary_key=True),
    Column("buyer_index", String(32), primary_key=True),  # blind index of the platform buyer id, as on orders
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("buyer_label", String(120), nullable=False),  # the buyer id masked, so staff recognise the link
    *_audit_columns(),
    Index("ix_customer_accounts_customer", "customer_id"),
)

ar_entries = Table(  # 应收明细: invoices, payments, credit notes and write-offs, one immutable row each
    "ar_entries",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("entry_key", String(160), nullable=False, unique=True),  # chosen by the caller: a retry is a no-op
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # invoice | payment | credit_note | write_off
    Column("amount", Money, nullable=False),  # signed: + owed by the customer, - paid or credited
    Column("order_id", BigId, ForeignKey("orders.id")),  # the order invoiced (or credited), if any
    Column("due_at", UtcDateTime),  # invoices: occurred_at + the customer's terms at invoicing
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("note", String(300), nullable=False, default="", server_default=""),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    Index("ix_ar_entries_customer_at", "customer_id", "occurred_at"),
    Index("ix_ar_entries_order", "order_id"),
)

# --- Settlement reconciliation (对账): platform bills as imported, their lines, and what did not match ------------

settlement_imports = Table(  # 对账单导入: one row per bill file; the same file (sha256) imported twice is one import
    "settlement_imports",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("channel", String(20), nullable=False),  # alipay | wechat | douyin | pinduoduo, as payment_entries
    Column("format", String(30), nullable=False),  # alipay_account | alipay_trade | wechat_trade | ...
    Column("file_name", String(255), nullable=False),
    Column("shop_ids", JSON, nullable=False),  # the shop(s) whose money the channel account holds
    Column("period_start", UtcDateTime, nullable=False),
    Column("period_end", UtcDateTime, nullable=False),  # exclusive
    Column("line_count", Integer, nullable=False),
    Column("matched_count", Integer, nullable=False),  # bill lines that agree with the ledger
    Column("finding_count", Integer, nullable=False),
    Column("charges_recorded", Integer, nullable=False),  # fees and commissions written into payment_entries
    Column("imported_at", UtcDateTime, nullable=False),
    Column("imported_by", String(120), nullable=False),
    Index("ix_settlement_imports_channel_period", "channel", "period_start"),
)

settlement_lines = Table(  # 对账单明细: every line of an imported bill, as parsed, with the row as the file had it
    "settlement_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("import_id", BigId, ForeignKey("settlement_imports.id"), nullable=False),
    Column("line_no", Integer, nullable=False),  # 1-based, in file order
    Column("kind", String(20), nullable=False),  # payment | refund | fee | commission | withdrawal | other
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("external_ref", String(80), nullable=False),
    Column("order_ref", String(80), nullable=False),
    Column("line_ref", String(200), nullable=False),
    Column("amount", Money, nullable=False),  # signed, merchant's view
    Column("fee", Money, nullable=False),
    Column("raw", JSON, nullable=False),
    UniqueConstraint("import_id", "line_no", name="uq_settlement_lines_import_line"),
    Index("ix_settlement_lines_external_ref", "external_ref"),
)

reconciliation_findings = Table(  # 对账差异: missing, extra or mismatched money, until a person resolves it
    "reconciliation_findings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("import_id", BigId, ForeignKey("settlement_imports.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # missing | extra | mismatch
    Column("amount_kind", String(20), nullable=False),  # payment | refund | fee | commission | other
    Column("external_ref", String(80), nullable=False),
    Column("order_ref", String(80), nullable=False),
    Column("expected", Money),  # the ledger's sum; null when the ledger has nothing
    Column("actual", Money),  # the bill's sum; null when the bill has nothing
    Column("difference", Money, nullable=False),  # bill minus ledger
    Column("line_nos", JSON, nullable=False),
    Column("entry_ids", JSON, nullable=False),
    Column("explanation", String(600), nullable=False),
    Column("resolved_at", UtcDateTime),
    Column("resolved_by", String(120)),
    Column("resolution_note", String(1000)),
    Index("ix_reconciliation_findings_import", "import_id", "kind"),
)

# --- After-sales (售后): refund-only and return-and-refund cases, and each shop's deposit refund rule (0008) -------

aftersales_settings = Table(  # 售后设置 per shop
    "aftersales_settings",
    metadata,
    Column("shop_id", Integer, ForeignKey("shops.id"), primary_key=True),
    Column("deposit_policy", String(10), nullable=False),  # keep (定金不退, the default) | refund (定金可退)
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", String(120), nullable=False),
)

aftersales_cases = Table(  # 售后单
    "aftersales_cases",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("case_key", String(120), nullable=False, unique=True),  # chosen by the caller: a retry is a no-op
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("order_id", BigId, ForeignKey("orders.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # refund_only | return_and_refund
    Column("state", String(20), nullable=False),  # requested | approved | awaiting_return | returned | refunded | ...
    Column("cause", String(10), nullable=False),  # buyer | merchant
    Column("reason", String(300), nullable=False),
    Column("before_shipment", Boolean, nullable=False),  # a whole-order refund before any goods left
    Column("refund_amount", Money, nullable=False),  # what the buyer gets back: the sum of the lines' amounts
    Column("refund_ref", String(80), nullable=False, default="", server_default=""),  # the channel's refund no.
    Column("return_warehouse_id", Integer, ForeignKey("warehouses.id")),
    Column("return_bin", String(64)),  # where the returned goods were put (sellable or 残次品区)
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("refunded_at", UtcDateTime),
    Index("ix_aftersales_cases_order", "order_id"),
    Index("ix_aftersales_cases_shop_state", "shop_id", "state", "updated_at"),
)

aftersales_lines = Table(  # 售后明细: per order line, the units coming back (0: refund only) and the refund
    "aftersales_lines",
    metadata,
    Column("case_id", BigId, ForeignKey("aftersales_cases.id"), primary_key=True),
    Column("line_no", Integer, primary_key=True),
    Column("quantity", Integer, nullable=False),
    Column("amount", Money, nullable=False),
)
