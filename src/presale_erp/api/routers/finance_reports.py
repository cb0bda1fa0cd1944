"""Finance reports (财务报表) as JSON, or as an Excel workbook with `?format=xlsx`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from presale_erp.adapters.exporting import finance_reports as sheets
from presale_erp.adapters.exporting.sheets import XLSX_MEDIA_TYPE
from presale_erp.api.deps import DbDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.services import cash_gap, finance_reports
from presale_erp.services.finance_reports import ReportFilters

router = APIRouter(prefix="/api/v1/finance/reports", tags=["finance reports"])
Reader = actor_with(Permission.FINANCE_READ)
Code = Annotated[str | None, Query(min_length=1, max_length=64)]
Format = Annotated[Literal["json", "xlsx"], Query(description="json, or xlsx for an Excel workbook")]


def filters(
    date_from: Annotated[date | None, Query(description="First Beijing day, included")] = None,
    date_to: Annotated[date | None, Query(description="Last Beijing day, included")] = None,
    shop: Code = None,
    sku: Code = None,
    warehouse: Code = None,
) -> ReportFilters:
    return ReportFilters(date_from, date_to, shop, sku, warehouse)


Filters = Annotated[ReportFilters, Depends(filters)]


class CashRow(BaseModel):
    day: date
    channel: str
    money_in: Decimal
    money_out: Decimal
    net: Decimal
    balance: Decimal = Field(description="The channel's running balance, everything before date_from included")


class CashTotals(BaseModel):
    opening: Decimal
    money_in: Decimal
    money_out: Decimal
    net: Decimal
    closing: Decimal


class CashOut(BaseModel):
    rows: list[CashRow]
    totals: CashTotals


class CashGapRow(BaseModel):
    day: date
    deposits: Decimal
    balances: Decimal = Field(description="Balances and full payments received")
    refunds: Decimal
    collected: Decimal
    expected_balances: Decimal = Field(description="Balances of orders awaiting balance, due that day")
    payables_due: Decimal = Field(description="Supplier payables falling due that day")
    net: Decimal
    position: Decimal = Field(description="Cumulative: below zero is the gap to bridge")


class Undated(BaseModel):
    expected_balances: Decimal
    payables_due: Decimal


class CashGapOut(BaseModel):
    campaign: str | None
    rows: list[CashGapRow]
    undated: Undated


class PnlFigures(BaseModel):
    gross_revenue: Decimal
    refunds: Decimal
    forfeited_deposits: Decimal
    net_revenue: Decimal
    cogs: Decimal
    gross_profit: Decimal
    gross_margin: Decimal | None
    fees: Decimal
    net_profit: Decimal
    units_shipped: int
    units_returned: int


class PnlRow(PnlFigures):
    key: str | None = Field(description="Shop, SKU or warehouse code, or the day/month; null: unallocated fees")
    name: str | None


class PnlOut(BaseModel):
    group_by: str
    rows: list[PnlRow]
    totals: PnlFigures


class RefundFigures(BaseModel):
    units_shipped: int
    units_returned: int
    return_rate: Decimal | None
    revenue: Decimal
    refunds: Decimal
    refund_rate: Decimal | None


class RefundRow(RefundFigures):
    key: str
    name: str


class RefundOut(BaseModel):
    group_by: str
    rows: list[RefundRow]
    totals: RefundFigures


class WarehouseValue(BaseModel):
    warehouse: str
    units: int
    value: Decimal
    units_without_cost: int
    damaged_units: int
    damaged_value: Decimal
    damaged_units_without_cost: int


class ValuationLine(BaseModel):
    sku: str
    warehouse: str
    on_hand: int
    damaged: int
    unit_cost: Decimal | None
    source: str
    value: Decimal | None
    damaged_value: Decimal | None


class ValuationTotals(BaseModel):
    units: int
    value: Decimal
    units_without_cost: int
    damaged_units: int
    damaged_value: Decimal


class ValuationOut(BaseModel):
    warehouses: list[WarehouseValue]
    lines: list[ValuationLine]
    totals: ValuationTotals


def _answer(report: dict[str, Any], format: str, name: str, sheet: Callable[[dict[str, Any]], bytes]) -> Any:
    if format == "json":
        return report
    return Response(
        sheet(report),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


@router.get("/cash", response_model=CashOut, summary="Daily cash in and out per channel (资金日报)")
def cash(actor: Reader, db: DbDep, found: Filters, format: Format = "json") -> Any:
    return _answer(finance_reports.cash(db, actor, found), format, "cash", sheets.cash_workbook)


@router.get("/cash-gap", response_model=CashGapOut, summary="Presale receipts vs supplier payables (资金缺口)")
def cash_gap_report(
    actor: Reader,
    db: DbDep,
    found: Filters,
    campaign: Annotated[str | None, Query(min_length=1, max_length=64, description="Presale campaign code")] = None,
    format: Format = "json",
) -> Any:
    report = cash_gap.cash_gap(db, actor, found, campaign=campaign)
    return _answer(report, format, "cash-gap", sheets.cash_gap_workbook)


@router.get("/pnl", response_model=PnlOut, summary="Profit and loss at moving-average cost (利润表)")
def pnl(
    actor: Reader,
    db: DbDep,
    found: Filters,
    group_by: Literal["shop", "sku", "warehouse", "day", "month"] = "shop",
    format: Format = "json",
) -> Any:
    report = finance_reports.pnl(db, actor, found, group_by)
    return _answer(report, format, f"pnl-{group_by}", sheets.pnl_workbook)


@router.get("/refund-rates", response_model=RefundOut, summary="Return and refund rates by SKU or shop (退款率)")
def refund_rates(
    actor: Reader, db: DbDep, found: Filters, group_by: Literal["sku", "shop"] = "sku", format: Format = "json"
) -> Any:
    report = finance_reports.refund_rates(db, actor, found, group_by)
    return _answer(report, format, f"refund-rates-{group_by}", sheets.refund_rates_workbook)


@router.get(
    "/inventory-valuation", response_model=ValuationOut, summary="Stock value at moving-average cost (库存金额)"
)
def inventory_valuation(actor: Reader, db: DbDep, found: Filters, format: Format = "json") -> Any:
    report = finance_reports.inventory_valuation(db, actor, found)
    return _answer(report, format, "inventory-valuation", sheets.valuation_workbook)
