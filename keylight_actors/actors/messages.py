"""Commands and replies between the ingress and the entity hosts, as msgpack bytes.

Bytes cross Ray without pickling our classes; a domain error travels as its class
name, code and message and is raised again on the ingress side.
"""

from __future__ import annotations

from typing import Any

import msgpack

from ..domain import errors

_ERROR_KINDS: dict[str, type[errors.DomainError]] = {
    cls.__name__: cls
    for cls in (
        errors.InvalidInput,
        errors.Unauthorized,
        errors.Forbidden,
        errors.NotFound,
        errors.Conflict,
        errors.ActivationLimitReached,
        errors.Unprocessable,
        errors.RateLimited,
        errors.Unavailable,
        errors.UpstreamFailed,
    )
}


def encode_command(op: str, entity_id: str, **args: Any) -> bytes:
    return msgpack.packb({"op": op, "id": entity_id, "args": args}, use_bin_type=True)


def decode(payload: bytes) -> dict[str, Any]:
    return msgpack.unpackb(payload, raw=False)


def encode_result(value: Any) -> bytes:
    return msgpack.packb({"ok": value}, use_bin_type=True)


def encode_error(error: errors.DomainError) -> bytes:
    body: dict[str, Any] = {
        "kind": type(error).__name__,
        "code": error.code,
        "message": error.message,
    }
    if isinstance(error, errors.RateLimited):
        body["retry_after"] = error.retry_after
    return msgpack.packb({"error": body}, use_bin_type=True)


def unwrap_reply(payload: bytes) -> Any:
    """The reply's value, or the domain error it carries raised again."""
    reply = decode(payload)
    if "error" not in reply:
        return reply["ok"]
    body = reply["error"]
    kind = _ERROR_KINDS.get(body["kind"], errors.Unavailable)
    if kind is errors.RateLimited:
        raise errors.RateLimited(body["message"], body.get("retry_after", 1), body["code"])
    raise kind(body["message"], body["code"])
