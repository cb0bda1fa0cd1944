"""Platform adapters: each turns its platform's real order payload into a PlatformOrder, or refuses it with
a precise reason (MalformedOrder) so intake can put it on the dead-letter list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from presale_erp.adapters.platforms import douyin, jd, offline, pinduoduo, shopify, taobao
from presale_erp.domain.catalog import Platform
from presale_erp.domain.orders import PlatformOrder

Parser = Callable[[dict[str, Any]], PlatformOrder]

PARSERS: dict[Platform, Parser] = {
    Platform.TAOBAO: taobao.parse_order,
    Platform.TMALL: taobao.parse_order,
    Platform.JD: jd.parse_order,
    Platform.PINDUODUO: pinduoduo.parse_order,
    Platform.DOUYIN: douyin.parse_order,
    Platform.SHOPIFY: shopify.parse_order,
    Platform.OFFLINE: offline.parse_order,
}
