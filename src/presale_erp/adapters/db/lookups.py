"""Turning business codes (SKU, warehouse, bin, shop) into row ids in one query per table."""

from __future__ import annotations

import threading
from collections.abc import Iterable

from sqlalchemy import Table, select, tuple_
from sqlalchemy.engine import Connection

from presale_erp.adapters.db.tables import bins, shops, skus, warehouses
from presale_erp.domain.errors import NotFound


def ids_by_code(
    conn: Connection, table: Table, codes: Iterable[str], what: str, *, strict: bool = True
) -> dict[str, int]:
    """Ids of `codes`; unless strict is False (a batch of requests, each checked on its own with
    `require_codes`), a code that does not exist is refused."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    rows = conn.execute(select(table.c.code, table.c.id).where(table.c.code.in_(wanted))).all()
    found = {code: row_id for code, row_id in rows}
    if strict:
        require_codes(found, wanted, what)
    return found


KnownIds = tuple[dict[str, int], dict[str, int], dict[str, int]]  # SKU, warehouse and shop ids by code


class KnownCodes:
    """Row ids of codes already seen, kept for the life of a `Database`. Codes are never renamed or deleted and
    their ids never change, so an id once read stays right; only a code not seen yet costs a query. Fill it only
    from transactions that create no codes themselves (a rolled-back code would otherwise linger here)."""

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def sku_ids(self, conn: Connection, codes: Iterable[str]) -> dict[str, int]:
        return self._ids_of(conn, skus, codes)

    def warehouse_ids(self, conn: Connection, codes: Iterable[str]) -> dict[str, int]:
        return self._ids_of(conn, warehouses, codes)

    def shop_ids(self, conn: Connection, codes: Iterable[str]) -> dict[str, int]:
        return self._ids_of(conn, shops, codes)

    def seen(self, skus_: Iterable[str], warehouses_: Iterable[str], shops_: Iterable[str]) -> KnownIds | None:
        """The ids of SKU, warehouse and shop codes if every one was seen before, without a connection; else None."""
        try:
            return (
                {code: self._ids[(skus.name, code)] for code in skus_},
                {code: self._ids[(warehouses.name, code)] for code in warehouses_},
                {code: self._ids[(shops.name, code)] for code in shops_},
            )
        except KeyError:
            return None

    def _ids_of(self, conn: Connection, table: Table, codes: Iterable[str]) -> dict[str, int]:
        """Ids of the codes that exist; a code that does not is left out (check with `require_codes`)."""
        wanted = set(codes)
        known = {code: self._ids[(table.name, code)] for code in wanted if (table.name, code) in self._ids}
        unseen = wanted - known.keys()
        if unseen:
            found = ids_by_code(conn, table, unseen, table.name, strict=False)
            with self._lock:
                self._ids.update({(table.name, code): row_id for code, row_id in found.items()})
            known.update(found)
        return known


def require_codes(found: dict[str, int], codes: Iterable[str], what: str) -> None:
    missing = sorted(set(codes) - found.keys())
    if missing:
        raise NotFound(f"No {what} with code {', '.join(missing)}.")


def sku_ids(conn: Connection, codes: Iterable[str], *, strict: bool = True) -> dict[str, int]:
    return ids_by_code(conn, skus, codes, "SKU", strict=strict)


def warehouse_ids(conn: Connection, codes: Iterable[str], *, strict: bool = True) -> dict[str, int]:
    return ids_by_code(conn, warehouses, codes, "warehouse", strict=strict)


def shop_ids(conn: Connection, codes: Iterable[str], *, strict: bool = True) -> dict[str, int]:
    return ids_by_code(conn, shops, codes, "shop", strict=strict)


def bin_ids(conn: Connection, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """(warehouse code, bin code) -> bin id; every bin must exist in that warehouse."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = conn.execute(
        select(warehouses.c.code, bins.c.code, bins.c.id)
        .join(bins, bins.c.warehouse_id == warehouses.c.id)
        .where(tuple_(warehouses.c.code, bins.c.code).in_(wanted))
    ).all()
    found = {(wh, code): bin_id for wh, code, bin_id in rows}
    missing = [f"{code} in {wh}" for wh, code in wanted if (wh, code) not in found]
    if missing:
        raise NotFound(f"No bin {', '.join(missing)}.")
    return found
