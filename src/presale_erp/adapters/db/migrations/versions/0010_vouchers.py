"""vouchers: the chart-of-accounts mapping, summary vouchers and their lines

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 04:45:00

The mapping table starts empty: until someone saves a mapping, the built-in defaults of
domain/chart_of_accounts.py are used, and the first voucher generation writes them here (first use), so the
accounts a voucher was booked to can always be read back from the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import presale_erp.adapters.db.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = presale_erp.adapters.db.types.UtcDateTime(timezone=True)
Money = presale_erp.adapters.db.types.MoneyFen()


def upgrade() -> None:
    op.create_table(
        "account_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=30), nullable=False),
        sa.Column("shop", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("account_code", sa.String(length=40), nullable=False),
        sa.Column("account_name", sa.String(length=80), nullable=False),
        sa.Column("auxiliary", sa.String(length=60), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_mappings")),
        sa.UniqueConstraint("role", "shop", "channel", name="uq_account_mappings_role_shop_channel"),
    )
    op.create_table(
        "vouchers",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("source_key", sa.String(length=120), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("shop_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("business_type", sa.String(length=20), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("word", sa.String(length=4), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attachments", sa.Integer(), nullable=False),
        sa.Column("preparer", sa.String(length=120), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(["shop_id"], ["shops.id"], name=op.f("fk_vouchers_shop_id_shops")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vouchers")),
        sa.UniqueConstraint("source_key", "sequence", name="uq_vouchers_source_key_sequence"),
        sa.UniqueConstraint("fiscal_year", "period", "word", "number", name="uq_vouchers_number"),
    )
    op.create_index("ix_vouchers_date_shop", "vouchers", ["business_date", "shop_id"])
    op.create_table(
        "voucher_lines",
        sa.Column("voucher_id", BigId, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("summary", sa.String(length=200), nullable=False),
        sa.Column("account_code", sa.String(length=40), nullable=False),
        sa.Column("account_name", sa.String(length=80), nullable=False),
        sa.Column("debit", Money, nullable=False),
        sa.Column("credit", Money, nullable=False),
        sa.Column("auxiliary", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["voucher_id"], ["vouchers.id"], name=op.f("fk_voucher_lines_voucher_id_vouchers")),
        sa.PrimaryKeyConstraint("voucher_id", "line_no", name=op.f("pk_voucher_lines")),
    )


def downgrade() -> None:
    op.drop_table("voucher_lines")
    op.drop_table("vouchers")
    op.drop_table("account_mappings")
