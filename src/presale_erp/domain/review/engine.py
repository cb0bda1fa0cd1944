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
from presale_erp.domain.review.rules import RULES


def default_settings() -> list[RuleSetting]:
    return [
        RuleSetting(code, True, action, priority, weight, dict(params))
        for priority, (code, (_, action, weight, params, _)) in enumerate(RULES.items(), start=1)
    ]


def review(order: ReviewOrder, ctx: ReviewContext, settings: list[RuleSetting]) -> Verdict:
    hits: list[Hit] = []
    for setting in sorted(settings, key=lambda s: s.priority):
        if not setting.enabled:
            continue
        check = RULES[setting.code][0]
        params = RULES[setting.code][3] | setting.params
        hits.extend(Hit(setting.code, reason, setting.action, setting.weight) for reason in check(order, ctx, params))
    actions = {hit.action for hit in hits}
    decision = (
        Decision.REJECTED
        if Action.REJECT in actions
        else Decision.HELD
        if Action.HOLD in actions
        else Decision.APPROVED
    )
    return Verdict(decision, min(sum(hit.weight for hit in hits), 100), hits)
