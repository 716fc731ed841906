"""The memory sweep: every seeded license touched once through the license hosts.

The hosts' resident memory is sampled as the sweep goes. Once each host holds its cap of
entities (``KEYLIGHT_HOST_MAX_ENTITIES``), every new license evicts an old one, so memory
must stay flat from there to the end, however many licenses are touched.

The sweep calls the hosts directly (the ``get`` operation, through the same batching
``HostPool`` the ingress uses): it measures what the hosts keep, not HTTP throughput, and
a million licenses take minutes instead of an hour.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..domain.license_key import hash_license_key
from ..settings import Settings
from .local_server import license_host_memory
from .progress import Progress
from .report import FLAT_GROWTH_LIMIT
from .seed import Seed

SWEEP_CONCURRENCY = 256
SAMPLES = 20


def bytes_per_entity(samples: list[dict[str, Any]]) -> int | None:
    """RSS growth per resident entity from the first sample to the first one at the caps
    (or the last one, when the caps never filled): licenses as stored, without devices."""
    if len(samples) < 2:
        return None
    first = samples[0]
    filled = max(samples, key=lambda sample: sample["resident"])
    grown_entities = filled["resident"] - first["resident"]
    if grown_entities <= 0:
        return None
    return round((filled["rss_mib"] - first["rss_mib"]) * 2**20 / grown_entities)


def flatness(samples: list[dict[str, Any]], cap: int) -> dict[str, Any]:
    """Growth of the hosts' RSS from the first sample at the caps to the last one."""
    full = [sample for sample in samples if sample["resident"] >= cap]
    if len(full) < 2:
        return {"caps_filled": False, "growth_after_cap_mib": None, "growth_share": None,
                "flat": None}
    grown = full[-1]["rss_mib"] - full[0]["rss_mib"]
    share = grown / full[0]["rss_mib"]
    return {"caps_filled": True, "touched_at_cap": full[0]["touched"],
            "growth_after_cap_mib": round(grown, 1), "growth_share": round(share, 4),
            "flat": share <= FLAT_GROWTH_LIMIT}


async def sweep(settings: Settings, seeded: Seed, *, progress: bool = True) -> dict[str, Any]:
    from ..actors.host_pool import HostPool, license_host_count
    from ..actors.license_messages import GET_LICENSE
    from ..services.licenses import GetLicense

    pool = HostPool("license", settings, license_host_count(settings))
    licenses = seeded.licenses
    step = max(1, len(licenses) // SAMPLES)
    samples: list[dict[str, Any]] = []
    bar = Progress("memory sweep", len(licenses), enabled=progress)
    touched = 0
    failures = 0
    cap = 0

    async def sample() -> None:
        nonlocal cap
        found = await asyncio.to_thread(license_host_memory)
        cap = found["cap"]
        samples.append({"touched": touched, "resident": found["resident"],
                        "rss_mib": round(found["rss"] / 2**20, 1)})

    async def worker(start: int) -> None:
        nonlocal touched, failures
        for index in range(start, len(licenses), SWEEP_CONCURRENCY):
            tenant_index, raw_key = licenses[index]
            try:
                await pool.send(GET_LICENSE, GetLicense(
                    hash_license_key(raw_key), seeded.tenants[tenant_index].tenant_id))
            except Exception:
                failures += 1
            touched += 1
            if touched % step == 0:
                bar.set(touched)
                await sample()

    await sample()
    try:
        await asyncio.gather(*(worker(start) for start in range(SWEEP_CONCURRENCY)))
    finally:
        await pool.close()
    await sample()
    bar.close(f"{touched:,} licenses touched")
    return {"touched": touched, "failures": failures, "cap": cap, "samples": samples,
            "bytes_per_entity": bytes_per_entity(samples), **flatness(samples, cap)}
