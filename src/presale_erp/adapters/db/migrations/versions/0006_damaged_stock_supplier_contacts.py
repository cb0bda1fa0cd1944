"""damaged stock and supplier contacts: non-sellable bins and a damaged counter per position; suppliers' contacts
as a list (the old one-line `contact` becomes each supplier's first, primary contact)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 04:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import presale_erp.adapters.db.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UtcDateTime = presale_erp.adapters.db.types.UtcDateTime(timezone=True)
MIGRATED_BY = "migration 0006"

# Light table handles for the data steps (the real definitions may have moved on since).
_suppliers = sa.table("suppliers", sa.column("id", sa.Integer()), sa.column("contact", sa.String()))
_contacts = sa.table(
    "supplier_contacts",
    sa.column("id", sa.Integer()),
    sa.column("supplier_id", sa.Integer()),
    sa.column("name", sa.String()),
    sa.column("role", sa.String()),
    sa.column("phone", sa.String()),
    sa.column("email", sa.String()),
    sa.column("is_primary", sa.Boolean()),
    sa.column("created_at", UtcDateTime),
    sa.column("created_by", sa.String()),
)


def upgrade() -> None:
    # Added columns need no table rebuild on SQLite (a rebuild of a parent table trips its foreign keys).
    op.add_column("bins", sa.Column("sellable", sa.Boolean(), server_default=sa.true(), nullable=False))
    if op.get_context().dialect.name == "sqlite":
        # SQLite adds a table constraint only by rebuilding the table; a column constraint comes with the column.
        op.execute(
            "ALTER TABLE stock_positions ADD COLUMN damaged INTEGER DEFAULT '0' NOT NULL "
            "CONSTRAINT ck_stock_positions_damaged_not_negative CHECK (damaged >= 0)"
        )
    else:
        op.add_column("stock_positions", sa.Column("damaged", sa.Integer(), server_default="0", nullable=False))
        op.create_check_constraint(op.f("ck_stock_positions_damaged_not_negative"), "stock_positions", "damaged >= 0")
    op.create_table(
        "supplier_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("phone", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=200), nullable=False),
        sa.Column("is_primary", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_contacts_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_contacts")),
    )
    op.create_index("ix_supplier_contacts_supplier", "supplier_contacts", ["supplier_id", "id"])
    # The one-line contact each supplier had becomes its primary contact, kept as written (as the name).
    op.execute(
        _contacts.insert().from_select(
            ["supplier_id", "name", "role", "phone", "email", "is_primary", "created_at", "created_by"],
            sa.select(
                _suppliers.c.id,
                sa.func.substr(sa.func.trim(_suppliers.c.contact), 1, 120),
                sa.literal(""),
                sa.literal(""),
                sa.literal(""),
                sa.true(),
                sa.literal(datetime.now(UTC), UtcDateTime),
                sa.literal(MIGRATED_BY),
            ).where(sa.func.trim(_suppliers.c.contact) != ""),
        )
    )
    # SQLite (3.35+) drops a plain column in place; no rebuild of the suppliers table is needed.
    op.drop_column("suppliers", "contact")


def downgrade() -> None:
    op.add_column("suppliers", sa.Column("contact", sa.String(length=200), server_default="", nullable=False))
    primary = (
        sa.select(_contacts.c.name)
        .where(_contacts.c.supplier_id == _suppliers.c.id, _contacts.c.is_primary == sa.true())
        .order_by(_contacts.c.id)
        .limit(1)
        .scalar_subquery()
    )
    op.execute(_suppliers.update().values(contact=sa.func.coalesce(primary, "")))
    op.drop_index("ix_supplier_contacts_supplier", table_name="supplier_contacts")
    op.drop_table("supplier_contacts")
    if op.get_context().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_stock_positions_damaged_not_negative"), "stock_positions", type_="check")
    op.drop_column("stock_positions", "damaged")
    op.drop_column("bins", "sellable")
