"""Payments through Stripe's API: a Checkout Session for a buyer, a Price for priced terms.

These are orchestrations, not one entity's use case: the tenant host authorises the
checkout (``payments.authorize_checkout``, the exact minute limit), Stripe is called as the
tenant's connected account (the platform's key) or with its own manual-mode key, and the
session is recorded (the record behind the minute limit after a restart, and the session a
paid event mints for). What they reach is ``PaymentsPorts``: the Stripe gateway as
``StripeApi`` (integrations/stripe_gateway.py in the server, a fake in tests), the tenant
host, the stored manual-mode keys and the sessions table.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.catalog import KeyType
from ..domain.errors import Conflict
from ..domain.platform_fee import application_fee_cents, application_fee_percent
from .payments import AuthorizeCheckout, CheckoutTerms
from .tenants import TenantSnapshot


class StripeApi(Protocol):
    """The calls made to Stripe; each raises ``UpstreamFailed`` when Stripe refuses."""

    async def create_checkout_session(self, api_key: str, params: dict[str, Any], *,
                                      account: str | None, idempotency_key: str
                                      ) -> dict[str, Any]:
        """The session's ``{"id", "url"}``."""
        ...

    async def create_price(self, api_key: str, params: dict[str, Any], *,
                           account: str | None, idempotency_key: str) -> str:
        """The new Price's id."""
        ...


class PaymentsPorts(Protocol):
    @property
    def stripe(self) -> StripeApi: ...

    @property
    def platform_secret_key(self) -> str | None:
        """The platform's own Stripe key (Connect mode); None when not configured."""
        ...

    @property
    def platform_fee_bps(self) -> int: ...

    async def authorize_checkout(self, command: AuthorizeCheckout) -> CheckoutTerms:
        """Run ``payments.authorize_checkout`` on the tenant's host."""
        ...

    async def manual_secret_key(self, tenant_id: str) -> str | None:
        """A manual-mode tenant's own Stripe secret key, unsealed; None when it has none."""
        ...

    async def record_checkout_session(self, session_id: str, tenant_id: str, product_id: str,
                                      key_type_id: str, customer_email: str | None) -> None:
        """Keep the session we created (once: a repeated id is left as it is)."""


@dataclass(frozen=True, slots=True)
class CreateCheckout:
    tenant_id: str
    product_id: str
    key_type_id: str
    success_url: str
    cancel_url: str
    customer_email: str | None
    idempotency_key: str | None  # the client's, so a retried request reuses the session


@dataclass(frozen=True, slots=True)
class CheckoutLink:
    url: str
    session_id: str


def checkout_params(command: CreateCheckout, key_type: KeyType, *, fee_bps: int | None
                    ) -> dict[str, Any]:
    """The Checkout Session request; ``fee_bps`` None for manual mode (no platform fee)."""
    metadata = {"tenant_id": command.tenant_id, "product_id": command.product_id,
                "key_type_id": command.key_type_id}
    recurring = key_type.recurring_interval is not None
    params: dict[str, Any] = {
        "mode": "subscription" if recurring else "payment",
        "line_items": [{"price": key_type.stripe_price_id, "quantity": 1}],
        "success_url": command.success_url,
        "cancel_url": command.cancel_url,
        "metadata": metadata,
    }
    if command.customer_email:
        params["customer_email"] = command.customer_email
    if recurring:
        params["subscription_data"] = {"metadata": metadata}
        if fee_bps is not None:
            params["subscription_data"]["application_fee_percent"] = application_fee_percent(
                fee_bps)
    else:
        params["payment_intent_data"] = {"metadata": metadata}
        if fee_bps is not None:
            params["payment_intent_data"]["application_fee_amount"] = application_fee_cents(
                key_type.price_in_cents or 0, fee_bps)
    return params


async def create_checkout(command: CreateCheckout, ports: PaymentsPorts) -> CheckoutLink:
    """Authorise, create the Checkout Session on Stripe, record it, answer its link."""
    allowed = await ports.authorize_checkout(AuthorizeCheckout(
        command.tenant_id, command.product_id, command.key_type_id,
        bool(ports.platform_secret_key)))
    if allowed.manual:
        secret_key = await ports.manual_secret_key(command.tenant_id)
        if secret_key is None:
            raise Conflict("this tenant is not connected to Stripe", code="STRIPE_NOT_CONNECTED")
        api_key, account, fee_bps = secret_key, None, None
    else:
        assert ports.platform_secret_key  # authorize_checkout refuses Connect without it
        api_key, account = ports.platform_secret_key, allowed.stripe_account_id
        fee_bps = ports.platform_fee_bps
    params = checkout_params(command, allowed.key_type, fee_bps=fee_bps)
    idempotency_key = command.idempotency_key or str(uuid.uuid4())
    session = await ports.stripe.create_checkout_session(
        api_key, params, account=account,
        idempotency_key=f"keylight-checkout-{command.tenant_id}-{idempotency_key}")
    await ports.record_checkout_session(session["id"], command.tenant_id, command.product_id,
                                        command.key_type_id, command.customer_email)
    return CheckoutLink(session["url"], session["id"])


@dataclass(frozen=True, slots=True)
class PriceForTerms:
    """Priced terms of a key type (``key_type_id``, ``display_name``, ``price_in_cents``,
    ``currency``, ``recurring_interval``) of one of the tenant's products."""

    tenant: TenantSnapshot
    product_id: str
    terms: Mapping[str, Any]


async def stripe_price_for(command: PriceForTerms, ports: PaymentsPorts) -> str | None:
    """Create the Stripe Price for priced terms on a tenant connected to Stripe (through
    Connect, or its own manual-mode key); None for unpriced terms or an unconnected tenant."""
    terms, tenant = command.terms, command.tenant
    if terms.get("price_in_cents") is None or not terms.get("currency"):
        return None
    if tenant.stripe_account_id and ports.platform_secret_key:
        api_key, account = ports.platform_secret_key, tenant.stripe_account_id
    else:
        secret_key = await ports.manual_secret_key(tenant.tenant_id)
        if secret_key is None:
            return None
        api_key, account = secret_key, None
    product = tenant.products[command.product_id]
    params: dict[str, Any] = {
        "unit_amount": terms["price_in_cents"],
        "currency": terms["currency"],
        "product_data": {"name": f"{product.display_name} — {terms['display_name']}"},
        "metadata": {"tenant_id": tenant.tenant_id, "product_id": command.product_id,
                     "key_type_id": terms["key_type_id"]},
    }
    if terms.get("recurring_interval"):
        params["recurring"] = {"interval": terms["recurring_interval"]}
    return await ports.stripe.create_price(
        api_key, params, account=account, idempotency_key=f"keylight-price-{uuid.uuid4()}")
