"""What happens to a delivery after an attempt: delivered, retried after a delay, or failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PENDING = "pending"
DELIVERED = "delivered"
RETRYING = "retrying"
FAILED = "failed"
STATUSES = (PENDING, DELIVERED, RETRYING, FAILED)

SNIPPET_CHARS = 500


@dataclass(frozen=True)
class RetryDecision:
    status: str
    delay_seconds: int | None  # until the next attempt; None when there is none


def is_success(http_status: int | None) -> bool:
    return http_status is not None and 200 <= http_status < 300


def attempts_per_round(schedule: Sequence[int]) -> int:
    """Attempt 1 at once, then one after each delay of the schedule."""
    return len(schedule) + 1


def decide_after_attempt(
    attempt_in_round: int, succeeded: bool, schedule: Sequence[int]
) -> RetryDecision:
    """``attempt_in_round`` counts from 1; a redelivery starts a new round."""
    if succeeded:
        return RetryDecision(DELIVERED, None)
    if attempt_in_round <= len(schedule):
        return RetryDecision(RETRYING, max(0, int(schedule[attempt_in_round - 1])))
    return RetryDecision(FAILED, None)


def response_snippet(raw: bytes) -> str:
    """The first 500 characters of a receiver's answer, as text."""
    return raw.decode("utf-8", errors="replace")[:SNIPPET_CHARS]
