"""Commands and replies between the ingress and the entity hosts, as msgpack bytes.

Bytes cross Ray without pickling our classes; a domain error travels as its class
name, code and message and is raised again on the ingress side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Generic, TypeVar

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


def decode(payload: bytes) -> Any:
    """A reply (a map), or a typed message (an array)."""
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


# -- typed messages -----------------------------------------------------------------------
#
# A typed message is a msgpack array ``[tag, *the command's fields]``; every command type is
# registered once (``message``) with how its fields and its result are encoded, and a
# client can only send a registered type.

C = TypeVar("C")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Message(Generic[C, R]):
    """One kind of command to a host, and what it answers."""

    tag: str
    command: type[C]
    key: str  # the command's field that names the entity, which routes it
    encode_fields: Callable[[C], list[Any]]
    decode_fields: Callable[[Sequence[Any]], C]
    encode_result: Callable[[R], Any]
    decode_result: Callable[[Any], R]

    def encode(self, command: C) -> bytes:
        return msgpack.packb([self.tag, *self.encode_fields(command)], use_bin_type=True)

    def entity_id(self, command: C) -> str:
        return getattr(command, self.key)  # type: ignore[no-any-return]


MESSAGES: dict[str, Message[Any, Any]] = {}


def _same(value: Any) -> Any:
    return value


def message(
    command: type[C], *, key: str,
    encode_result: Callable[[R], Any] = _same, decode_result: Callable[[Any], R] = _same,
    encode_fields: Callable[[C], list[Any]] | None = None,
    decode_fields: Callable[[Sequence[Any]], C] | None = None,
) -> Message[C, R]:
    """Register ``command`` (once); by default its fields travel as they are, in order."""
    tag = command.__name__
    if tag in MESSAGES:
        raise ValueError(f"message {tag} is registered twice")
    names = [item.name for item in fields(command)]  # type: ignore[arg-type]
    registered: Message[C, R] = Message(
        tag, command, key,
        encode_fields or (lambda value: [getattr(value, name) for name in names]),
        decode_fields or (lambda values: command(*values)),
        encode_result, decode_result,
    )
    MESSAGES[tag] = registered
    return registered


def decode_message(payload: Any) -> tuple[Message[Any, Any], Any] | None:
    """A decoded typed message and its command; None for an unregistered tag."""
    registered = MESSAGES.get(payload[0])
    if registered is None:
        return None
    return registered, registered.decode_fields(payload[1:])
