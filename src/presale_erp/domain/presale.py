"""Presale campaigns (预售活动): windows for deposit and balance, a ship-from date, and quotas per SKU."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from presale_erp.domain.errors import InvalidRequest
from presale_erp.domain.transitions import guard_transition


class PresaleMode(StrEnum):
    DEPOSIT = "deposit"  # 定金预售: deposit, then balance
    FULL_PAYMENT = "full_payment"  # 全款预售
    STEPPED = "stepped"  # 阶梯发货 (Douyin): a spot part ships now, the rest later


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"  # selling: quotas are in force
    CLOSED = "closed"  # no more selling ahead of stock; bookings already taken stay backed


CAMPAIGN_TRANSITIONS = frozenset(
    {
        (CampaignStatus.DRAFT, CampaignStatus.OPEN),
        (CampaignStatus.OPEN, CampaignStatus.CLOSED),
        (CampaignStatus.DRAFT, CampaignStatus.CLOSED),
    }
)


@dataclass(frozen=True)
class CampaignSku:
    sku: str
    warehouse: str
    presale_quota: int
    price: Decimal
    deposit: Decimal

    def __post_init__(self) -> None:
        if self.presale_quota < 0:
            raise InvalidRequest(f"{self.sku}: the presale quota cannot be negative.")
        if self.price <= 0:
            raise InvalidRequest(f"{self.sku}: the presale price must be above zero.")
        if not (0 <= self.deposit <= self.price):
            raise InvalidRequest(f"{self.sku}: the deposit must be between 0 and the price ({self.price}).")

    @property
    def balance(self) -> Decimal:
        return self.price - self.deposit


@dataclass
class Campaign:
    code: str
    name: str
    mode: PresaleMode
    deposit_starts_at: datetime
    deposit_ends_at: datetime
    balance_starts_at: datetime | None
    balance_ends_at: datetime | None
    ships_from: datetime
    status: CampaignStatus = CampaignStatus.DRAFT
    skus: list[CampaignSku] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._check_windows()

    def _check_windows(self) -> None:
        if self.deposit_ends_at <= self.deposit_starts_at:
            raise InvalidRequest(f"Campaign {self.code}: the deposit window must end after it starts.")
        if self.mode is PresaleMode.DEPOSIT:
            if self.balance_starts_at is None or self.balance_ends_at is None:
                raise InvalidRequest(f"Campaign {self.code}: a deposit presale needs a balance window.")
            if self.balance_starts_at < self.deposit_starts_at:
                raise InvalidRequest(f"Campaign {self.code}: the balance window cannot open before deposits.")
            if self.balance_ends_at <= self.balance_starts_at:
                raise InvalidRequest(f"Campaign {self.code}: the balance window must end after it starts.")
            if self.ships_from < self.balance_starts_at:
                raise InvalidRequest(f"Campaign {self.code}: goods cannot ship before the balance window opens.")
        elif self.ships_from < self.deposit_starts_at:
            raise InvalidRequest(f"Campaign {self.code}: goods cannot ship before the campaign starts.")

    def move_to(self, status: CampaignStatus) -> None:
        guard_transition(f"Presale campaign {self.code}", CAMPAIGN_TRANSITIONS, self.status, status)
        self.status = status

    def balance_due_at(self) -> datetime | None:
        return self.balance_ends_at

    def phase_at(self, now: datetime) -> str:
        """Where the campaign stands for a buyer at `now`: before, deposit, awaiting balance, balance, shipping."""
        if now < self.deposit_starts_at:
            return "not_started"
        if now < self.deposit_ends_at:
            return "deposit"
        if self.balance_starts_at and now < self.balance_starts_at:
            return "awaiting_balance"
        if self.balance_ends_at and now < self.balance_ends_at:
            return "balance"
        if now < self.ships_from:
            return "awaiting_ship_date"
        return "shipping"
