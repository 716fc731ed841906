"""Posting one signed delivery with a shared httpx client: one attempt, one result."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from ..domain.errors import InvalidInput
from ..domain.webhook_retry import is_success, response_snippet
from .webhook_signing import USER_AGENT
from .webhook_targets import checked_target

# Enough of the answer for the 500-character snippet; the rest is never read.
READ_LIMIT_BYTES = 8192
ERROR_CHARS = 500


@dataclass(frozen=True)
class AttemptResult:
    url: str
    started_at: float  # Unix seconds
    duration_ms: int
    http_status: int | None = None
    snippet: str | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.error is None and is_success(self.http_status)


class WebhookSender:
    def __init__(self, *, timeout_seconds: float, max_connections: int,
                 allow_private: bool) -> None:
        self.timeout_seconds = timeout_seconds
        self._allow_private = allow_private
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            follow_redirects=False,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections),
            headers={"user-agent": USER_AGENT},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, headers: dict[str, str], body: bytes) -> AttemptResult:
        """Never raises: any answer, refusal, error or timeout becomes the result.

        Success is a 2xx answer within the timeout, counted from the first byte sent to
        the end of reading the (start of the) answer.
        """
        started, clock = time.time(), time.perf_counter()

        def finished(http_status: int | None = None, snippet: str | None = None,
                     error: str | None = None) -> AttemptResult:
            elapsed = int((time.perf_counter() - clock) * 1000)
            return AttemptResult(url, started, elapsed, http_status, snippet, error)

        try:
            await checked_target(url, allow_private=self._allow_private)
            status, raw = await asyncio.wait_for(self._post(url, headers, body),
                                                 self.timeout_seconds)
        except InvalidInput as refused:
            return finished(error=refused.message[:ERROR_CHARS])
        except (asyncio.TimeoutError, httpx.TimeoutException):
            return finished(error=f"no answer within {self.timeout_seconds:g} s")
        except httpx.HTTPError as error:
            return finished(error=f"{type(error).__name__}: {error}"[:ERROR_CHARS])
        except OSError as error:
            return finished(error=f"{type(error).__name__}: {error}"[:ERROR_CHARS])
        return finished(http_status=status, snippet=response_snippet(raw))

    async def _post(self, url: str, headers: dict[str, str], body: bytes
                    ) -> tuple[int, bytes]:
        async with self._client.stream("POST", url, content=body, headers=headers) as response:
            collected = bytearray()
            async for chunk in response.aiter_bytes():
                collected += chunk
                if len(collected) >= READ_LIMIT_BYTES:
                    break
            return response.status_code, bytes(collected)
