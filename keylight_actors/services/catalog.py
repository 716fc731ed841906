"""The catalog: products and key types a tenant sells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..domain.audit import AuditEntry
from ..domain.catalog import KeyType, Product
from ..domain.errors import InvalidInput
from ..domain.license_key import is_valid_key_prefix
from .unit_of_work import KeyTypeSaved, ProductAdded, ProductChanged, TenantUnitOfWork


@dataclass(frozen=True, slots=True)
class CreateProduct:
    tenant_id: str
    product: Product
    actor: str


def create_product(command: CreateProduct, uow: TenantUnitOfWork) -> Product:
    product = command.product
    if not is_valid_key_prefix(product.key_prefix):
        raise InvalidInput("key_prefix must be 4 uppercase letters or digits")
    uow.entity.add_product(product)
    uow.save()
    uow.record(ProductAdded(product))
    uow.audit(AuditEntry(command.actor, "product.create", command.tenant_id, product.product_id,
                         _details(product)))
    return product


@dataclass(frozen=True, slots=True)
class UpdateProduct:
    tenant_id: str
    product_id: str
    display_name: str | None  # None: unchanged
    status: str | None  # "active" or "archived"; None: unchanged
    actor: str


def update_product(command: UpdateProduct, uow: TenantUnitOfWork) -> Product:
    """Rename a product, or archive it (reversibly) so that it sells no more."""
    tenant = uow.entity
    product = tenant.product(command.product_id).changed(display_name=command.display_name,
                                                         status=command.status)
    tenant.replace_product(product)
    uow.save()
    uow.record(ProductChanged(product))
    changes = {name: value for name, value in (("display_name", command.display_name),
                                                ("status", command.status)) if value is not None}
    uow.audit(AuditEntry(command.actor, "product.update", command.tenant_id,
                         command.product_id, changes))
    return product


@dataclass(frozen=True, slots=True)
class CreateKeyType:
    tenant_id: str
    key_type: KeyType  # with its Stripe price id, when one was created for it
    actor: str


def create_key_type(command: CreateKeyType, uow: TenantUnitOfWork) -> KeyType:
    key_type = command.key_type
    uow.entity.add_key_type(key_type)
    uow.save()
    uow.record(KeyTypeSaved(key_type))
    uow.audit(AuditEntry(command.actor, "key_type.create", command.tenant_id,
                         f"{key_type.product_id}/{key_type.key_type_id}", _details(key_type)))
    return key_type


@dataclass(frozen=True, slots=True)
class UpdateKeyType:
    tenant_id: str
    product_id: str
    key_type_id: str
    changes: dict[str, Any]  # KeyType fields; a price change carries its new Stripe price id
    actor: str


def update_key_type(command: UpdateKeyType, uow: TenantUnitOfWork) -> KeyType:
    changes = dict(command.changes)
    if "entitlements" in changes:
        changes["entitlements"] = tuple(changes["entitlements"])
    tenant = uow.entity
    key_type = tenant.key_type(command.product_id, command.key_type_id).changed(**changes)
    tenant.replace_key_type(key_type)
    uow.save()
    uow.record(KeyTypeSaved(key_type))
    uow.audit(AuditEntry(command.actor, "key_type.update", command.tenant_id,
                         f"{command.product_id}/{command.key_type_id}",
                         {key: list(v) if isinstance(v, tuple) else v
                          for key, v in changes.items()}))
    return key_type


def _details(item: Product | KeyType) -> dict[str, Any]:
    """The item as its audit entry shows it (tuples as lists, as JSON keeps them)."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value in item.__dict__.items()}
