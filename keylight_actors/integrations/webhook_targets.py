"""Resolving a webhook URL's host to refuse private and loopback targets (DNS, so I/O)."""

from __future__ import annotations

import asyncio
import socket

from ..domain.errors import InvalidInput
from ..domain.webhook_url import (
    IPAddress,
    WebhookTarget,
    literal_address,
    parse_webhook_url,
    private_target_reason,
)

RESOLVE_TIMEOUT_SECONDS = 5.0


async def resolve_addresses(target: WebhookTarget) -> list[IPAddress]:
    literal = literal_address(target.host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM),
            RESOLVE_TIMEOUT_SECONDS,
        )
    except (OSError, asyncio.TimeoutError):
        raise InvalidInput(f"url: {target.host} does not resolve",
                           code="INVALID_WEBHOOK_URL") from None
    found: list[IPAddress] = []
    for info in infos:
        address = literal_address(str(info[4][0]))
        if address is not None:
            found.append(address)
    return found


async def checked_target(url: str, *, allow_private: bool) -> WebhookTarget:
    """The parsed URL, refused (InvalidInput) when private targets are not allowed and it
    points at one."""
    target = parse_webhook_url(url)
    if allow_private:
        return target
    reason = private_target_reason(target, await resolve_addresses(target))
    if reason is not None:
        raise InvalidInput(f"{reason}; set KEYLIGHT_ALLOW_PRIVATE_WEBHOOK_URLS to allow it",
                           code="PRIVATE_WEBHOOK_URL")
    return target
