"""An audit entry: who did what to which target; written with the action it records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class AuditEntry:
    actor: str
    action: str
    tenant_id: str | None
    target: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
