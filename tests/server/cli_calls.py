"""Helpers that run the keylight command as a user does: the installed script in a
subprocess, against the live test server."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from typing import Any

from tests.cli.test_keylight_serve import keylight_command


def clean_environment(**extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("KEYLIGHT_")}
    return {**env, **extra}


def run(*words: str, url: str, token: str | None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    auth = ["--token", token] if token else []
    return subprocess.run([*keylight_command(), *words, "--url", url, *auth],
                          capture_output=True, text=True, timeout=60,
                          env=env or clean_environment())


def ok(*words: str, url: str, token: str) -> str:
    """The table (or other text) a verb prints; it must succeed."""
    done = run(*words, url=url, token=token)
    assert done.returncode == 0, done.stderr
    return done.stdout


def as_json(*words: str, url: str, token: str) -> Any:
    return json.loads(ok(*words, "--json", url=url, token=token))


def fields(text: str) -> dict[str, str]:
    """The ``key: value`` lines of one object, top level only."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith(" ") and ":" in line:
            name, _, value = line.partition(":")
            found[name] = value.strip()
    return found


def rows(text: str) -> list[dict[str, str]]:
    """An aligned table as dicts, split on runs of two or more spaces."""
    lines = [line for line in text.splitlines() if line and not line.startswith("more:")]
    header = re.split(r"\s{2,}", lines[0].strip())
    return [dict(zip(header, re.split(r"\s{2,}", line.strip()), strict=False))
            for line in lines[1:]]




def tenant_cli(base_url: str, tenant: Any) -> Callable[..., Any]:
    """Run a tenant-scoped verb with the tenant's management token: its text, or its JSON
    with ``json_out``."""
    token = tenant.credentials["management_token"]

    def call(*words: str, json_out: bool = False) -> Any:
        words = (*words, "--tenant", tenant.tenant_id)
        if json_out:
            return as_json(*words, url=base_url, token=token)
        return ok(*words, url=base_url, token=token)

    return call
