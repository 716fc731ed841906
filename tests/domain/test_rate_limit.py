"""Sliding-window limits."""

from keylight_actors.domain.rate_limit import SlidingWindowLimit


def test_hits_within_the_limit_are_allowed():
    limit = SlidingWindowLimit(limit=3, window_seconds=60)
    for now in (0, 1, 2):
        assert limit.retry_after(now) == 0
        limit.record(now)
    assert limit.retry_after(3) == 57


def test_a_window_rebuilt_from_history_counts_only_recent_hits():
    limit = SlidingWindowLimit.from_history(2, 60, [0, 100, 110])
    assert limit.retry_after(120) == 40
    assert limit.retry_after(170) == 0
