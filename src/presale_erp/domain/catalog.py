"""What is sold and where: products and their SKUs, the platforms and the shops on them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest

CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")


class Platform(StrEnum):
    TMALL = "tmall"
    TAOBAO = "taobao"
    JD = "jd"
    PINDUODUO = "pinduoduo"
    DOUYIN = "douyin"
    SHOPIFY = "shopify"
    OFFLINE = "offline"


PLATFORM_NAMES_ZH: dict[Platform, str] = {
    Platform.TMALL: "天猫",
    Platform.TAOBAO: "淘宝",
    Platform.JD: "京东",
    Platform.PINDUODUO: "拼多多",
    Platform.DOUYIN: "抖音",
    Platform.SHOPIFY: "Shopify",
    Platform.OFFLINE: "线下",
}


class StockLockPolicy(StrEnum):
    """When an order of this shop takes its stock reservation (锁库存)."""

    ON_ORDER = "on_order"  # 下单锁
    ON_DEPOSIT = "on_deposit"  # 付定金锁
    ON_PAYMENT = "on_payment"  # 付款锁 (full payment / balance paid)


def check_code(kind: str, code: str) -> str:
    if not CODE_PATTERN.match(code):
        raise InvalidRequest(
            f"{kind} code '{code}' is not valid: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit."
        )
    return code


def check_barcode(barcode: str | None) -> str | None:
    """Barcodes are EAN-13/UPC-A/EAN-8 (check digit verified) or an internal code of 4-32 digits/letters."""
    if barcode is None or barcode == "":
        return None
    if barcode.isdigit() and len(barcode) in (8, 12, 13) and not _gtin_check_digit_ok(barcode):
        raise InvalidRequest(f"Barcode {barcode} has a wrong check digit.")
    if not re.fullmatch(r"[A-Za-z0-9\-]{4,32}", barcode):
        raise InvalidRequest(f"Barcode '{barcode}' is not valid: use 4-32 letters, digits or '-'.")
    return barcode


def _gtin_check_digit_ok(digits: str) -> bool:
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


@dataclass(frozen=True)
class Sku:
    code: str
    product_code: str
    name: str
    barcode: str | None
    weight_grams: int
    presale_capable: bool
    unit_cost: Decimal | None = None
    list_price: Decimal | None = None

    def __post_init__(self) -> None:
        check_code("SKU", self.code)
        check_barcode(self.barcode)
        if self.weight_grams < 0:
            raise InvalidRequest(f"SKU {self.code}: weight cannot be negative.")
        for label, amount in (("unit cost", self.unit_cost), ("list price", self.list_price)):
            if amount is not None and amount < 0:
                raise InvalidRequest(f"SKU {self.code}: {label} cannot be negative.")
