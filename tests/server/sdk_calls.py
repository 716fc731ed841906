"""Helpers that speak the SDK protocol the way the official SDKs do."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from .conftest import Catalog


def machine_hash() -> str:
    return secrets.token_hex(32)


def sdk_headers(catalog: Catalog) -> dict[str, str]:
    return {"X-Keylight-SDK-Key": catalog.tenant.credentials["sdk_key"]}


def sdk_path(catalog: Catalog, action: str) -> str:
    return f"/{catalog.tenant.tenant_id}/{catalog.product_id}/{action}"


def activate(http: httpx.Client, catalog: Catalog, key: str, **fields: Any) -> httpx.Response:
    body = {"license_key": key, "instance_name": "laptop", **fields}
    return http.post(sdk_path(catalog, "activate"), json=body, headers=sdk_headers(catalog))


def validate(http: httpx.Client, catalog: Catalog, key: str, instance_id: str, **fields: Any
             ) -> httpx.Response:
    body = {"license_key": key, "instance_id": instance_id, **fields}
    return http.post(sdk_path(catalog, "validate"), json=body, headers=sdk_headers(catalog))


def deactivate(http: httpx.Client, catalog: Catalog, instance_id: str, **fields: Any
               ) -> httpx.Response:
    body = {"instance_id": instance_id, **fields}
    return http.post(sdk_path(catalog, "deactivate"), json=body, headers=sdk_headers(catalog))
