"""Who is calling an SDK route: what its checks need of the request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request

from .ingress_context import IngressContext, context_of
from .middleware.request_guard import header_value

SDK_KEY_HEADER = "x-keylight-sdk-key"
_SDK_KEY_HEADER_BYTES = SDK_KEY_HEADER.encode()


@dataclass(frozen=True, slots=True)
class SdkCaller:
    services: IngressContext
    sdk_key: str | None
    address: str

    @classmethod
    def of(cls, request: Request) -> SdkCaller:
        return cls(context_of(request), request.headers.get(SDK_KEY_HEADER),
                   request.client.host if request.client else "unknown")

    @classmethod
    def of_scope(cls, services: IngressContext, scope: Any) -> SdkCaller:
        """The same from a raw ASGI scope (header names arrive lower-cased)."""
        sdk_key = header_value(scope, _SDK_KEY_HEADER_BYTES)
        client = scope.get("client")
        return cls(services, sdk_key.decode("latin-1") if sdk_key is not None else None,
                   client[0] if client else "unknown")
