"""The dashboard's HTTP hardening: headers, the client's address and scheme behind trusted
proxies, CSRF tokens and the session cookie. Pure functions over a request; no storage."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from functools import lru_cache

from starlette.requests import Request
from starlette.responses import Response

SESSION_COOKIE = "keylight_session"
SIGNIN_COOKIE = "keylight_signin"  # the sign-in form's own CSRF value, before any session
COOKIE_PATH = "/dashboard"

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self'; frame-ancestors 'none'; form-action 'self'; "
                               "base-uri 'none'; object-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def harden(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network,
                                                   ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _trusted(address: str, trusted: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(trusted))


def _peer(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def client_address(request: Request, trusted: tuple[str, ...]) -> str:
    """The peer's address; behind a trusted proxy, the nearest X-Forwarded-For hop that is
    not itself a trusted proxy."""
    address = _peer(request)
    if not _trusted(address, trusted):
        return address
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",")
            if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop[:64]
    return address


def over_https(request: Request, trusted: tuple[str, ...]) -> bool:
    """Whether the browser's request came over https. A request that carries
    X-Forwarded-Proto is believed only when the peer is a trusted proxy (whatever the
    server in front of the app made of the header); one without it, by its own scheme."""
    proto = request.headers.get("x-forwarded-proto")
    if proto is not None:
        return _trusted(_peer(request), trusted) and (
            proto.split(",")[0].strip().lower() == "https")
    return request.url.scheme == "https"


def new_session_id() -> str:
    """256 random bits."""
    return secrets.token_urlsafe(32)


def session_hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


def csrf_token(session_id: str) -> str:
    """The session's CSRF token: derived from the (secret) session id, so it is per session
    and needs no storage; the stored hash of the id does not give it."""
    return hmac.new(session_id.encode("utf-8"), b"keylight-dashboard-csrf",
                    hashlib.sha256).hexdigest()


def same_token(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def set_cookie(response: Response, name: str, value: str, *, secure: bool,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, httponly=True,
                        samesite="strict", secure=secure)


def clear_cookie(response: Response, name: str, *, secure: bool) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="strict",
                           secure=secure)
