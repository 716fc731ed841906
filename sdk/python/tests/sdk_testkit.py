"""Constants and helpers the SDK tests share, beside the fixtures in ``conftest.py``.

A plain module with a name of its own (the test folder is not a package), so the test
modules import it as ``sdk_testkit`` both from this folder and from the repository root.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

TENANT = "acme"
PRODUCT = "editor"
KID = "k1"
LICENSE_KEY = "ACME-ABCD-EFGH-JKMN-PQRS"
INSTANCE_ID = "00000000-0000-4000-8000-000000000001"
T0 = 1_781_076_246
HOUR = 3600
DAY = 86400


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


def closed_port_url() -> str:
    """A local URL nothing listens on: connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StubServer:
    """Answers each request with the next scripted reply (500 when the script runs out)."""

    url: str = ""
    replies: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)

    def reply(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        self.replies.append((status, body, headers or {}))
