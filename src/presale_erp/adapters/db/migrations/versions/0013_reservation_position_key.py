"""reservations refer to their stock position (one foreign-key check per row instead of two); only leases are
indexed by expiry (a flash sale's reservations have none); PostgreSQL: presale_erp_require, which fails a
statement (and so its transaction) as a serialization failure when a condition does not hold: the reservation
desk's compare-and-set, written after the rows it guards

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LEASES = sa.text("expires_at IS NOT NULL")
REQUIRE = """
CREATE FUNCTION presale_erp_require(ok boolean, why text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = why;
    END IF;
    RETURN true;
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(REQUIRE)
    with op.batch_alter_table("reservations") as batch:
        batch.drop_constraint("fk_reservations_sku_id_skus", type_="foreignkey")
        batch.drop_constraint("fk_reservations_warehouse_id_warehouses", type_="foreignkey")
        batch.create_foreign_key(
            op.f("fk_reservations_sku_id_stock_positions"),
            "stock_positions",
            ["sku_id", "warehouse_id"],
            ["sku_id", "warehouse_id"],
        )
        batch.drop_index("ix_reservations_status_expires")
        batch.create_index(
            "ix_reservations_status_expires",
            ["status", "expires_at"],
            postgresql_where=LEASES,
            sqlite_where=LEASES,
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION presale_erp_require(boolean, text)")
    with op.batch_alter_table("reservations") as batch:
        batch.drop_index("ix_reservations_status_expires")
        batch.create_index("ix_reservations_status_expires", ["status", "expires_at"])
        batch.drop_constraint(op.f("fk_reservations_sku_id_stock_positions"), type_="foreignkey")
        batch.create_foreign_key(op.f("fk_reservations_sku_id_skus"), "skus", ["sku_id"], ["id"])
        batch.create_foreign_key(
            op.f("fk_reservations_warehouse_id_warehouses"), "warehouses", ["warehouse_id"], ["id"]
        )
