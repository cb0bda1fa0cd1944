"""finance: the payments ledger and sales postings (revenue and cost as goods ship and come back)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import presale_erp.adapters.db.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = presale_erp.adapters.db.types.UtcDateTime(timezone=True)
Money = presale_erp.adapters.db.types.MoneyFen()


def upgrade() -> None:
    op.create_table(
        "payment_entries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entry_key", sa.String(length=160), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", BigId, nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("external_ref", sa.String(length=80), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=300), server_default="", nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_payment_entries_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_payment_entries_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_entries")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_payment_entries_entry_key")),
    )
    op.create_index("ix_payment_entries_shop_at", "payment_entries", ["shop_id", "occurred_at"])
    op.create_index("ix_payment_entries_order", "payment_entries", ["order_id"])
    op.create_index("ix_payment_entries_external_ref", "payment_entries", ["external_ref"])
    op.create_index("ix_payment_entries_at", "payment_entries", ["occurred_at"])
    op.create_table(
        "sales_postings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("posting_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku_id", sa.Integer(), nullable=False),
        sa.Column("warehouse_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("revenue", Money, nullable=False),
        sa.Column("unit_cost", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("cost", Money, nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_sales_postings_order_id_orders")),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_sales_postings_shop_id_shops")),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"], name=op.f("fk_sales_postings_sku_id_skus")),
        sa.ForeignKeyConstraint(
            ["warehouse_id"], ["warehouses.id"], name=op.f("fk_sales_postings_warehouse_id_warehouses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_postings")),
        sa.UniqueConstraint("posting_key", name=op.f("uq_sales_postings_posting_key")),
    )
    op.create_index("ix_sales_postings_shop_at", "sales_postings", ["shop_id", "occurred_at"])
    op.create_index("ix_sales_postings_sku_at", "sales_postings", ["sku_id", "occurred_at"])
    op.create_index("ix_sales_postings_warehouse_at", "sales_postings", ["warehouse_id", "occurred_at"])
    op.create_index("ix_sales_postings_order", "sales_postings", ["order_id"])


def downgrade() -> None:
    op.drop_table("sales_postings")
    op.drop_table("payment_entries")
