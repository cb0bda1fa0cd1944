"""Allocation runs batch after batch; on PostgreSQL one batch is written while the next is decided on the stock
counters it will leave. What someone else changes meanwhile is never overwritten, and a write that fails
leaves the batches after it unwritten."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError

from presale_erp.adapters.db.tables import orders
from presale_erp.domain.access import SYSTEM
from presale_erp.services import fulfilment, review, stock
from tests import builders
from tests.integration.test_fulfilment import CIPHER, LATER, all_parcels, position, push, set_up

# Someone else reserves one HZ unit (an API caller, say) in the same moment as the first batch's write: the
# counters the next batch was decided on are no longer the row's.
RESERVE_ONE_MEANWHILE = [
    "CREATE TABLE poked (done boolean)",
    "CREATE FUNCTION reserve_one_meanwhile() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " IF NOT EXISTS (SELECT 1 FROM poked) THEN INSERT INTO poked VALUES (true);"
    " UPDATE stock_positions SET reserved = reserved + 1"
    " WHERE warehouse_id = (SELECT id FROM warehouses WHERE code = 'HZ'); END IF; RETURN NEW; END $$",
    "CREATE TRIGGER reserve_one_meanwhile AFTER INSERT ON parcels FOR EACH ROW"
    " EXECUTE FUNCTION reserve_one_meanwhile()",
]


def test_a_position_changed_while_a_batch_was_in_flight_is_not_overwritten_by_the_next(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite batches are decided and written one after the other, on locked rows")
    set_up(db, hz=10, gz=0, lock_in=None)
    for n in range(6):
        push(db, f"81{n:02d}", buyer=f"b{n}", phone=f"1380013{n:04d}", street=f"文三路 {n} 号")
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    builders.run_sql(db, RESERVE_ONE_MEANWHILE)
    refused: list[str] = []
    event.listen(db.engine, "handle_error", lambda context: refused.append(str(context.original_exception)))

    report = fulfilment.allocate(db, SYSTEM, now=LATER, batch=2)

    assert (report.allocated, len(all_parcels(db))) == (6, 6)
    assert position(db)["reserved"] == 6 + 1  # the six orders' units and the one reserved meanwhile
    # the second batch was decided on the counters the first would leave; finding the row changed, it was
    # decided again on locked rows
    assert ["a stock position changed meanwhile" in error for error in refused] == [True]


# A database that refuses one order's parcel (as a full disk or a lost connection would refuse a batch's).
REFUSE_ONE_PARCEL = {
    "sqlite": [
        "CREATE TRIGGER refuse_parcel BEFORE INSERT ON parcel_lines WHEN NEW.order_id = {order_id}"
        " BEGIN SELECT RAISE(ABORT, 'parcel refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_parcel() RETURNS trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'parcel refused'; END $$",
        "CREATE TRIGGER refuse_parcel BEFORE INSERT ON parcel_lines FOR EACH ROW WHEN (NEW.order_id = {order_id})"
        " EXECUTE FUNCTION refuse_parcel()",
    ],
}


def test_a_batch_that_cannot_be_written_stops_the_run_and_the_batches_after_it_stay_unallocated(db):
    set_up(db, hz=10, gz=0, lock_in=None)
    for n in range(6):
        push(db, f"82{n:02d}", buyer=f"b{n}", phone=f"1380013{n:04d}", street=f"文三路 {n} 号")
    review.review_pending(db, CIPHER, SYSTEM, now=LATER)
    with db.uow(write=False) as uow:
        order_id = uow.conn.execute(select(orders.c.id).where(orders.c.platform_order_id == "8203")).scalar_one()
    builders.run_sql(db, [s.format(order_id=order_id) for s in REFUSE_ONE_PARCEL[db.engine.dialect.name]])

    with pytest.raises(DBAPIError, match="parcel refused"):
        fulfilment.allocate(db, SYSTEM, now=LATER, batch=2)

    with db.uow(write=False) as uow:
        states = dict(uow.conn.execute(select(orders.c.platform_order_id, orders.c.fulfilment_status)).all())
    # the first batch landed; the refused one and the one decided meanwhile were not written at all
    assert states == {f"82{n:02d}": "allocated" if n < 2 else "pending" for n in range(6)}
    assert position(db)["reserved"] == 2
    assert stock.ledger_discrepancies(db) == []
