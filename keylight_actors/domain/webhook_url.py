"""Which webhook URLs are acceptable: http(s) only, and not private or loopback targets."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import InvalidInput

MAX_URL_LENGTH = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
LOCAL_HOSTNAMES = ("localhost", "localhost.localdomain")


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str
    port: int


def parse_webhook_url(url: str) -> WebhookTarget:
    """The URL's parts, or InvalidInput when it is not an absolute http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url: at most {MAX_URL_LENGTH} characters", code="INVALID_WEBHOOK_URL")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise InvalidInput("url: must not contain spaces or control characters",
                           code="INVALID_WEBHOOK_URL")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidInput("url: not a valid URL", code="INVALID_WEBHOOK_URL") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidInput("url: must be http or https", code="INVALID_WEBHOOK_URL")
    if not parts.hostname:
        raise InvalidInput("url: has no host", code="INVALID_WEBHOOK_URL")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("url: must not carry credentials; deliveries are signed instead",
                           code="INVALID_WEBHOOK_URL")
    default_port = 443 if scheme == "https" else 80
    return WebhookTarget(url, scheme, parts.hostname.lower().rstrip("."), port or default_port)


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


def is_forbidden_address(address: IPAddress) -> bool:
    """Loopback, private, link-local, shared, reserved, multicast: anything not global."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast


def is_local_hostname(host: str) -> bool:
    return host in LOCAL_HOSTNAMES or host.endswith(".localhost")


def private_target_reason(target: WebhookTarget, resolved: list[IPAddress]) -> str | None:
    """Why the target is refused (None: it is not) given the addresses its host resolves to."""
    if is_local_hostname(target.host):
        return f"url: {target.host} is a loopback host"
    literal = literal_address(target.host)
    addresses = [literal] if literal is not None else resolved
    for address in addresses:
        if is_forbidden_address(address):
            return f"url: {target.host} points at a private or loopback address ({address})"
    return None
