"""One POST of a webhook delivery. No retries here: the outbox (webhook_deliveries) keeps the schedule of retries,
so a receiver that is down for hours is tried again over hours, not hammered for a few seconds."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

import httpx

from presale_erp import __version__

USER_AGENT = f"presale-erp-webhooks/{__version__}"
ANSWER_KEPT = 200  # characters of a refusing receiver's answer kept in last_error, enough to see why


@dataclass(frozen=True)
class PostOutcome:
    """What happened to one POST: the HTTP status, or None if no answer came (the error says why)."""

    status: int | None
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookSender:
    """POSTs over one pooled client (safe to share between threads). Redirects are not followed: a receiver that
    moved should be subscribed again at its new address, not have signed events forwarded somewhere else."""

    def __init__(self, *, timeout: float = 10.0, http: httpx.Client | None = None, connections: int = 8) -> None:
        self._own_http = http is None
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self.http = http or httpx.Client(timeout=timeout, limits=limits, follow_redirects=False)

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostOutcome:
        try:
            response = self.http.post(url, content=body, headers={"User-Agent": USER_AGENT, **headers})
        except httpx.HTTPError as exc:  # refused, reset, timed out, TLS, a malformed address: try again later
            return PostOutcome(None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        if 200 <= response.status_code < 300:
            return PostOutcome(response.status_code)
        answer = response.text[:ANSWER_KEPT].strip()
        return PostOutcome(response.status_code, f"HTTP {response.status_code}" + (f": {answer}" if answer else ""))

    def close(self) -> None:
        if self._own_http:
            self.http.close()

    def __enter__(self) -> WebhookSender:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
