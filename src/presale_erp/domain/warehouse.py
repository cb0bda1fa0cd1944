"""Warehouses (own or run by a 3PL) with their zones (库区) and bins (货位)."""

from __future__ import annotations

from enum import StrEnum


class WarehouseKind(StrEnum):
    OWN = "own"
    THIRD_PARTY = "3pl"


class ZoneKind(StrEnum):
    """What a zone is used for; picking only ever takes from sellable zones."""

    STORAGE = "storage"  # 存储区
    PICKING = "picking"  # 拣货区
    RECEIVING = "receiving"  # 收货暂存区
    RETURNS = "returns"  # 退货区
    DEFECTIVE = "defective"  # 次品区
