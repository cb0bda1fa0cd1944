"""Set-up the benchmarks share."""

from __future__ import annotations

from datetime import datetime

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.warehouse import WarehouseKind, ZoneKind
from presale_erp.services import warehouses


def one_bin_warehouse(db: Database, now: datetime, code: str = "HZ", bin_code: str = "A-01") -> None:
    """A warehouse with one storage zone and one bin: enough for stock to stand somewhere."""
    warehouses.create_warehouse(
        db,
        SYSTEM,
        code=code,
        name=code,
        kind=WarehouseKind.OWN,
        provider=None,
        province=None,
        city=None,
        address=None,
        now=now,
    )
    warehouses.create_zone(db, SYSTEM, warehouse=code, code="A", name="A", kind=ZoneKind.STORAGE, now=now)
    warehouses.create_bins(db, SYSTEM, warehouse=code, zone="A", codes=[bin_code], now=now)
