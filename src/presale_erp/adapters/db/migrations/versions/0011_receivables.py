"""receivables: wholesale and distributor customers on account, their platform buyers, and the AR ledger

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import presale_erp.adapters.db.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = presale_erp.adapters.db.types.UtcDateTime(timezone=True)
Money = presale_erp.adapters.db.types.MoneyFen()


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("credit_limit", Money, nullable=False),
        sa.Column("payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=1000), server_default="", nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("code", name=op.f("uq_customers_code")),
    )
    op.create_table(
        "customer_accounts",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("buyer_index", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("buyer_label", sa.String(length=120), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_accounts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_customer_accounts_shop_id_shops")),
        sa.PrimaryKeyConstraint("shop_id", "buyer_index", name=op.f("pk_customer_accounts")),
    )
    op.create_index("ix_customer_accounts_customer", "customer_accounts", ["customer_id"])
    op.create_table(
        "ar_entries",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("entry_key", sa.String(length=160), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("order_id", BigId, nullable=True),
        sa.Column("due_at", UtcDateTime, nullable=True),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("note", sa.String(length=300), server_default="", nullable=False),
        sa.Column("recorded_at", UtcDateTime, nullable=False),
        sa.Column("recorded_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_ar_entries_customer_id_customers")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_ar_entries_order_id_orders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ar_entries")),
        sa.UniqueConstraint("entry_key", name=op.f("uq_ar_entries_entry_key")),
    )
    op.create_index("ix_ar_entries_customer_at", "ar_entries", ["customer_id", "occurred_at"])
    op.create_index("ix_ar_entries_order", "ar_entries", ["order_id"])


def downgrade() -> None:
    op.drop_table("ar_entries")
    op.drop_table("customer_accounts")
    op.drop_table("customers")
