"""Reading platform payloads field by field, with the field's path in every complaint.

Money arrives as yuan strings (Taobao, JD, Shopify), yuan JSON numbers (Pinduoduo) or integer fen (Douyin);
times as GMT+8 strings, Unix seconds or ISO 8601. All of it becomes Decimal yuan and aware datetimes here."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from presale_erp.domain.orders import MalformedOrder

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")
FEN = Decimal("0.01")
MAX_INT = 2**53  # ids and counts beyond this are not real (and would overflow a BIGINT on the way)
MAX_YUAN = Decimal("10000000000")  # ten billion yuan: no single order; keeps fen inside a BIGINT
# JD writes these for "not set"; so do some ISVs' copies of other platforms.
# A NUL or a lone surrogate cannot be stored (PostgreSQL text, UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSET_TIMES = {"", "0001-01-01 00:00:00", "1970-01-01 00:00:00", "1970-01-01 08:00:00", "0000-00-00 00:00:00"}


class Fields:
    def __init__(self, data: Any, path: str = "") -> None:
        if not isinstance(data, dict):
            raise MalformedOrder(f"{path or 'the payload'} should be a JSON object, not {type(data).__name__}")
        self.data = data
        self.path = path

    def _where(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def has(self, name: str) -> bool:
        return self.data.get(name) not in (None, "")

    def raw(self, name: str, *, required: bool = True) -> Any:
        value = self.data.get(name)
        if value is None and required:
            raise MalformedOrder(f"{self._where(name)} is missing")
        return value

    def text(self, name: str, *, required: bool = True, default: str = "") -> str:
        value = self.data.get(name)
        if value.__class__ is str and not UNSTORABLE.search(value):  # the common case, checked first
            return value
        if value is None:
            if required:
                raise MalformedOrder(f"{self._where(name)} is missing")
            return default
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise MalformedOrder(f"{self._where(name)} should be text, not {value!r}")
        text = str(value)
        if UNSTORABLE.search(text):  # refuse this order, not the batch
            raise MalformedOrder(f"{self._where(name)} contains a character that cannot be stored")
        return text

    def integer(self, name: str, *, required: bool = True, default: int = 0) -> int:
        value = self.raw(name, required=required)
        if value is None:
            return default
        if isinstance(value, bool):
            raise MalformedOrder(f"{self._where(name)} should be a whole number, not {value!r}")
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, int):
            if abs(value) > MAX_INT:
                raise MalformedOrder(f"{self._where(name)} is out of range: {value}")
            return value
        raise MalformedOrder(f"{self._where(name)} should be a whole number, not {value!r}")

    def yuan(self, name: str, *, required: bool = True) -> Decimal:
        """A yuan amount sent as a decimal string ("199.00") or, by Pinduoduo, as a JSON number (199.0)."""
        value = self.raw(name, required=required)
        if value is None or value == "":
            if required:
                raise MalformedOrder(f"{self._where(name)} is missing")
            return Decimal("0.00")
        if isinstance(value, bool):
            raise MalformedOrder(f"{self._where(name)} should be an amount in yuan, not {value!r}")
        try:
            # str() first: a JSON float's shortest repr is what the platform meant (99.9, not 99.900000000001).
            amount = Decimal(str(value))
        except InvalidOperation as exc:
            raise MalformedOrder(f"{self._where(name)} should be an amount in yuan, not {value!r}") from exc
        if not amount.is_finite() or abs(amount) > MAX_YUAN:
            raise MalformedOrder(f"{self._where(name)} is not a plausible amount: {value!r}")
        if amount != amount.quantize(FEN):
            raise MalformedOrder(f"{self._where(name)} has fractions of a fen: {value!r}")
        return amount.quantize(FEN)

    def fen(self, name: str, *, required: bool = True) -> Decimal:
        """An amount in fen (Douyin), as an integer."""
        value = self.raw(name, required=required)
        if value is None:
            return Decimal("0.00")
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedOrder(f"{self._where(name)} should be whole fen, not {value!r}")
        if abs(value) > MAX_YUAN * 100:
            raise MalformedOrder(f"{self._where(name)} is not a plausible amount: {value}")
        return (Decimal(value) / 100).quantize(FEN)

    def china_time(self, name: str, *, required: bool = True) -> datetime | None:
        """'yyyy-MM-dd HH:mm:ss' in Beijing time (Taobao, JD, Pinduoduo)."""
        value = self.raw(name, required=required)
        if value is None or value in UNSET_TIMES:
            if required:
                raise MalformedOrder(f"{self._where(name)} is missing")
            return None
        text = str(value)
        try:
            if len(text) != 19:  # exactly 'yyyy-MM-dd HH:mm:ss'; fromisoformat alone would take other shapes
                raise ValueError(text)
            return datetime.fromisoformat(text).replace(tzinfo=CHINA).astimezone(UTC)
        except ValueError as exc:
            raise MalformedOrder(f"{self._where(name)} should be 'yyyy-MM-dd HH:mm:ss', not {value!r}") from exc

    def unix_time(self, name: str, *, required: bool = True) -> datetime | None:
        """Unix seconds (Douyin); 0 means not set."""
        value = self.integer(name, required=required)
        if not value:
            if required:
                raise MalformedOrder(f"{self._where(name)} is missing")
            return None
        if not 0 < value < 32503680000:
            raise MalformedOrder(f"{self._where(name)} is not a time: {value}")
        return datetime.fromtimestamp(value, UTC)

    def iso_time(self, name: str, *, required: bool = True) -> datetime | None:
        """ISO 8601 with an offset (Shopify)."""
        value = self.raw(name, required=required)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError as exc:
            raise MalformedOrder(f"{self._where(name)} should be an ISO 8601 time, not {value!r}") from exc
        if moment.tzinfo is None:
            raise MalformedOrder(f"{self._where(name)} has no time zone: {value!r}")
        return moment.astimezone(UTC)

    def child(self, name: str, *, required: bool = True) -> Fields:
        value = self.raw(name, required=required)
        return Fields({} if value is None else value, self._where(name))

    def children(self, name: str, *, wrapper: str | None = None) -> list[Fields]:
        """A list of objects. TOP wraps lists as {"order": [...]}; both shapes are accepted."""
        value = self.raw(name)
        if isinstance(value, dict) and wrapper and wrapper in value:
            value = value[wrapper]
        where = self._where(name)
        if not isinstance(value, list):
            raise MalformedOrder(f"{where} should be a list")
        return [Fields(item, f"{where}[{i}]") for i, item in enumerate(value)]


def status_from(table: dict[Any, Any], value: Any, where: str) -> Any:
    try:
        return table[value]
    except (KeyError, TypeError):
        raise MalformedOrder(f"{where} has an unknown value {value!r}") from None
