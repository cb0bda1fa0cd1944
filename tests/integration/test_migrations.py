"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from presale_erp.adapters.db import migrate
from presale_erp.adapters.db.tables import metadata


def test_migrations_and_tables_agree(db):
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)

    assert differences == []
    assert migrate.current_revision(db.engine) is not None


def test_upgrading_a_database_that_already_has_shops_keeps_them(db):
    """0002 adds columns to shops; rows made under 0001 must survive the upgrade on both databases."""
    from datetime import UTC, datetime

    from alembic import command
    from sqlalchemy import text

    config = migrate.alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO shops (code, name, platform, platform_shop_id, stock_lock_policy, active, "
                "created_at, created_by) VALUES ('OLD', 'old shop', 'jd', 'jd-1', 'on_payment', :t, :at, "
                "'test')"
            ),
            {"t": True, "at": datetime.now(UTC).replace(tzinfo=None)},
        )

    migrate.upgrade(db.engine)

    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT financial_review FROM shops WHERE code = 'OLD'")).scalar_one() in (False, 0)
