"""Smart review (智能审单): the rule set, running review, staff decisions on held orders, the blacklist."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from presale_erp.api.deps import DbDep, NowDep, actor_with
from presale_erp.domain.access import Permission
from presale_erp.domain.review.model import Action
from presale_erp.domain.review.rules import RULES
from presale_erp.services import catalog, review

router = APIRouter(prefix="/api/v1", tags=["review"])
Read = actor_with(Permission.ORDERS_READ)
Review = actor_with(Permission.ORDERS_REVIEW)
RulesWrite = actor_with(Permission.REVIEW_RULES_WRITE)
FinanceReview = actor_with(Permission.FINANCE_REVIEW)
ShopsWrite = actor_with(Permission.SHOPS_WRITE)


class RuleOut(BaseModel):
    code: str
    name_zh: str
    enabled: bool
    action: Action
    priority: int
    weight: int
    params: dict[str, Any]


class RuleIn(BaseModel):
    enabled: bool
    action: Action
    priority: int = Field(ge=1, le=1000)
    weight: int = Field(ge=0, le=100, description="Adds to the order's risk score when the rule hits")
    params: dict[str, Any] = Field(default_factory=dict)


class ReviewReportOut(BaseModel):
    reviewed: int
    approved: int
    held: int
    rejected: int
    waiting: int = Field(description="Still in their cooling-off time; reviewed again on the next run")
    awaiting_finance: int = Field(description="Passed 客审; the shop wants 财审 too")


class DecisionIn(BaseModel):
    order_ids: list[Annotated[int, Field(ge=1, le=2**63 - 1)]] = Field(min_length=1, max_length=5000)
    approve: bool
    note: str = Field(default="", max_length=300)


class DecisionOut(BaseModel):
    decided: int


class BlacklistIn(BaseModel):
    kind: str = Field(pattern="^(buyer|phone|address)$")
    value: str = Field(min_length=1, max_length=300, description="Kept only as a keyed hash")
    note: str = Field(default="", max_length=300)


class BlacklistOut(BaseModel):
    id: int
    kind: str
    label: str
    note: str
    created_at: datetime
    created_by: str


def _rule(setting) -> dict:
    return {
        "code": setting.code,
        "name_zh": RULES[setting.code][4],
        "enabled": setting.enabled,
        "action": setting.action,
        "priority": setting.priority,
        "weight": setting.weight,
        "params": RULES[setting.code][3] | setting.params,
    }


@router.get("/review-rules", response_model=list[RuleOut], summary="The review rule set")
def list_rules(actor: Read, db: DbDep) -> list[dict]:
    return [_rule(s) for s in review.rule_settings(db)]


@router.put("/review-rules/{code}", response_model=RuleOut, summary="Change a rule: on/off, action, priority, params")
def update_rule(code: str, body: RuleIn, actor: RulesWrite, db: DbDep, now: NowDep) -> dict:
    return _rule(review.update_rule(db, actor, code, **body.model_dump(), now=now))


@router.post("/review/run", response_model=ReviewReportOut, summary="Review every pending paid order now")
def run_review(request: Request, actor: Review, db: DbDep, now: NowDep) -> dict:
    return review.review_pending(db, request.app.state.cipher, actor, now=now).__dict__


@router.post("/review/decisions", response_model=DecisionOut, summary="Approve or reject held orders, in bulk")
def decide(body: DecisionIn, actor: Review, db: DbDep, now: NowDep) -> dict:
    return {"decided": review.decide(db, actor, body.order_ids, approve=body.approve, note=body.note, now=now)}


@router.post(
    "/review/financial-decisions",
    response_model=DecisionOut,
    summary="财审: finance approves or rejects orders awaiting it, in bulk",
)
def decide_financially(body: DecisionIn, actor: FinanceReview, db: DbDep, now: NowDep) -> dict:
    return {
        "decided": review.decide(
            db, actor, body.order_ids, approve=body.approve, note=body.note, now=now, stage="finance"
        )
    }


class ReviewSettingsIn(BaseModel):
    financial_review: bool = Field(description="Orders of this shop need 财审 after 客审")


class ReviewSettingsOut(BaseModel):
    code: str
    financial_review: bool


@router.put("/shops/{code}/review-settings", response_model=ReviewSettingsOut, summary="Ask for 财审 in a shop")
def review_settings(code: str, body: ReviewSettingsIn, actor: ShopsWrite, db: DbDep, now: NowDep) -> dict:
    return catalog.set_financial_review(db, actor, code, enabled=body.financial_review, now=now)


@router.get("/blacklist", response_model=list[BlacklistOut], summary="Blacklisted buyers, phones and addresses")
def list_blacklist(actor: Review, db: DbDep) -> list[dict]:
    return review.blacklist(db)


@router.post("/blacklist", response_model=BlacklistOut, status_code=201, summary="Blacklist a buyer, phone or address")
def add_blacklist(body: BlacklistIn, request: Request, actor: Review, db: DbDep, now: NowDep) -> dict:
    return review.add_to_blacklist(
        db, request.app.state.cipher, actor, kind=body.kind, value=body.value, note=body.note, now=now
    )


@router.delete("/blacklist/{entry_id}", status_code=204, summary="Remove a blacklist entry")
def remove_blacklist(entry_id: Annotated[int, Path(ge=1, le=2**31 - 1)], actor: Review, db: DbDep, now: NowDep) -> None:
    review.remove_from_blacklist(db, actor, entry_id, now=now)
