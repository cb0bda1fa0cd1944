"""One guard for every document's state machine: transitions are declared as data, checked in one place."""

from __future__ import annotations

from collections.abc import Set

from presale_erp.domain.errors import IllegalTransition


def guard_transition(document: str, allowed: Set[tuple[str, str]], from_state: str, to_state: str) -> None:
    if (from_state, to_state) not in allowed:
        raise IllegalTransition(document, from_state, to_state)
