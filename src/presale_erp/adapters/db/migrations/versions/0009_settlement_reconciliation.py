"""settlement reconciliation: imported platform bills, their lines, and the differences found (对账)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import presale_erp.adapters.db.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = presale_erp.adapters.db.types.UtcDateTime(timezone=True)
Money = presale_erp.adapters.db.types.MoneyFen()


def upgrade() -> None:
    op.create_table(
        "settlement_imports",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("format", sa.String(length=30), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("shop_ids", sa.JSON(), nullable=False),
        sa.Column("period_start", UtcDateTime, nullable=False),
        sa.Column("period_end", UtcDateTime, nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("finding_count", sa.Integer(), nullable=False),
        sa.Column("charges_recorded", sa.Integer(), nullable=False),
        sa.Column("imported_at", UtcDateTime, nullable=False),
        sa.Column("imported_by", sa.String(length=120), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_settlement_imports_sha256")),
    )
    op.create_index("ix_settlement_imports_channel_period", "settlement_imports", ["channel", "period_start"])
    op.create_table(
        "settlement_lines",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("import_id", BigId, nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("occurred_at", UtcDateTime, nullable=False),
        sa.Column("external_ref", sa.String(length=80), nullable=False),
        sa.Column("order_ref", sa.String(length=80), nullable=False),
        sa.Column("line_ref", sa.String(length=200), nullable=False),
        sa.Column("amount", Money, nullable=False),
        sa.Column("fee", Money, nullable=False),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["settlement_imports.id"], name=op.f("fk_settlement_lines_import_id_settlement_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_lines")),
        sa.UniqueConstraint("import_id", "line_no", name="uq_settlement_lines_import_line"),
    )
    op.create_index("ix_settlement_lines_external_ref", "settlement_lines", ["external_ref"])
    op.create_table(
        "reconciliation_findings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("import_id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_kind", sa.String(length=20), nullable=False),
        sa.Column("external_ref", sa.String(length=80), nullable=False),
        sa.Column("order_ref", sa.String(length=80), nullable=False),
        sa.Column("expected", Money, nullable=True),
        sa.Column("actual", Money, nullable=True),
        sa.Column("difference", Money, nullable=False),
        sa.Column("line_nos", sa.JSON(), nullable=False),
        sa.Column("entry_ids", sa.JSON(), nullable=False),
        sa.Column("explanation", sa.String(length=600), nullable=False),
        sa.Column("resolved_at", UtcDateTime, nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("resolution_note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["settlement_imports.id"],
            name=op.f("fk_reconciliation_findings_import_id_settlement_imports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation_findings")),
    )
    op.create_index("ix_reconciliation_findings_import", "reconciliation_findings", ["import_id", "kind"])


def downgrade() -> None:
    op.drop_table("reconciliation_findings")
    op.drop_table("settlement_lines")
    op.drop_table("settlement_imports")
