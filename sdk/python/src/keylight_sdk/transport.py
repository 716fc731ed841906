"""HTTP with bounded retries: exponential backoff with jitter, honouring ``Retry-After``.

Retried: 408, 429 and 5xx answers, and failures to reach the server. A request that is not
idempotent (an activation without ``machine_hash`` takes a new slot each time it lands) is
retried only when the server cannot have acted on it: connection failures, 408, 429 and 503
(the server answers 503 when nothing was committed).
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from .errors import KeylightAPIError, KeylightNetworkError

RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SAFE_TO_REPEAT_STATUSES = frozenset({408, 429, 503})
# failures that mean the request never reached the server
_NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Transport:
    def __init__(
        self,
        http: httpx.Client,
        *,
        max_retries: int = 3,
        backoff_base: float = 0.5,
        backoff_max: float = 8.0,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.http = http
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.sleep = sleep

    def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send, retrying as the module describes. Returns the final response, whatever its
        status; raises KeylightNetworkError when the server could not be reached at all."""
        sent_headers = {"X-Keylight-Request-Id": secrets.token_hex(4), **(headers or {})}
        for attempt in range(self.max_retries + 1):
            last_attempt = attempt == self.max_retries
            try:
                response = self.http.request(method, url, json=json, headers=sent_headers)
            except httpx.TransportError as exc:
                not_sent = isinstance(exc, _NOT_SENT_ERRORS)
                if last_attempt or not (idempotent or not_sent):
                    raise KeylightNetworkError(f"{method} {url}: {exc!r}") from exc
                self.sleep(self.backoff(attempt))
                continue
            statuses = RETRYABLE_STATUSES if idempotent else SAFE_TO_REPEAT_STATUSES
            if last_attempt or response.status_code not in statuses:
                return response
            retry_after = retry_after_seconds(response)
            if retry_after is not None and retry_after > self.max_retry_after:
                return response  # the server asks for longer than we are willing to block
            self.sleep(retry_after if retry_after is not None else self.backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def backoff(self, attempt: int) -> float:
        """Delay before retry ``attempt + 1``: half fixed, half random ("equal jitter")."""
        delay = min(self.backoff_max, self.backoff_base * 2**attempt)
        return delay / 2 + random.uniform(0, delay / 2)


def retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def api_error(response: httpx.Response) -> KeylightAPIError:
    """The typed error for a non-success answer; the body is ``{"error", "code"}``."""
    message, code = response.reason_phrase or "HTTP error", f"HTTP_{response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            message = body["error"]
        if isinstance(body.get("code"), str):
            code = body["code"]
    elif response.text:
        message = response.text[:200]
    return KeylightAPIError(response.status_code, code, message, retry_after_seconds(response))
