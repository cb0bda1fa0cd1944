"""Domain errors. Each carries the facts a person needs to act on it, in words they understand."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base of every business-rule refusal. `title` is short; `detail` says what happened and why."""

    title = "Request refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def facts(self) -> dict[str, object]:
        """Structured facts to expose alongside the message (e.g. in problem details)."""
        return {}


@dataclass(frozen=True)
class Shortfall:
    sku: str
    warehouse: str
    wanted: int
    available: int


class InsufficientStock(DomainError):
    title = "Insufficient stock"

    def __init__(self, lines: list[Shortfall]) -> None:
        self.lines = lines
        parts = [
            f"{line.sku} in {line.warehouse}: wanted {line.wanted}, only {line.available} available" for line in lines
        ]
        super().__init__("Insufficient stock: " + "; ".join(parts) + ".")

    def facts(self) -> dict[str, object]:
        return {
            "lines": [
                {"sku": s.sku, "warehouse": s.warehouse, "wanted": s.wanted, "available": s.available}
                for s in self.lines
            ]
        }


class NegativeStock(DomainError):
    title = "Stock would go negative"

    def __init__(self, where: str, bucket: str, current: int, change: int) -> None:
        self.where, self.bucket, self.current, self.change = where, bucket, current, change
        super().__init__(
            f"{where}: {bucket.replace('_', ' ')} is {current}, a change of {change} would make it "
            f"{current + change}; stock can never be negative."
        )

    def facts(self) -> dict[str, object]:
        return {"where": self.where, "bucket": self.bucket, "current": self.current, "change": self.change}


class IllegalTransition(DomainError):
    title = "Illegal state change"

    def __init__(self, document: str, from_state: str, to_state: str) -> None:
        self.document, self.from_state, self.to_state = document, from_state, to_state
        super().__init__(f"{document} cannot go from '{from_state}' to '{to_state}'.")

    def facts(self) -> dict[str, object]:
        return {"document": self.document, "from_state": self.from_state, "to_state": self.to_state}


class InvalidRequest(DomainError):
    """The request breaks a business rule about its own content (not about current state)."""

    title = "Invalid request"


class NotFound(DomainError):
    title = "Not found"


class Conflict(DomainError):
    """The request clashes with what already exists (a duplicate code, an id reused with other content)."""

    title = "Conflict"


class Unauthenticated(DomainError):
    title = "Not signed in"


class Forbidden(DomainError):
    title = "Not allowed"
