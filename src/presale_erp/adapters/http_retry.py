"""What every outbound HTTP client here shares (platforms, carriers): how long a server asked us to wait."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

LONGEST_WAIT = 300.0  # seconds: a Retry-After beyond this is a server's mistake, not a plan


def retry_after(value: str | None, default: float) -> float:
    """Seconds to wait: Retry-After is either a number of seconds or an HTTP date."""
    if not value:
        return default
    try:
        return min(float(value), LONGEST_WAIT)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), LONGEST_WAIT)
