"""Running a rule set over a batch: every enabled rule, in priority order; the strongest action decides."""

from __future__ import annotations

from presale_erp.domain.review.model import (
    Action,
    Decision,
    Hit,
    ReviewContext,
    ReviewOrder,
    RuleSetting,
    Verdict,
)
from presale_erp.domain.review.rules import RULES, Check


def default_settings() -> list[RuleSetting]:
    return [
        RuleSetting(code, True, action, priority, weight, dict(params))
        for priority, (code, (_, action, weight, params, _)) in enumerate(RULES.items(), start=1)
    ]


Compiled = list[tuple[str, Check, dict, Action, int]]


def compile_settings(settings: list[RuleSetting]) -> Compiled:
    """Once per batch: the enabled rules in priority order, each with its parameters merged over the defaults."""
    return [
        (s.code, RULES[s.code][0], RULES[s.code][3] | s.params, s.action, s.weight)
        for s in sorted(settings, key=lambda s: s.priority)
        if s.enabled
    ]


def review(order: ReviewOrder, ctx: ReviewContext, settings: list[RuleSetting] | Compiled) -> Verdict:
    compiled = compile_settings(settings) if settings and isinstance(settings[0], RuleSetting) else settings
    hits: list[Hit] = []
    for code, check, params, action, weight in compiled:
        hits.extend(Hit(code, reason, action, weight) for reason in check(order, ctx, params))
    actions = {hit.action for hit in hits}
    decision = (
        Decision.REJECTED
        if Action.REJECT in actions
        else Decision.HELD
        if Action.HOLD in actions
        else Decision.APPROVED
    )
    return Verdict(decision, min(sum(hit.weight for hit in hits), 100), hits)
