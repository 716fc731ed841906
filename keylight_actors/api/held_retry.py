"""The ingress replica's timer that applies orphaned held Stripe events.

Every ``KEYLIGHT_HELD_RETRY_SECONDS`` it runs ``services.stripe_inbox.release_orphaned_held``:
the events held for a license that exists now (a mint whose process died before applying
them). The timer keeps nothing: the ``stripe_events`` rows say what is held, and each event
claims itself when applied, so every replica may run it at once. A pass that fails (the
database is away, say) is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from ..services.stripe_inbox import StripeInboxPorts, release_orphaned_held

log = logging.getLogger(__name__)

MIN_PERIOD_SECONDS = 0.1


async def retry_held_forever(ports: StripeInboxPorts, period: float) -> None:
    """One pass every ``period`` seconds until cancelled."""
    while True:
        await asyncio.sleep(max(MIN_PERIOD_SECONDS, period))
        try:
            release = await release_orphaned_held(ports)
        except Exception:  # not a cancellation: that is a BaseException
            log.exception("applying held Stripe events failed; next try in %s s", period)
            continue
        if release.released:
            log.info("applied %d held Stripe event(s) whose license was minted without "
                     "applying them: %s", len(release.released), ", ".join(release.released))


@contextlib.asynccontextmanager
async def held_retry(ports: StripeInboxPorts, period: float) -> AsyncIterator[None]:
    """The timer, for the app's lifespan: started on entry, cancelled and awaited on exit."""
    task = asyncio.create_task(retry_held_forever(ports, period), name="held-stripe-events")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
