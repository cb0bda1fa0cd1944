"""The demo's planning data: suppliers and their terms, two years of daily sales per SKU and warehouse (weekly
rhythm, the tea and mooncake seasons, 618 and 双11 spikes), three finished presale campaigns with their deposit
curves, stock on its way, and a first planning pass, so that forecasts, suggestions and alerts are there at once."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from presale_erp.adapters.db.unit_of_work import Database
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.forecasting.sales_calendar import event_on
from presale_erp.domain.ledger import MovementKind
from presale_erp.domain.movements import MovementRequest
from presale_erp.domain.presale import CampaignSku, PresaleMode
from presale_erp.domain.supplier_contacts import Contact
from presale_erp.services import demand_history, planning, presale, purchasing, stock
from presale_erp.services.demand_history import CampaignDay, HistoryDay

HISTORY_DAYS = 730
# supplier code, name, lead time mean / spread (days), [(sku, unit cost, MOQ)]
SALES_NAMES = ["王芳", "李强", "张伟", "刘洋", "陈静", "杨磊"]
ACCOUNTS_NAMES = ["赵敏", "周婷", "吴刚", "郑丽", "孙悦", "马俊"]
SUPPLIERS = [
    ("SUP-LONGJING", "杭州西湖龙井茶厂", "14", "4", [("TEA-LJ-250G", "160.00", 100), ("TEA-LJ-100G", "68.00", 200)]),
    ("SUP-BILUOCHUN", "苏州东山碧螺春合作社", "10", "2", [("TEA-BLC-250G", "115.00", 50)]),
    ("SUP-PUER", "勐海普洱茶厂", "21", "6", [("TEA-PE-357G", "90.00", 100)]),
    ("SUP-MOONCAKE", "广州酒家食品厂", "12", "3", [("MOON-GIFT-6", "55.00", 300), ("MOON-GIFT-8", "63.00", 300)]),
    ("SUP-CELADON", "龙泉青瓷窑", "30", "8", [("CUP-SET-6", "200.00", 20)]),
    ("SUP-TIN", "云南个旧锡器厂", "18", "5", [("TEA-TIN-S", "36.00", 100)]),
]
# sku -> (units a normal day across all warehouses, season peak (month, strength))
DEMAND = {
    "TEA-LJ-250G": (24.0, (4, 1.6)),  # 明前 tea sells in spring
    "TEA-LJ-100G": (30.0, (4, 1.4)),
    "TEA-BLC-250G": (12.0, (4, 1.2)),
    "TEA-PE-357G": (34.0, (1, 0.5)),  # 普洱 a little before the new year
    "MOON-GIFT-6": (8.0, (9, 6.0)),  # mooncakes: the mid-autumn festival or almost nothing
    "MOON-GIFT-8": (5.0, (9, 6.0)),
    "CUP-SET-6": (3.0, (12, 0.6)),
    "TEA-TIN-S": (9.0, (12, 0.4)),
}
WAREHOUSE_SHARE = {"HZ": 0.55, "GZ": 0.30, "SH-3PL": 0.15}
LIFT = {"618": 3.0, "双11": 5.0, "双12": 1.8}  # a sales day's multiple of a normal day


def seed_planning(db: Database, *, now: datetime) -> None:
    _suppliers(db, now)
    _history(db, now)
    _past_campaigns(db, now)
    _stock_on_its_way(db, now)
    planning.run_cycle(db, SYSTEM, now=now)


def _contacts(n: int) -> tuple[Contact, ...]:
    """Each demo supplier's salesperson (primary) and accounts contact, with made-up numbers."""
    sales, accounts = SALES_NAMES[n % len(SALES_NAMES)], ACCOUNTS_NAMES[n % len(ACCOUNTS_NAMES)]
    return (
        Contact(sales, "业务", f"138{n:04d}{n * 7 % 10000:04d}", f"sales{n + 1}@supplier.example.com", True),
        Contact(accounts, "财务", f"0571-8{n:03d}{n * 3 % 1000:03d}0", f"finance{n + 1}@supplier.example.com"),
    )


def _suppliers(db: Database, now: datetime) -> None:
    for n, (code, name, lead, spread, terms) in enumerate(SUPPLIERS):
        new = purchasing.NewSupplier(code, name, Decimal(lead), Decimal(spread), contacts=_contacts(n))
        purchasing.create_supplier(db, SYSTEM, new, now=now)
        for sku, cost, moq in terms:
            purchasing.set_supplier_terms(
                db, SYSTEM, code, sku, unit_cost=Decimal(cost), min_order=moq, lead_time_days=Decimal(lead), now=now
            )


def _history(db: Database, now: datetime) -> None:
    today = demand_history.beijing_day(now)
    days = [today - timedelta(days=n) for n in range(HISTORY_DAYS, 0, -1)]
    rng = np.random.default_rng(20261111)
    rows = []
    for sku, (per_day, season) in DEMAND.items():
        rate = np.array([per_day * _rhythm(d, season) for d in days])
        for warehouse, share in WAREHOUSE_SHARE.items():
            sold = rng.poisson(rate * share)
            promotions = [event_on(d) for d in days]
            rows += [
                HistoryDay(sku, warehouse, d, int(q), Decimal("0"), promo)
                for d, q, promo in zip(days, sold, promotions, strict=True)
            ]
    demand_history.import_history(db, SYSTEM, rows, now=now)


def _rhythm(day: date, season: tuple[int, float]) -> float:
    """A day's multiple of normal sales: weekends busier, a seasonal hump around the peak month, event spikes
    (and the days just before them quieter: buyers wait for the discount)."""
    weekly = 1.25 if day.weekday() >= 5 else 0.93
    month, strength = season
    distance = min(abs(day.month - month), 12 - abs(day.month - month))
    seasonal = 1 + strength * math.exp(-(distance**2) / 1.5)
    lift = LIFT.get(event_on(day), 1.0)
    before_event = any(event_on(day + timedelta(days=k)) for k in (1, 2, 3))
    return weekly * seasonal * lift * (0.7 if before_event else 1.0)


def _past_campaigns(db: Database, now: datetime) -> None:
    """618 and 双11 of the past two years on the Tmall shop, with how their deposits came in and how many paid."""
    rng = np.random.default_rng(618)
    for n, (code, name, start) in enumerate(
        [
            ("618-2025", "618 明前龙井预售", datetime(2025, 5, 20, 12, tzinfo=now.tzinfo)),
            ("DOUBLE11-2025", "双11 龙井·月饼 定金预售", datetime(2025, 10, 21, 12, tzinfo=now.tzinfo)),
            ("618-2026", "618 明前龙井预售", datetime(2026, 5, 20, 12, tzinfo=now.tzinfo)),
        ]
    ):
        skus = [CampaignSku("TEA-LJ-250G", "HZ", 0, Decimal("398.00"), Decimal("50.00")),
                CampaignSku("TEA-LJ-100G", "HZ", 0, Decimal("168.00"), Decimal("20.00")),
                CampaignSku("MOON-GIFT-6", "HZ", 0, Decimal("158.00"), Decimal("30.00")),
                CampaignSku("MOON-GIFT-8", "GZ", 0, Decimal("188.00"), Decimal("30.00"))]  # fmt: skip
        window = 7
        presale.create_campaign(
            db,
            SYSTEM,
            presale.NewCampaign(
                code=code,
                name=name,
                mode=PresaleMode.DEPOSIT,
                shop="TM-WESTLAKE",
                deposit_starts_at=start,
                deposit_ends_at=start + timedelta(days=window),
                balance_starts_at=start + timedelta(days=window + 1),
                balance_ends_at=start + timedelta(days=window + 4),
                ships_from=start + timedelta(days=window + 6),
                skus=skus,
            ),
            now=start - timedelta(days=5),
        )
        presale.close_campaign(db, SYSTEM, code, now=start + timedelta(days=window + 4))
        for line in skus:
            size = {"TEA-LJ-250G": 90, "TEA-LJ-100G": 70, "MOON-GIFT-6": 60, "MOON-GIFT-8": 25}[line.sku] * (
                1 + 0.2 * n
            )
            demand_history.import_campaign_days(db, SYSTEM, code, _deposit_days(rng, line.sku, start, window, size))


def _deposit_days(
    rng: np.random.Generator, sku: str, start: datetime, window: int, per_day: float
) -> list[CampaignDay]:
    """Deposits heavy on the first day (the launch), quieter, then rising to the last evening; about 8% refunded
    during the window and 6% more never paying the balance."""
    shape = np.array([2.2, 0.9, 0.7, 0.7, 0.9, 1.3, 2.3])[:window]
    first = demand_history.beijing_day(start)
    days, kept = [], 0
    for i, weight in enumerate(shape):
        deposits = int(rng.poisson(per_day * weight))
        refunded = int(rng.binomial(deposits, 0.08))
        kept += deposits - refunded
        days.append(CampaignDay(sku, first + timedelta(days=i), deposits, refunded))
    lapsed = int(rng.binomial(kept, 0.06))
    last = days[-1]
    days[-1] = CampaignDay(sku, last.day, last.deposits, last.cancelled, balance_paid=kept - lapsed)
    return days


def _stock_on_its_way(db: Database, now: datetime) -> None:
    """A mooncake supplier shipped a full truck to Guangzhou for 双11: more than the campaign will need."""
    stock.post_movement(
        db,
        SYSTEM,
        "demo:asn:MOON-GIFT-8:GZ",
        MovementRequest(MovementKind.INBOUND_NOTICE, "MOON-GIFT-8", "GZ", 1500),
        reference="PO-20261028",
        now=now - timedelta(days=1),
    )
