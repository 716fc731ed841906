"""The Keylight client for vendors' Python apps: activate, validate, deactivate over HTTP,
and decide offline from a verified, cached lease.

Trust: pass ``trusted_keys`` (kid -> raw 32 bytes or base64) to pin the tenant's public keys;
only then is a cache edited by the user (lease *and* keys) detected. Without pins the client
fetches the published keyset on first use, keeps it in the cache and trusts it from then on.

One client per product and cache file; a client is not meant to be shared between threads.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from .cache import CacheRecord, LeaseCache
from .errors import (
    CacheCorruptError,
    KeylightAPIError,
    KeylightError,
    KeylightNetworkError,
    KeysetError,
    LeaseVerificationError,
    NotActivatedError,
)
from .keyset import fetch_keyset, normalise_trusted_keys
from .lease import Lease, verify_lease
from .license_key import normalise_license_key
from .offline import evaluate, lease_belongs_to, refresh_due
from .state import LicenseState, LicenseStatus
from .transport import Transport, api_error

SDK_NAME = "python"
SDK_VERSION = "0.1.0"
LAST_SEEN_WRITE_INTERVAL_SECONDS = 60


class KeylightClient:
    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        product_id: str,
        sdk_key: str | None = None,
        *,
        cache_dir: str | Path,
        trusted_keys: Mapping[str, bytes | str] | None = None,
        timeout: float = 10.0,
        max_retries: int = 3,
        clock: Callable[[], float] = time.time,
        app_version: str | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tenant_id = tenant_id
        self.product_id = product_id
        self.cache = LeaseCache(cache_dir, tenant_id, product_id)
        self._sdk_key = sdk_key
        self._clock = clock
        self._app_version = app_version
        self._pinned = None if trusted_keys is None else normalise_trusted_keys(trusted_keys)
        self._fetched_keys: dict[str, bytes] | None = None
        self._http = http_client or httpx.Client(timeout=timeout)
        self._owns_http = http_client is None
        self._transport = Transport(self._http, max_retries=max_retries, sleep=sleep)

    # -- online -------------------------------------------------------------------------

    def activate(
        self, license_key: str, instance_name: str, machine_hash: str | None = None
    ) -> LicenseStatus:
        """Take (or, with the same ``machine_hash``, reuse) a slot and cache its lease."""
        key = normalise_license_key(license_key)
        body: dict[str, Any] = {"license_key": key, "instance_name": instance_name}
        if machine_hash is not None:
            body["machine_hash"] = machine_hash
        # Without machine_hash every activation that lands takes a new slot: not idempotent.
        response = self._post("activate", body, idempotent=machine_hash is not None)
        if response.status_code != httpx.codes.OK:
            raise api_error(response)
        data = _json_object(response)
        instance_id = data.get("instance_id")
        if data.get("activated") is not True or not isinstance(instance_id, str):
            raise KeylightError(f"unexpected activation answer: {data!r}")
        self._store(key, instance_id, machine_hash, data)
        return self.status()

    def validate(self) -> LicenseStatus:
        """Refresh the lease. An expired license comes back as a signed ``expired`` or
        ``fallback`` lease; a revoked key or inactive instance clears the cache."""
        record = self._require_record()
        body: dict[str, Any] = {
            "license_key": record.license_key,
            "instance_id": record.instance_id,
        }
        if record.machine_hash is not None:
            body["machine_hash"] = record.machine_hash
        response = self._post("validate", body)
        if response.status_code not in (httpx.codes.OK, httpx.codes.UNPROCESSABLE_ENTITY):
            raise api_error(response)
        data = _json_object(response)
        if response.status_code != httpx.codes.OK and data.get("lease") is None:
            self.cache.clear()
            return LicenseStatus(LicenseState.INVALID, str(data.get("error") or "not valid"))
        self._store(record.license_key, record.instance_id, record.machine_hash, data)
        return self.status()

    def deactivate(self) -> None:
        """Free this instance's slot on the server, then forget the cached lease."""
        record = self._require_record()
        body = {"instance_id": record.instance_id, "license_key": record.license_key}
        response = self._post("deactivate", body)
        if response.status_code != httpx.codes.OK:
            raise api_error(response)
        self.cache.clear()

    def refresh_if_due(self) -> LicenseStatus:
        """Validate when :meth:`needs_refresh`; if the server cannot be reached (or answers
        with a retryable error) keep deciding offline. Other errors propagate."""
        if self.needs_refresh():
            try:
                return self.validate()
            except (KeylightNetworkError, KeysetError):
                pass
            except KeylightAPIError as exc:
                if not exc.retryable:
                    raise
        return self.status()

    # -- offline ------------------------------------------------------------------------

    def state(self) -> LicenseState:
        return self.status().state

    def status(self) -> LicenseStatus:
        """The offline decision from the cached lease (see :mod:`keylight_sdk.offline`).
        Also records the wall-clock time, to notice it being turned back later."""
        now = self._now()
        try:
            record = self.cache.load()
        except CacheCorruptError:
            return LicenseStatus(LicenseState.INVALID, "lease cache is unreadable")
        result = evaluate(record, self._offline_keys(record), now)
        if record is not None and now >= record.last_seen + LAST_SEEN_WRITE_INTERVAL_SECONDS:
            with contextlib.suppress(OSError):
                self.cache.save(record.seen_at(now))
        return result

    def needs_refresh(self) -> bool:
        """True when there is a cached lease that is 6 h old or in its last 24 h."""
        try:
            record = self.cache.load()
        except CacheCorruptError:
            return False
        return record is not None and refresh_due(record.lease, self._now())

    def forget(self) -> None:
        """Drop the cached activation without telling the server (the slot stays taken)."""
        self.cache.clear()

    # -- plumbing -----------------------------------------------------------------------

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> KeylightClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _now(self) -> int:
        return int(self._clock())

    def _post(
        self, action: str, body: dict[str, Any], *, idempotent: bool = True
    ) -> httpx.Response:
        tenant, product = quote(self.tenant_id, safe=""), quote(self.product_id, safe="")
        telemetry = {"sdk": SDK_NAME, "sdk_version": SDK_VERSION, "platform": sys.platform[:32]}
        if self._app_version is not None:
            telemetry["app_version"] = self._app_version
        headers = {"X-Keylight-SDK-Key": self._sdk_key} if self._sdk_key else {}
        url = f"{self.base_url}/{tenant}/{product}/{action}"
        return self._transport.request(
            "POST", url, json={**body, **telemetry}, headers=headers, idempotent=idempotent
        )

    def _require_record(self) -> CacheRecord:
        record = self.cache.load()
        if record is None:
            raise NotActivatedError("no activation is cached; call activate() first")
        return record

    def _store(
        self, license_key: str, instance_id: str, machine_hash: str | None, data: dict[str, Any]
    ) -> None:
        """Verify the answer's lease and write it, with what a later validate needs."""
        lease = self._verified_lease(data.get("lease"), license_key, instance_id)
        license_expires_at = data.get("license_expires_at")
        if not isinstance(license_expires_at, int) or isinstance(license_expires_at, bool):
            license_expires_at = None
        try:
            previous = self.cache.load()
        except CacheCorruptError:
            previous = None
        now = self._now()
        self.cache.save(
            CacheRecord(
                license_key=license_key,
                instance_id=instance_id,
                lease=lease,
                last_seen=max(now, previous.last_seen) if previous else now,
                license_expires_at=license_expires_at,
                machine_hash=machine_hash,
                keys={} if self._pinned is not None else self._known_keys(),
            )
        )

    def _verified_lease(self, wire: object, license_key: str, instance_id: str) -> Lease:
        try:
            lease = Lease.from_wire(wire)
        except ValueError as exc:
            raise LeaseVerificationError(f"malformed lease: {exc}") from exc
        check = verify_lease(lease, self._keys_for(lease.kid), self._now())
        if not check.kid_known:
            raise LeaseVerificationError(f"lease signed by unknown key {lease.kid!r}")
        if not check.signature_valid:
            raise LeaseVerificationError("lease signature is not valid")
        if not lease_belongs_to(lease, license_key, instance_id):
            raise LeaseVerificationError("lease is for another license or instance")
        return lease

    def _keys_for(self, kid: str) -> Mapping[str, bytes]:
        """Pinned keys; else the known keyset, fetched again when ``kid`` is new (rotation)."""
        if self._pinned is not None:
            return self._pinned
        if kid not in self._known_keys():
            keyset = fetch_keyset(self._transport, self.base_url, self.tenant_id)
            self._fetched_keys = dict(keyset.keys)
        return self._known_keys()

    def _known_keys(self) -> dict[str, bytes]:
        if self._fetched_keys is None:
            try:
                record = self.cache.load()
            except CacheCorruptError:
                record = None
            self._fetched_keys = dict(record.keys) if record else {}
        return self._fetched_keys

    def _offline_keys(self, record: CacheRecord | None) -> Mapping[str, bytes]:
        if self._pinned is not None:
            return self._pinned
        return record.keys if record else {}


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise KeylightError(f"{response.status_code} answer is not JSON") from exc
    if not isinstance(data, dict):
        raise KeylightError(f"{response.status_code} answer is not a JSON object")
    return data
