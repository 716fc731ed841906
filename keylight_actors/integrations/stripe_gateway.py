"""Calls to Stripe's API through the official library (``STRIPE_API_BASE`` overrides the host)."""

from __future__ import annotations

import logging
from typing import Any

import stripe

from ..domain.errors import UpstreamFailed

log = logging.getLogger(__name__)


class StripeGateway:
    def __init__(self, api_base: str | None) -> None:
        self._api_base = api_base
        self._clients: dict[str, stripe.StripeClient] = {}

    def _client(self, api_key: str) -> stripe.StripeClient:
        client = self._clients.get(api_key)
        if client is None:
            base = {"api": self._api_base} if self._api_base else None
            client = stripe.StripeClient(api_key, base_addresses=base, max_network_retries=1)
            self._clients[api_key] = client
        return client

    @staticmethod
    def _options(account: str | None, idempotency_key: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if account:
            options["stripe_account"] = account
        if idempotency_key:
            options["idempotency_key"] = idempotency_key
        return options

    async def create_checkout_session(
        self, api_key: str, params: dict[str, Any], *, account: str | None, idempotency_key: str
    ) -> dict[str, Any]:
        try:
            session = await self._client(api_key).v1.checkout.sessions.create_async(
                params=params,  # type: ignore[arg-type]
                options=self._options(account, idempotency_key),  # type: ignore[arg-type]
            )
        except stripe.StripeError as error:
            log.warning("Stripe refused a checkout session: %s", type(error).__name__)
            raise UpstreamFailed("Stripe could not create the checkout session") from error
        return {"id": session.id, "url": session.url}

    async def create_price(
        self, api_key: str, params: dict[str, Any], *, account: str | None, idempotency_key: str
    ) -> str:
        try:
            price = await self._client(api_key).v1.prices.create_async(
                params=params,  # type: ignore[arg-type]
                options=self._options(account, idempotency_key),  # type: ignore[arg-type]
            )
        except stripe.StripeError as error:
            log.warning("Stripe refused a price: %s", type(error).__name__)
            raise UpstreamFailed("Stripe could not create the price") from error
        return price.id
