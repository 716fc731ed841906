"""Every keylight API verb has plain-text help naming each of its options (no server needed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from keylight_actors.cli_api import VERBS
from tests.cli.test_keylight_serve import keylight_command

WORDS = [[word for word in verb.words if word] for verb in VERBS]


@pytest.mark.parametrize("words", WORDS, ids=" ".join)
def test_every_verb_has_plain_help(words: list[str]) -> None:
    done = subprocess.run([*keylight_command(), *words, "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: keylight {' '.join(words)}")
    assert "``" not in done.stdout and "%(" not in done.stdout
    for option in ("--url", "--token", "--json"):
        assert option in done.stdout
    verb = next(verb for verb in VERBS if [word for word in verb.words if word] == words)
    for arg in verb.args:
        assert (arg.flag if arg.flag.startswith("-") else "positional arguments") \
            in done.stdout
    if verb.tenant_scoped:
        assert "--tenant" in done.stdout


def test_the_top_level_help_lists_every_group() -> None:
    done = subprocess.run([*keylight_command(), "--help"], capture_output=True, text=True,
                          timeout=60)
    for group in {verb.words[0] for verb in VERBS} | {"serve", "migrate", "bench"}:
        assert f"    {group}" in done.stdout


def test_the_api_verbs_do_not_import_ray_or_fastapi() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, keylight_actors.cli as cli; cli.build_parser(); "
         "print(sorted(name for name in ('ray', 'fastapi') if name in sys.modules))"],
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
