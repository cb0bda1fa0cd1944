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
