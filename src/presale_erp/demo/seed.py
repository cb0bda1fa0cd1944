"""Seed the demo through the same use cases staff use, so the demo data obeys every rule the product has."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from presale_erp.adapters.crypto import PiiCipher
from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.demo.planning_seed import seed_planning
from presale_erp.domain.access import SYSTEM, Role
from presale_erp.domain.catalog import Platform, StockLockPolicy
from presale_erp.domain.errors import Conflict
from presale_erp.domain.fulfilment.gifts import GiftKind
from presale_erp.domain.ledger import MovementKind, ReservationStage
from presale_erp.domain.movements import MovementRequest
from presale_erp.domain.presale import CampaignSku, PresaleMode
from presale_erp.domain.warehouse import WarehouseKind, ZoneKind
from presale_erp.services import auth, catalog, fulfilment_settings, presale, stock, stock_views, warehouses

DEMO_USERS: dict[Role, tuple[str, str, str]] = {
    Role.ADMIN: ("admin", "系统管理员", "admin-demo-pass"),
    Role.CUSTOMER_SERVICE: ("kefu", "客服 小周", "kefu-demo-pass"),
    Role.WAREHOUSE: ("cangku", "仓库 老陈", "cangku-demo-pass"),
    Role.PURCHASER: ("caigou", "采购 李娜", "caigou-demo-pass"),
    Role.FINANCE: ("caiwu", "财务 王芳", "caiwu-demo-pass"),
    Role.VIEWER: ("guest", "只读访客", "guest-demo-pass"),
}

SHOPS = [
    ("TM-WESTLAKE", "西湖茶礼天猫旗舰店", Platform.TMALL, "tm-61002331", StockLockPolicy.ON_DEPOSIT),
    ("TB-WESTLAKE", "西湖茶礼淘宝店", Platform.TAOBAO, "tb-3390012", StockLockPolicy.ON_PAYMENT),
    ("JD-WESTLAKE", "西湖茶礼京东自营店", Platform.JD, "jd-1000834", StockLockPolicy.ON_PAYMENT),
    ("PDD-WESTLAKE", "西湖茶礼拼多多店", Platform.PINDUODUO, "pdd-88123", StockLockPolicy.ON_PAYMENT),
    ("DY-WESTLAKE", "西湖茶礼抖音小店", Platform.DOUYIN, "dy-4410923", StockLockPolicy.ON_ORDER),
    (
        "SHOPIFY-INTL",
        "Westlake Tea (international)",
        Platform.SHOPIFY,
        "westlake-tea.myshopify.com",
        StockLockPolicy.ON_PAYMENT,
    ),
]

WAREHOUSES = [
    ("HZ", "杭州主仓", WarehouseKind.OWN, None, "浙江省", "杭州市", "余杭区仓前街道 8 号"),
    ("GZ", "广州华南仓", WarehouseKind.OWN, None, "广东省", "广州市", "白云区太和镇物流园 3 栋"),
    (
        "SH-3PL",
        "上海云仓 (第三方)",
        WarehouseKind.THIRD_PARTY,
        "菜鸟供应链",
        "上海市",
        "上海市",
        "嘉定区马陆镇 12 号",
    ),
]

# code, name, category, [(sku code, sku name, grams, presale, cost, price)]
PRODUCTS = [
    (
        "TEA-LJ",
        "明前龙井",
        "茶叶",
        [
            ("TEA-LJ-250G", "明前龙井 250g 礼盒", 420, True, "168.00", "398.00"),
            ("TEA-LJ-100G", "明前龙井 100g 罐装", 180, True, "72.00", "168.00"),
        ],
    ),
    ("TEA-BLC", "碧螺春", "茶叶", [("TEA-BLC-250G", "洞庭碧螺春 250g", 400, True, "120.00", "288.00")]),
    ("TEA-PE", "普洱熟茶饼", "茶叶", [("TEA-PE-357G", "普洱熟茶饼 357g", 420, False, "95.00", "219.00")]),
    (
        "MOON-GIFT",
        "中秋月饼礼盒",
        "糕点",
        [
            ("MOON-GIFT-6", "流心奶黄月饼 6 枚礼盒", 680, True, "58.00", "158.00"),
            ("MOON-GIFT-8", "五仁火腿月饼 8 枚礼盒", 960, True, "66.00", "188.00"),
        ],
    ),
    ("CUP-SET", "青瓷茶具", "茶具", [("CUP-SET-6", "龙泉青瓷茶具 6 件套", 2100, False, "210.00", "599.00")]),
    ("TEA-TIN", "茶叶收纳罐", "茶具", [("TEA-TIN-S", "锡制茶叶罐 小号", 350, False, "38.00", "99.00")]),
]


@dataclass(frozen=True)
class SeedReport:
    seeded: bool
    users: dict[str, str]


def _barcode(n: int) -> str:
    body = f"690{n:09d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def seed(db: Database, *, now: datetime, progress: Callable[[str], None] = lambda _: None) -> SeedReport:
    """Seed once; if the demo admin already exists the database is left as it is."""
    users = {r.value: f"{u} / {p}" for r, (u, _, p) in DEMO_USERS.items()}
    try:
        _users(db, now)
    except Conflict:
        return SeedReport(seeded=False, users=users)
    rng = random.Random(20261111)
    progress("shops")
    for code, name, platform, platform_id, policy in SHOPS:
        catalog.create_shop(
            db,
            SYSTEM,
            code=code,
            name=name,
            platform=platform,
            platform_shop_id=platform_id,
            stock_lock_policy=policy,
            now=now,
        )
    progress("warehouses, zones and bins")
    for code, name, kind, provider, province, city, address in WAREHOUSES:
        warehouses.create_warehouse(
            db,
            SYSTEM,
            code=code,
            name=name,
            kind=kind,
            provider=provider,
            province=province,
            city=city,
            address=address,
            now=now,
        )
        for zone, zone_name, zone_kind, shelves in (
            ("A", "存储区", ZoneKind.STORAGE, 6),
            ("P", "拣货区", ZoneKind.PICKING, 4),
            ("R", "退货区", ZoneKind.RETURNS, 1),
        ):
            warehouses.create_zone(db, SYSTEM, warehouse=code, code=zone, name=zone_name, kind=zone_kind, now=now)
            bins = [f"{zone}-{s:02d}-{level:02d}" for s in range(1, shelves + 1) for level in range(1, 5)]
            warehouses.create_bins(db, SYSTEM, warehouse=code, zone=zone, codes=bins, now=now)
    progress("products and SKUs")
    sku_list = []
    for n, (code, name, category, variants) in enumerate(PRODUCTS):
        catalog.create_product(db, SYSTEM, code=code, name=name, category=category, now=now)
        for m, (sku, sku_name, grams, presale_ok, cost, price) in enumerate(variants):
            catalog.create_sku(
                db,
                SYSTEM,
                catalog.NewSku(
                    sku,
                    code,
                    sku_name,
                    _barcode(n * 10 + m + 1),
                    grams,
                    presale_ok,
                    Decimal(cost),
                    Decimal(price),
                ),
                now=now,
            )
            sku_list.append((sku, presale_ok))
    progress("opening stock")
    _stock(db, rng, sku_list, now)
    progress("presale campaign")
    _campaign(db, now)
    progress("orders' reservations")
    _reservations(db, rng, now)
    progress("fulfilment: coverage, rates, carrier rules, gifts")
    _fulfilment(db, now)
    progress("planning: suppliers, two years of sales, past campaigns, first forecasts and alerts")
    seed_planning(db, now=now)
    return SeedReport(seeded=True, users=users)


COVERAGE = {
    "HZ": ["浙江省", "江苏省", "安徽省", "江西省", "福建省", "山东省", "北京市", "天津市", "河北省"],
    "GZ": ["广东省", "广西壮族自治区", "海南省", "湖南省", "云南省", "贵州省", "四川省", "重庆市"],
    "SH-3PL": ["上海市", "江苏省", "浙江省"],
}
RATES = [  # 首重 1kg, 续重 per kg: what a mid-size merchant pays in 2026
    ("ZTO", "4.50", "1.50"),
    ("YD", "4.20", "1.60"),
    ("SF", "12.00", "3.00"),
]


def _fulfilment(db: Database, now: datetime) -> None:
    """属地仓 coverage, a rate table, SF for the far west, and a 满 299 送茶叶罐 gift while the campaign runs."""
    for warehouse, provinces in COVERAGE.items():
        rank = 2 if warehouse == "SH-3PL" else 1
        fulfilment_settings.set_coverage(db, SYSTEM, warehouse, dict.fromkeys(provinces, rank), now=now)
    for carrier, first, extra in RATES:
        fulfilment_settings.set_rate(
            db,
            SYSTEM,
            carrier,
            warehouse=None,
            province=None,
            first_weight_grams=1000,
            first_fee=Decimal(first),
            extra_fee_per_kg=Decimal(extra),
            now=now,
        )
    for shop, *_ in SHOPS:
        fulfilment_settings.add_carrier_rule(
            db,
            SYSTEM,
            shop,
            "SF",
            provinces=["西藏自治区", "新疆维吾尔自治区"],
            warehouses=[],
            max_weight_grams=0,
            priority=1,
            now=now,
        )
        for carrier in ("ZTO", "YD"):
            fulfilment_settings.add_carrier_rule(
                db, SYSTEM, shop, carrier, provinces=[], warehouses=[], max_weight_grams=30_000, priority=10, now=now
            )
    fulfilment_settings.add_gift_rule(
        db,
        SYSTEM,
        fulfilment_settings.NewGiftRule(
            "TM-WESTLAKE",
            "满299送锡罐",
            GiftKind.SPEND_OVER,
            "TEA-TIN-S",
            1,
            now - timedelta(days=1),
            now + timedelta(days=30),
            threshold=Decimal("299.00"),
            gift_limit=500,
        ),
        now=now,
    )


def _users(db: Database, now: datetime) -> None:
    for role, (username, display, password) in DEMO_USERS.items():
        auth.create_user(db, SYSTEM, username=username, display_name=display, password=password, roles=[role], now=now)


def _stock(db: Database, rng: random.Random, sku_list: list[tuple[str, bool]], now: datetime) -> None:
    at = now - timedelta(days=20)
    for sku, presale_ok in sku_list:
        for wh in ("HZ", "GZ", "SH-3PL"):
            # Presale goods are mostly not made yet: little on hand, the campaign quota carries the sales.
            quantity = rng.randint(20, 80) if presale_ok else rng.randint(150, 600)
            stock.post_movement(
                db,
                SYSTEM,
                f"demo:receipt:{sku}:{wh}",
                MovementRequest(MovementKind.RECEIPT, sku, wh, quantity, bin=f"A-{rng.randint(1, 6):02d}-01"),
                reference=f"PO-2026{rng.randint(1000, 9999)}",
                now=at,
            )
            stock_views.set_low_stock_threshold(
                db, SYSTEM, sku=sku, warehouse=wh, threshold=30 if presale_ok else 80, now=now
            )
    stock.post_movement(
        db,
        SYSTEM,
        "demo:asn:TEA-LJ-250G:HZ",
        MovementRequest(MovementKind.INBOUND_NOTICE, "TEA-LJ-250G", "HZ", 600),
        reference="PO-20261101",
        now=now - timedelta(days=2),
    )
    fullest_bin = max(
        stock_views.position_detail(db, sku="CUP-SET-6", warehouse="HZ")["bins"], key=lambda b: b["on_hand"]
    )
    stock.post_movement(
        db,
        SYSTEM,
        "demo:transfer:CUP-SET-6:HZ-GZ",
        MovementRequest(MovementKind.TRANSFER, "CUP-SET-6", "HZ", 40, bin=fullest_bin["bin"], to_warehouse="GZ"),
        reference="TR-20261120-01",
        now=now - timedelta(days=1),
    )


def _campaign(db: Database, now: datetime) -> None:
    day = timedelta(days=1)
    lines = [
        CampaignSku("TEA-LJ-250G", "HZ", 800, Decimal("398.00"), Decimal("50.00")),
        CampaignSku("TEA-LJ-250G", "GZ", 400, Decimal("398.00"), Decimal("50.00")),
        CampaignSku("TEA-LJ-100G", "HZ", 500, Decimal("168.00"), Decimal("20.00")),
        CampaignSku("MOON-GIFT-6", "HZ", 1200, Decimal("158.00"), Decimal("30.00")),
        CampaignSku("MOON-GIFT-6", "SH-3PL", 600, Decimal("158.00"), Decimal("30.00")),
        CampaignSku("MOON-GIFT-8", "GZ", 300, Decimal("188.00"), Decimal("30.00")),
    ]
    presale.create_campaign(
        db,
        SYSTEM,
        presale.NewCampaign(
            code="DOUBLE11-2026",
            name="双11 明前龙井 · 月饼礼盒 定金预售",
            mode=PresaleMode.DEPOSIT,
            shop="TM-WESTLAKE",
            deposit_starts_at=now - 3 * day,
            deposit_ends_at=now + 4 * day,
            balance_starts_at=now + 5 * day,
            balance_ends_at=now + 8 * day,
            ships_from=now + 10 * day,
            skus=lines,
        ),
        now=now,
    )
    presale.open_campaign(db, SYSTEM, "DOUBLE11-2026", now=now)


def _reservations(db: Database, rng: random.Random, now: datetime) -> None:
    """Deposits taken so far lock presale stock; a few spot orders wait for review or shipment."""
    shops = ["TM-WESTLAKE", "TB-WESTLAKE", "DY-WESTLAKE"]
    for n in range(480):
        # Three days of deposits so far: a launch-night rush, then a steady trickle (hours before now).
        taken_at = now - timedelta(hours=rng.choice([70, 69, 68, 60, 48, 40, 30, 20, 10, 4, 2]), minutes=n % 60)
        sku, wh = rng.choice(
            [
                ("TEA-LJ-250G", "HZ"),
                ("TEA-LJ-250G", "GZ"),
                ("TEA-LJ-100G", "HZ"),
                ("MOON-GIFT-6", "HZ"),
                ("MOON-GIFT-6", "SH-3PL"),
                ("MOON-GIFT-8", "GZ"),
            ]
        )
        order = f"3{rng.randint(10**17, 10**18 - 1)}"
        stock.reserve(
            db,
            SYSTEM,
            [
                stock.ReservationLine(
                    f"TM-WESTLAKE:{order}:1",
                    sku,
                    wh,
                    rng.choice([1, 1, 2, 3]),
                    ReservationStage.PRESALE_BOOKED,
                )
            ],
            shop="TM-WESTLAKE",
            order_ref=order,
            expires_at=None,
            now=taken_at,
        )
    for n in range(1, 41):
        sku, wh = rng.choice(
            [("TEA-PE-357G", "HZ"), ("CUP-SET-6", "GZ"), ("TEA-TIN-S", "SH-3PL"), ("TEA-PE-357G", "GZ")]
        )
        shop = rng.choice(shops)
        order = f"{rng.randint(10**15, 10**16 - 1)}"
        stage = ReservationStage.AWAITING_SHIPMENT if n % 3 else ReservationStage.AWAITING_REVIEW
        stock.reserve(
            db,
            SYSTEM,
            [stock.ReservationLine(f"{shop}:{order}:1", sku, wh, rng.randint(1, 4), stage)],
            shop=shop,
            order_ref=order,
            expires_at=None,
            now=now,
        )


FETCHED_SHOPS = {
    "TM-WESTLAKE": "/taobao",
    "JD-WESTLAKE": "/jd",
    "PDD-WESTLAKE": "/pdd",
    "DY-WESTLAKE": "/douyin",
    "SHOPIFY-INTL": "/shopify",
}


def connect_shops_to_simulators(db: Database, cipher: PiiCipher, base_url: str, *, now: datetime) -> None:
    """Point each demo shop's automatic fetching at the local platform simulators."""
    from presale_erp.services import fetch
    from presale_erp.simulators.server import SimulatorState

    sim = SimulatorState()
    # The Tmall flagship locks stock when the deposit is paid (付定金锁), in the Hangzhou warehouse.
    catalog.set_stock_locking(db, SYSTEM, "TM-WESTLAKE", policy=StockLockPolicy.ON_DEPOSIT, warehouse="HZ", now=now)
    for shop, path in FETCHED_SHOPS.items():
        fetch.configure(
            db,
            cipher,
            SYSTEM,
            shop,
            base_url=base_url + path,
            app_key=sim.app_key,
            app_secret=sim.app_secret,
            access_token=sim.access_token,
            overlap_seconds=1800,
            lag_seconds=60,
            backfill_hours=24,
            now=now,
        )
