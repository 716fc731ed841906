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


def test_a_quota_window_grants_leases_until_used_up_then_starts_afresh():
    from keylight_actors.domain.sdk_quota import QuotaWindow

    window = QuotaWindow(limit=10)
    assert window.lease(4, now=120.0) == (4, 180.0)
    assert window.lease(8, now=130.0) == (6, 180.0)
    assert window.lease(1, now=179.0) == (0, 180.0)
    assert window.lease(3, now=180.0) == (3, 240.0)


def test_failed_lookups_lock_an_address_out_for_the_lockout_period():
    from keylight_actors.domain.guess_guard import GuardPolicy, GuessGuard

    now = [0.0]
    guard = GuessGuard(GuardPolicy(failures_per_address=3, lockout_seconds=100),
                       clock=lambda: now[0])
    assert [guard.record_failure("1.2.3.4", "t")[0] for _ in range(3)] == [False, False, True]
    assert guard.retry_after("1.2.3.4") == 100
    assert guard.retry_after("5.6.7.8") == 0
    now[0] = 100.5
    assert guard.retry_after("1.2.3.4") == 0
