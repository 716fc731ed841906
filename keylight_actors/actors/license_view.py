"""How a license looks in host replies and management answers."""

from __future__ import annotations

from typing import Any

from ..domain.events import iso_time
from ..domain.instance_set import Instance
from ..domain.license import LicenseEntity

__all__ = ["instance_view", "iso_time", "license_view"]


def instance_view(instance: Instance) -> dict[str, Any]:
    return {
        "instance_id": instance.instance_id,
        "name": instance.name,
        "instance_name": instance.name,
        "machine_hash": instance.machine_hash,
        "activated_at": iso_time(instance.activated_at),
        "last_validated_at": iso_time(instance.last_validated_at),
    }


def license_view(license_: LicenseEntity, *, with_instances: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "license_id": license_.license_id,
        "tenant_id": license_.tenant_id,
        "product_id": license_.product_id,
        "key_type_id": license_.key_type_id,
        "key_display": license_.key_display,
        "status": license_.status.value,
        "activation_limit": license_.activation_limit,
        "active_instances": license_.seats_used,
        "expires_at": iso_time(license_.expires_at),
        "entitlements": list(license_.entitlements),
        "customer_email": license_.customer_email,
        "created_at": iso_time(license_.created_at),
        "reminted_from": license_.reminted_from,
    }
    if with_instances:
        view["instances"] = [instance_view(item) for item in license_.instances]
    return view
