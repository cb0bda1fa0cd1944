"""after-sales: refund-only and return-and-refund cases, their lines, and each shop's deposit refund rule

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 04:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import presale_erp.adapters.db.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = presale_erp.adapters.db.types.UtcDateTime(timezone=True)
Money = presale_erp.adapters.db.types.MoneyFen()


def upgrade() -> None:
    op.create_table(
        "aftersales_settings",
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("deposit_policy", sa.String(length=10), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_aftersales_settings_shop_id_shops")),
        sa.PrimaryKeyConstraint("shop_id", name=op.f("pk_aftersales_settings")),
    )
    op.create_table(
        "aftersales_cases",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("case_key", sa.String(length=120), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("order_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=300), nullable=False),
        sa.Column("before_shipment", sa.Boolean(), nullable=False),
        sa.Column("refund_amount", Money, nullable=False),
        sa.Column("refund_ref", sa.String(length=80), server_default="", nullable=False),
        sa.Column("return_warehouse_id", sa.Integer(), nullable=True),
        sa.Column("return_bin", sa.String(length=64), nullable=True),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("refunded_at", UtcDateTime, nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_aftersales_cases_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["return_warehouse_id"],
            ["warehouses.id"],
            name=op.f("fk_aftersales_cases_return_warehouse_id_warehouses"),
        ),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_aftersales_cases_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aftersales_cases")),
        sa.UniqueConstraint("case_key", name=op.f("uq_aftersales_cases_case_key")),
    )
    op.create_index("ix_aftersales_cases_order", "aftersales_cases", ["order_id"])
    op.create_index("ix_aftersales_cases_shop_state", "aftersales_cases", ["shop_id", "state", "updated_at"])
    op.create_table(
        "aftersales_lines",
        sa.Column("case_id", BigId, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["aftersales_cases.id"], name=op.f("fk_aftersales_lines_case_id_aftersales_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", "line_no", name=op.f("pk_aftersales_lines")),
    )


def downgrade() -> None:
    op.drop_table("aftersales_lines")
    op.drop_table("aftersales_cases")
    op.drop_table("aftersales_settings")
