"""Reasons ``keylight serve`` cannot start: one line on stderr and exit 1, never a
traceback; and help that reads as plain text."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.test_keylight_serve import free_port, keylight_command, user_environment

SUB_COMMANDS = [
    ["serve"], ["migrate"], ["bench"],
    ["tenant"], ["tenant", "create"], ["tenant", "lifecycle"],
    ["product"], ["product", "create"],
    ["key-type"], ["key-type", "create"],
    ["license"], ["license", "mint"], ["license", "list"], ["license", "show"],
]


def serve(data_root: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = user_environment(data_root / "data") | env
    return subprocess.run([*keylight_command(), "serve", *args], env=environment,
                          capture_output=True, text=True, timeout=120)


def assert_one_line_failure(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("keylight: ")
    for text in expected:
        assert text in lines[0]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_in_use_is_one_line(data_root: Path, taken_port: int) -> None:
    done = serve(data_root, "--port", str(taken_port))
    assert_one_line_failure(done, f"port {taken_port}", "already in use")


def test_a_master_key_that_is_not_base64_is_one_line(data_root: Path) -> None:
    done = serve(data_root, "--port", str(free_port()), KEYLIGHT_MASTER_KEY="not a key!")
    assert_one_line_failure(done, "KEYLIGHT_MASTER_KEY")


def test_a_master_key_of_the_wrong_length_is_one_line(data_root: Path) -> None:
    short = base64.b64encode(os.urandom(16)).decode()
    done = serve(data_root, "--port", str(free_port()), KEYLIGHT_MASTER_KEY=short)
    assert_one_line_failure(done, "KEYLIGHT_MASTER_KEY", "32 bytes")


def test_an_unreachable_database_is_one_line_without_its_password(data_root: Path) -> None:
    url = f"postgresql://vendor:hunter2secret@127.0.0.1:{free_port()}/licensing"
    done = serve(data_root, "--port", str(free_port()), KEYLIGHT_DATABASE_URL=url)
    assert_one_line_failure(done, "cannot reach PostgreSQL at 127.0.0.1", "/licensing")
    assert "hunter2secret" not in done.stderr + done.stdout


def test_a_bad_setting_is_one_line(data_root: Path) -> None:
    done = serve(data_root, KEYLIGHT_PORT="eighty")
    assert_one_line_failure(done, "KEYLIGHT_PORT")


@pytest.mark.parametrize("words", SUB_COMMANDS, ids=" ".join)
def test_help_reads_as_plain_text(words: list[str]) -> None:
    done = subprocess.run([*keylight_command(), *words, "--help"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: keylight")
    assert "``" not in done.stdout
    assert "%(" not in done.stdout


def test_help_lists_every_command() -> None:
    done = subprocess.run([*keylight_command(), "--help"], capture_output=True, text=True,
                          timeout=60)
    for command in ("serve", "migrate", "tenant", "product", "key-type", "license", "bench"):
        assert f"    {command} " in done.stdout
