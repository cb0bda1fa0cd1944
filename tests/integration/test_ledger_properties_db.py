"""The ledger property on the real databases: random sequences of movements and reservations through the
services keep every counter equal to the movements and reservations behind it (SQLite and PostgreSQL), with
goods going into, out of and between a sellable shelf and a non-sellable (damaged) bin."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from presale_erp.adapters.db.engine import make_engine
from presale_erp.adapters.db.tables import metadata
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import DomainError
from presale_erp.domain.ledger import MovementKind, ReservationStage
from presale_erp.domain.movements import MovementRequest
from presale_erp.domain.warehouse import ZoneKind
from presale_erp.services import presale, stock, stock_views, warehouses
from tests import builders
from tests.conftest import NOW
from tests.integration.test_presale_campaigns import new_campaign

K = MovementKind
BINS = ["A-01", "A-02"]
DAMAGED_BIN = "X-01"  # 残次品区
ANY_BIN = [*BINS, DAMAGED_BIN]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(1, 30), st.sampled_from(ANY_BIN)),
        st.tuples(st.just("adjust"), st.integers(-20, 20).filter(bool), st.sampled_from(ANY_BIN)),
        st.tuples(st.just("count"), st.integers(0, 40), st.sampled_from(ANY_BIN)),
        st.tuples(st.just("found_damaged"), st.integers(1, 10), st.sampled_from(BINS)),
        st.tuples(st.just("passed_inspection"), st.integers(1, 10), st.sampled_from(BINS)),
        st.tuples(st.just("ship_free"), st.integers(1, 10), st.sampled_from(BINS)),
        st.tuples(st.just("reserve"), st.integers(1, 15), st.sampled_from(list(ReservationStage))),
        st.tuples(st.just("release"), st.integers(0, 100), st.just(None)),
        st.tuples(st.just("ship_reserved"), st.integers(0, 100), st.sampled_from(BINS)),
    ),
    min_size=5,
    max_size=25,
)


def _apply(db, n: int, step, pending: list[tuple[str, int]]) -> None:
    action, value, extra = step
    movement = {
        "receive": lambda: MovementRequest(K.RECEIPT, "TEA-250G", "HZ", value, bin=extra),
        "adjust": lambda: MovementRequest(K.ADJUSTMENT, "TEA-250G", "HZ", value, bin=extra, reason="property"),
        "count": lambda: MovementRequest(K.COUNT_CORRECTION, "TEA-250G", "HZ", value, bin=extra),
        "ship_free": lambda: MovementRequest(K.SHIPMENT, "TEA-250G", "HZ", value, bin=extra),
        "found_damaged": lambda: MovementRequest(K.TRANSFER, "TEA-250G", "HZ", value, bin=extra, to_bin=DAMAGED_BIN),
        "passed_inspection": lambda: MovementRequest(
            K.TRANSFER, "TEA-250G", "HZ", value, bin=DAMAGED_BIN, to_bin=extra
        ),
    }
    if action in movement:
        stock.post_movement(db, SYSTEM, f"m{n}", movement[action](), reference=None, now=NOW)
    elif action == "reserve":
        stock.reserve(
            db,
            SYSTEM,
            [stock.ReservationLine(f"r{n}", "TEA-250G", "HZ", value, extra)],
            shop=None,
            order_ref=f"o{n}",
            expires_at=None,
            now=NOW,
        )
        pending.append((f"r{n}", value))
    elif pending:
        reservation_id, quantity = pending.pop(value % len(pending))
        if action == "release":
            stock.release(db, SYSTEM, [reservation_id], now=NOW)
        else:
            request = MovementRequest(K.SHIPMENT, "TEA-250G", "HZ", quantity, bin=extra, reservation_id=reservation_id)
            try:
                stock.post_movement(db, SYSTEM, f"m{n}", request, reference=None, now=NOW)
            except DomainError:
                pending.append((reservation_id, quantity))
                raise


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=steps)
def test_random_sequences_keep_the_ledger_balanced(database_url, sequence):
    db = Database(make_engine(database_url))
    with db.uow() as uow:  # each example starts from empty tables
        for table in reversed(metadata.sorted_tables):
            if table.name != "alembic_version":
                uow.conn.execute(table.delete())
        uow.commit()
    builders.stocked(db, 10)
    warehouses.create_zone(db, SYSTEM, warehouse="HZ", code="X", name="残次品区", kind=ZoneKind.DEFECTIVE, now=NOW)
    warehouses.create_bins(db, SYSTEM, warehouse="HZ", zone="X", codes=[DAMAGED_BIN], now=NOW)
    presale.create_campaign(db, SYSTEM, new_campaign(25), now=NOW)
    presale.open_campaign(db, SYSTEM, "D11", now=NOW)
    pending: list[tuple[str, int]] = []
    for n, step in enumerate(sequence):
        with contextlib.suppress(DomainError):  # a refused step must leave no trace; the checks below would see one
            _apply(db, n, step, pending)
        view = stock_views.position_detail(db, sku="TEA-250G", warehouse="HZ")
        assert view["available_to_sell"] >= 0
        assert view["on_hand"] == sum(b["on_hand"] for b in view["bins"] if b["sellable"])
        assert view["damaged"] == sum(b["on_hand"] for b in view["bins"] if not b["sellable"])
        assert view["reserved"] == sum(q for _, q in pending)
        assert view["presale_quota_used"] <= view["presale_quota"]
    assert stock.ledger_discrepancies(db) == []
    db.dispose()
