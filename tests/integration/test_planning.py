"""Planning end to end on both databases: history in, forecasts stored with their versions, suggestions and
alerts that explain themselves, draft purchase orders in one action, alerts that resolve when the cause goes."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from presale_erp.adapters.db.tables import demand_forecasts
from presale_erp.domain.access import SYSTEM
from presale_erp.domain.errors import Conflict, InvalidRequest
from presale_erp.domain.ledger import ReservationStage
from presale_erp.domain.presale import CampaignSku, PresaleMode
from presale_erp.services import alerts, demand_history, forecasting, presale, purchasing, replenishment, stock
from presale_erp.services.demand_history import CampaignDay, HistoryDay
from tests import builders
from tests.conftest import NOW

DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
TODAY = demand_history.beijing_day(NOW)


def steady_history(sku: str, per_day: int, days: int = 400) -> list[HistoryDay]:
    rng = random.Random(7)
    return [
        HistoryDay(sku, "HZ", TODAY - n * DAY, max(per_day + rng.randint(-3, 3), 0), Decimal("0"))
        for n in range(1, days + 1)
    ]


@pytest.fixture
def tea(db):
    builders.warehouse(db)
    builders.sku(db, "TEA-250G")  # cost 80, price 198
    builders.receive(db, "TEA-250G", "HZ", 30)
    demand_history.import_history(db, SYSTEM, steady_history("TEA-250G", 10), now=NOW)
    purchasing.create_supplier(db, SYSTEM, purchasing.NewSupplier("WESTLAKE-TEA", "西湖茶厂"), now=NOW)
    purchasing.set_supplier_terms(
        db, SYSTEM, "WESTLAKE-TEA", "TEA-250G",
        unit_cost=Decimal("75.00"), min_order=50, lead_time_days=Decimal("14"), now=NOW,
    )  # fmt: skip
    return db


def plan(db) -> replenishment.PlanReport:
    forecasting.run_demand_forecast(db, SYSTEM, now=NOW, horizon=28)
    forecasting.run_presale_forecast(db, SYSTEM, now=NOW)
    return replenishment.plan(db, SYSTEM, now=NOW)


def open_alerts(db) -> dict[str, dict]:
    return {a["kind"]: a for a in alerts.list_alerts(db)}


def test_a_demand_forecast_is_stored_with_the_model_and_data_version_that_made_it(tea):
    summary = forecasting.run_demand_forecast(tea, SYSTEM, now=NOW, horizon=28)

    latest = forecasting.latest_demand_forecast(tea, sku="TEA-250G")
    assert latest["run"]["model_version"] == summary.model_version == "production/1.0.0"
    assert latest["run"]["data_version"] == summary.data_version and len(summary.data_version) == 16
    assert len(latest["rows"]) == 28
    assert all(r["low"] <= r["mean"] <= r["high"] for r in latest["rows"])
    assert sum(r["mean"] for r in latest["rows"]) / 28 == pytest.approx(10, rel=0.25)


def test_a_short_stocked_sku_gets_a_reorder_suggestion_and_explained_alerts(tea):
    report = plan(tea)

    (suggestion,) = replenishment.list_suggestions(tea)
    assert (suggestion["sku"], suggestion["warehouse"], suggestion["supplier"]) == ("TEA-250G", "HZ", "WESTLAKE-TEA")
    assert suggestion["quantity"] >= 50 and suggestion["unit_cost"] == Decimal("75.00")
    assert "reorder point" in suggestion["explanation"]
    found = open_alerts(tea)
    assert {"below_safety_stock", "stockout_before_inbound"} <= found.keys()
    stockout = found["stockout_before_inbound"]
    assert stockout["severity"] == "critical" and stockout["money_at_stake"] > 0
    assert "run out on" in stockout["reason"] and "Expedite" in stockout["action"]
    assert report.alerts_opened == len(found)


def test_suggestions_become_one_draft_purchase_order_per_supplier_and_warehouse(tea):
    plan(tea)
    (suggestion,) = replenishment.list_suggestions(tea)

    (po,) = purchasing.draft_from_suggestions(tea, SYSTEM, [suggestion["id"]], now=NOW)

    assert po["status"] == "draft" and po["code"].startswith("PO20261102-")
    assert po["total"] == Decimal("75.00") * suggestion["quantity"]
    assert po["promised_on"] == TODAY + 14 * DAY
    (line,) = purchasing.purchase_order_lines_of(tea, po["code"])
    assert (line["sku"], line["quantity"]) == ("TEA-250G", suggestion["quantity"])
    assert line["suggestion_id"] == suggestion["id"]
    assert replenishment.list_suggestions(tea) == []
    with pytest.raises(Conflict):
        purchasing.draft_from_suggestions(tea, SYSTEM, [suggestion["id"]], now=NOW)


def test_alerts_resolve_when_their_cause_is_gone_and_are_not_duplicated_while_it_holds(tea):
    plan(tea)
    first = open_alerts(tea)
    plan(tea)
    assert {k: a["id"] for k, a in open_alerts(tea).items()} == {k: a["id"] for k, a in first.items()}

    builders.receive(tea, "TEA-250G", "HZ", 2000, id="big-delivery")
    report = plan(tea)

    assert report.alerts_resolved >= 2
    assert "stockout_before_inbound" not in open_alerts(tea)
    resolved = alerts.list_alerts(tea, status="resolved")
    assert {a["kind"] for a in resolved} >= {"below_safety_stock", "stockout_before_inbound"}


def test_too_little_history_is_refused_with_a_reason(db):
    builders.warehouse(db)
    builders.sku(db, "NEW-1")
    demand_history.import_history(db, SYSTEM, steady_history("NEW-1", 5, days=10), now=NOW)

    with pytest.raises(InvalidRequest, match="28 days of sales history"):
        forecasting.run_demand_forecast(db, SYSTEM, now=NOW)


# --- presale ----------------------------------------------------------------------------------------------------


def campaign(db, code: str, deposit_start: date, *, quota: int, on: bool = True) -> None:
    start = NOW.replace(year=deposit_start.year, month=deposit_start.month, day=deposit_start.day)
    presale.create_campaign(
        db,
        SYSTEM,
        presale.NewCampaign(
            code=code, name=code, mode=PresaleMode.DEPOSIT, shop="TM-1",
            deposit_starts_at=start, deposit_ends_at=start + 10 * DAY,
            balance_starts_at=start + 11 * DAY, balance_ends_at=start + 13 * DAY, ships_from=start + 15 * DAY,
            skus=[CampaignSku("TEA-250G", "HZ", quota, Decimal("198.00"), Decimal("30.00"))],
        ),
        now=NOW,
    )  # fmt: skip
    if on:
        presale.open_campaign(db, SYSTEM, code, now=NOW)


def past_campaign(db, code: str, start: date, per_day: int, kept_share: float) -> None:
    """A finished campaign: `per_day` deposits a day for 10 days, `kept_share` of them paid the balance."""
    campaign(db, code, start, quota=0, on=False)
    days = [CampaignDay("TEA-250G", start + n * DAY, per_day) for n in range(10)]
    days[-1] = CampaignDay("TEA-250G", days[-1].day, per_day, balance_paid=round(10 * per_day * kept_share))
    demand_history.import_campaign_days(db, SYSTEM, code, days)


@pytest.fixture
def live_campaign(tea):
    builders.shop(tea, "TM-1")
    for n, (start, kept) in enumerate([(date(2025, 6, 1), 0.8), (date(2025, 11, 1), 0.7), (date(2026, 6, 1), 0.75)]):
        past_campaign(tea, f"PAST-{n}", start, per_day=20, kept_share=kept)
    campaign(tea, "DOUBLE11", TODAY - 5 * DAY, quota=1000)
    for n in range(100):  # 100 deposits over the first four days, 10 of them refunded since
        stock.reserve(
            tea, SYSTEM,
            [stock.ReservationLine(f"TM-1:D{n}:1", "TEA-250G", "HZ", 1, ReservationStage.PRESALE_BOOKED)],
            shop="TM-1", order_ref=f"D{n}", expires_at=None, now=NOW - 4 * DAY + (n // 20) * 18 * HOUR + HOUR,
        )  # fmt: skip
    stock.release(tea, SYSTEM, [f"TM-1:D{n}:1" for n in range(10)], now=NOW)
    return tea


def test_a_live_campaign_is_forecast_from_its_deposits_and_past_campaigns(live_campaign):
    summary, (estimate,) = forecasting.run_presale_forecast(live_campaign, SYSTEM, now=NOW)

    e = estimate.forecast.explanation
    assert (e.committed, e.cancelled, e.on_books) == (100, 10, 90)
    assert estimate.forecast.days_before == 6  # deposits close at the end of 11-07 (UTC), 11-08 in Beijing
    assert [c.split("/")[0] for c in e.analog_campaigns] == ["PAST-0", "PAST-1", "PAST-2"]
    assert estimate.forecast.low < estimate.forecast.point < estimate.forecast.high
    (row,) = forecasting.latest_presale_forecast(live_campaign)["rows"]
    assert row["campaign"] == "DOUBLE11" and row["committed"] == 90
    assert "Past campaigns (PAST-0, PAST-1, PAST-2)" in row["explanation"]
    assert summary.model == "analog_conversion"


def test_presale_demand_running_ahead_of_stock_raises_an_alert_and_a_presale_suggestion(live_campaign):
    plan(live_campaign)

    ahead = alerts.list_alerts(live_campaign, kind="presale_ahead_of_stock", campaign="DOUBLE11")
    assert len(ahead) == 1
    assert "balance" in ahead[0]["reason"] and ahead[0]["money_at_stake"] > 0
    (suggestion,) = replenishment.list_suggestions(live_campaign)  # no second, reorder suggestion for the same stock
    assert suggestion["kind"] == "presale" and "regular sales until" in suggestion["explanation"]


def test_opened_and_resolved_alerts_are_queued_for_webhook_subscribers(tea):
    from presale_erp.adapters.crypto import PiiCipher
    from presale_erp.services import webhooks

    cipher = PiiCipher(b"p" * 32)
    webhooks.subscribe(tea, cipher, SYSTEM, "https://wms.example.com/hooks", ["alert.opened", "alert.resolved"],
                       "a-secret-of-some-length", NOW)  # fmt: skip
    plan(tea)
    opened = webhooks.list_deliveries(tea, status="pending")
    assert {d["event"] for d in opened} == {"alert.opened"}
    assert len(opened) == len(open_alerts(tea))

    builders.receive(tea, "TEA-250G", "HZ", 2000, id="big-delivery")
    plan(tea)

    events = [d["event"] for d in webhooks.list_deliveries(tea, status="pending")]
    assert events.count("alert.resolved") >= 2


def test_allocated_orders_roll_up_into_the_history_of_the_warehouse_that_serves_them(db):
    from tests.integration.test_fulfilment import approve_and_allocate, push
    from tests.integration.test_fulfilment import set_up as fulfilment_set_up

    fulfilment_set_up(db)
    push(db, "9001", units=2)  # 浙江: served from HZ
    push(db, "9002", units=1, province="广东省", buyer="b2")  # 广东: served from GZ
    assert approve_and_allocate(db).allocated == 2

    rows = demand_history.roll_up_orders(db, today=TODAY)

    history = demand_history.history_frame(db)
    by_series = dict(zip(history["id"], history["quantity"], strict=True))
    assert rows == 2 and by_series == {"TEA-250G@HZ": 2, "TEA-250G@GZ": 1}
    assert set(history["date"].dt.date) == {TODAY}  # ordered 2 hours before NOW, the same Beijing day


def test_old_demand_runs_keep_their_versions_but_not_their_daily_rows(tea, monkeypatch):
    monkeypatch.setattr(forecasting, "KEEP_DEMAND_RUNS", 1)

    first = forecasting.run_demand_forecast(tea, SYSTEM, now=NOW, horizon=7)
    second = forecasting.run_demand_forecast(tea, SYSTEM, now=NOW, horizon=7)

    assert [r["id"] for r in forecasting.list_runs(tea, kind="demand")] == [second.run_id, first.run_id]
    assert len(forecasting.latest_demand_forecast(tea)["rows"]) == 7
    with tea.uow(write=False) as uow:
        runs_with_rows = {r for (r,) in uow.conn.execute(select(demand_forecasts.c.run_id).distinct())}
    assert runs_with_rows == {second.run_id}
