"""Realistic presale order histories: each order moves through versions over time (deposit, balance, shipping,
or a lapse, a refund), with spot and mixed orders among them and a few deliberately broken records."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from presale_erp.simulators import payloads
from presale_erp.simulators.payloads import SimLine, SimOrder

PRESALE_SKUS = [
    ("TEA-LJ-250G", Decimal("398.00"), Decimal("50.00")),
    ("TEA-LJ-100G", Decimal("168.00"), Decimal("20.00")),
    ("MOON-GIFT-6", Decimal("158.00"), Decimal("30.00")),
    ("MOON-GIFT-8", Decimal("188.00"), Decimal("30.00")),
]
SPOT_SKUS = [("TEA-PE-357G", Decimal("219.00")), ("CUP-SET-6", Decimal("599.00")), ("TEA-TIN-S", Decimal("99.00"))]
PROVINCES = [
    ("浙江省", "杭州市", "西湖区"),
    ("广东省", "广州市", "天河区"),
    ("上海市", "上海市", "浦东新区"),
    ("北京市", "北京市", "朝阳区"),
    ("四川省", "成都市", "武侯区"),
    ("江苏省", "南京市", "鼓楼区"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


@dataclass(frozen=True)
class Version:
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True)
class History:
    order_id: str
    versions: list[Version]
    final_status: str  # the canonical status the last version maps to
    broken: bool = False  # one of its versions was a damaged copy


# Each path is the stages an order passes through, with the hours between them.
DEPOSIT_PATHS = [
    (["deposit", "paid", "shipped"], 0.55),
    (["deposit", "paid"], 0.20),
    (["deposit", "balance_lapsed"], 0.10),
    (["deposit", "paid", "refunded"], 0.05),
    (["deposit"], 0.10),
]
FINAL = {
    "deposit": "deposit_paid",
    "paid": "paid",
    "shipped": "shipped",
    "balance_lapsed": "cancelled",
    "refunded": "refunded",
    "completed": "completed",
}


def histories(
    platform: str,
    count: int,
    start: datetime,
    *,
    seed: int = 1,
    broken_every: int = 200,
    span: timedelta = timedelta(hours=6),
) -> list[History]:
    rng = random.Random(seed)
    builder = payloads.BUILDERS[platform]
    made = []
    for n in range(count):
        order_id = str(rng.randint(10**15, 10**16 - 1)) if platform != "pinduoduo" else f"261111-{10**14 + n}"
        if platform == "shopify" or platform in ("taobao", "tmall"):
            order_id = str(6_000_000_000_000 + n * 7 + seed)
        base = _order(rng, order_id, platform, start + span * rng.random())
        stages = _path(rng, base.presale, platform)
        versions, at = [], base.created
        for stage in stages:
            at += timedelta(minutes=rng.randint(1, 90))
            versions.append(Version(at, builder(replace(base, stage=stage, modified=at))))
        broken = bool(broken_every) and n % broken_every == broken_every - 1
        if broken:  # a damaged copy goes out, then the platform serves the order properly again
            versions.append(Version(at + timedelta(minutes=1), _break(rng, versions[-1].payload)))
            at += timedelta(minutes=20)
            versions.append(Version(at, builder(replace(base, stage=stages[-1], modified=at))))
        made.append(History(order_id, versions, _final(platform, stages[-1]), broken))
    return made


def _final(platform: str, stage: str) -> str:
    if platform == "jd" and stage == "refunded":
        return "cancelled"
    return FINAL[stage]


def _order(rng: random.Random, order_id: str, platform: str, created: datetime) -> SimOrder:
    province, city, district = rng.choice(PROVINCES)
    presale = platform != "jd" and rng.random() < 0.8
    if presale:
        sku, price, deposit = rng.choice(PRESALE_SKUS)
        quantity = rng.choice([1, 1, 1, 2, 3])
        lines = [SimLine(sku, quantity, price, str(rng.randint(10**8, 10**9)))]
        deposit_total = deposit * quantity
    else:
        sku, price = rng.choice(SPOT_SKUS)
        lines = [SimLine(sku, rng.choice([1, 1, 2]), price, str(rng.randint(10**8, 10**9)))]
        deposit_total = Decimal("0.00")
    return SimOrder(
        order_id=order_id,
        stage="paid",
        created=created,
        modified=created,
        lines=lines,
        presale="deposit" if presale else "none",
        deposit=deposit_total,
        ship_by=created + timedelta(days=10) if presale else created + timedelta(hours=48),
        buyer_id=f"buyer-{rng.randint(1, 10**6)}",
        name=rng.choice(SURNAMES) + rng.choice(["伟", "芳", "娜", "敏", "静"]),
        phone=f"1{rng.choice('3456789')}{rng.randint(10**8, 10**9 - 1)}",
        province=province,
        city=city,
        district=district,
        street=f"{rng.choice(['文三路', '中山路', '解放路', '人民路'])} {rng.randint(1, 999)} 号",
        buyer_remark=rng.choice(["", "", "", "", "请尽快发货", "送人的，不要放价格单"]),
    )


def _path(rng: random.Random, presale: str, platform: str) -> list[str]:
    if presale == "none":
        return rng.choice([["paid", "shipped"], ["paid"], ["paid", "shipped", "completed"]])
    paths, weights = zip(*DEPOSIT_PATHS, strict=True)
    path = rng.choices(paths, weights)[0]
    if platform == "shopify" and "balance_lapsed" in path:
        return ["deposit", "paid"]
    return list(path)


def _break(rng: random.Random, payload: dict[str, Any]) -> dict[str, Any]:
    """Damage a record the way real feeds do: a field missing, a wrong type, money with too many decimals."""
    damaged = dict(payload)
    key = rng.choice(sorted(k for k in damaged if k not in ("id", "order_id", "tid", "tid_str", "orderId", "order_sn")))
    damaged[key] = rng.choice([None, "???", 12.3456, {"unexpected": True}])
    for money in ("payment", "orderPayment", "pay_amount", "current_total_price"):
        if money in damaged:
            damaged[money] = "1.2345" if isinstance(payload.get(money), str) else 1.2345
            if money == "pay_amount" and isinstance(payload.get(money), int):
                damaged[money] = "oops"
    return damaged
