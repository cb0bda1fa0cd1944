"""Migration 0006 on a database with data (SQLite and PostgreSQL): existing bins stay sellable, existing positions
get no damaged units, and each supplier's old one-line contact becomes its primary contact."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from presale_erp.adapters.db import migrate
from tests import builders


def _downgrade_to_0005(db) -> None:
    config = migrate.alembic_config(db.engine.url.render_as_string(hide_password=False))
    with db.engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")


def test_upgrading_keeps_bins_and_positions_and_carries_contacts_over(db):
    builders.stocked(db, 7)  # warehouse HZ, bins, 7 units of TEA-250G in A-01
    _downgrade_to_0005(db)
    at = datetime.now(UTC).replace(tzinfo=None)
    with db.engine.begin() as conn:
        for code, contact in (("WESTLAKE", "  王芳 13800001111  "), ("ANJI", "")):
            conn.execute(
                text(
                    "INSERT INTO suppliers (code, name, contact, lead_time_days, lead_time_std_days, created_at, "
                    "created_by) VALUES (:code, :code, :contact, 14, 3, :at, 'test')"
                ),
                {"code": code, "contact": contact, "at": at},
            )

    migrate.upgrade(db.engine)

    with db.engine.connect() as conn:
        contacts = conn.execute(
            text(
                "SELECT s.code, c.name, c.role, c.phone, c.is_primary FROM supplier_contacts c "
                "JOIN suppliers s ON s.id = c.supplier_id ORDER BY s.code"
            )
        ).all()
        bins = conn.execute(text("SELECT code, sellable FROM bins ORDER BY code")).all()
        positions = conn.execute(text("SELECT on_hand, damaged FROM stock_positions")).all()
    assert [(s, n, r, p, bool(primary)) for s, n, r, p, primary in contacts] == [
        ("WESTLAKE", "王芳 13800001111", "", "", True)
    ]
    assert [(code, bool(sellable)) for code, sellable in bins] == [("A-01", True), ("A-02", True)]
    assert [tuple(p) for p in positions] == [(7, 0)]


def test_a_negative_damaged_counter_is_refused_by_the_database(db):
    builders.stocked(db, 1)

    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE stock_positions SET damaged = -1"))
