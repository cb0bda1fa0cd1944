"""发货确认: confirm parcels shipped (by code or tracking number, many in one call); stock leaves through the
ledger and each line's revenue and cost are booked."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, model_validator

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.services import shipping_confirmation

router = APIRouter(prefix="/api/v1/fulfilment", tags=["fulfilment"])
# Shipping posts stock movements: the warehouse's permission, not customer service's.
Ship = actor_with(Permission.STOCK_MOVE)
Ref = Annotated[str, Field(min_length=1, max_length=40)]


class ShipIn(BaseModel):
    codes: list[Ref] = Field(default_factory=list, max_length=500, description="Parcel codes")
    tracking_numbers: list[Ref] = Field(default_factory=list, max_length=500, description="Or tracking numbers")

    @model_validator(mode="after")
    def _names_something(self) -> ShipIn:
        if not self.codes and not self.tracking_numbers:
            raise ValueError("name at least one parcel, by code or by tracking number")
        return self


class ShipOut(BaseModel):
    shipped: list[str]
    already_shipped: list[str]
    refused: dict[str, str] = Field(description="Parcel code or tracking number -> why it did not ship")
    postings: int = Field(description="Sales postings written (one per parcel line)")
    uncosted: list[str] = Field(description="sku@warehouse shipped at unit cost 0: no cost known yet")


@router.post("/parcels/ship", response_model=ShipOut, summary="发货确认: parcels shipped, stock out, revenue and cost")
def ship(body: ShipIn, actor: Ship, db: DbDep, now: NowDep) -> dict:
    report = shipping_confirmation.ship_parcels(
        db, actor, codes=body.codes, tracking_numbers=body.tracking_numbers, now=now
    )
    return report.__dict__
