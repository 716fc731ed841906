"""``keylight serve`` as a user runs it: a subprocess on the embedded PostgreSQL, a data dir of
its own, driven with the ``keylight`` command; stopped with SIGTERM and started again."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

READY_SECONDS = 240
STOP_SECONDS = 90


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def keylight_command() -> list[str]:
    """The installed ``keylight`` script beside this interpreter, else the module."""
    script = Path(sys.executable).parent / "keylight"
    return [str(script)] if script.exists() else [sys.executable, "-m", "keylight_actors.cli"]


def user_environment(data_dir: Path) -> dict[str, str]:
    """The environment of a user who set nothing but a data dir: no database URL, no master
    key, no operator token, no Ray address."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("KEYLIGHT_", "RAY_ADDRESS"))}
    env["KEYLIGHT_DATA_DIR"] = str(data_dir)
    return env


@dataclass
class ServerProcess:
    """A running ``keylight serve`` whose console output is collected line by line."""

    process: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"keylight serve exited early:\n{self.output}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    # The banner follows readiness by a moment.
                    while "Press Ctrl-C to stop." not in self.output:
                        time.sleep(0.1)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"keylight serve not ready in {READY_SECONDS} s:\n{self.output}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"keylight serve ignored SIGTERM:\n{self.output}") from None


def start_server(data_dir: Path, port: int) -> ServerProcess:
    process = subprocess.Popen(
        [*keylight_command(), "serve", "--port", str(port)], env=user_environment(data_dir),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = ServerProcess(process=process, url=f"http://127.0.0.1:{port}")
    threading.Thread(target=server._collect, daemon=True).start()
    return server


@pytest.fixture
def serve(data_root: Path) -> Iterator[tuple[Path, int, list[ServerProcess]]]:
    started: list[ServerProcess] = []
    yield data_root / "data", free_port(), started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()


def cli(*args: str, url: str, token: str) -> dict:
    done = subprocess.run([*keylight_command(), *args, "--url", url, "--token", token, "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def operator_token_in(output: str) -> str:
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("Operator token"):
            return lines[index + 1].strip()
    raise AssertionError(f"no operator token in:\n{output}")


def test_a_license_made_with_the_cli_survives_a_restart_and_the_token_shows_once(serve) -> None:
    data_dir, port, started = serve
    first = start_server(data_dir, port)
    started.append(first)
    first.wait_ready()
    token = operator_token_in(first.output)
    assert f"Keylight is running at {first.url}" in first.output
    assert f"{first.url}/docs" in first.output
    assert str(data_dir) in first.output
    assert "embedded PostgreSQL" in first.output

    url = first.url
    tenant = cli("tenant", "create", "acme", "--name", "Acme Apps", "--activate",
                 url=url, token=token)
    management = tenant["management_token"]
    cli("product", "create", "--tenant", "acme", "editor", "--name", "Acme Editor",
        "--key-prefix", "ACMQ", url=url, token=management)
    cli("key-type", "create", "--tenant", "acme", "--product", "editor", "pro", "--name", "Pro",
        "--activation-limit", "3", "--duration-days", "365", "--entitlement", "pro",
        url=url, token=management)
    minted = cli("license", "mint", "--tenant", "acme", "--product", "editor", "--key-type",
                 "pro", "--email", "ada@example.com", url=url, token=management)
    assert first.stop() == 0
    assert first.output.splitlines()[-1] == "Stopped."

    second = start_server(data_dir, port)
    started.append(second)
    second.wait_ready()
    assert "Operator token" not in second.output
    assert token not in second.output
    listed = cli("license", "list", "--tenant", "acme", url=url, token=management)
    assert [item["license_id"] for item in listed["data"]] == [minted["license_id"]]
    shown = cli("license", "show", "--tenant", "acme", minted["license_id"],
                url=url, token=management)
    assert shown["customer_email"] == "ada@example.com"
    assert second.stop() == 0

    # Another master key cannot open the secrets sealed under the first: one line, exit 1.
    other_key = base64.b64encode(os.urandom(32)).decode()
    refused = subprocess.run(
        [*keylight_command(), "serve", "--port", str(port)],
        env=user_environment(data_dir) | {"KEYLIGHT_MASTER_KEY": other_key},
        capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]
    assert "master key does not open the secrets" in refused.stderr


def test_the_console_shows_the_banner_and_no_ray_or_postgres_output(serve) -> None:
    data_dir, port, started = serve
    server = start_server(data_dir, port)
    started.append(server)
    server.wait_ready()
    assert server.stop() == 0
    console = server.lines
    assert len(console) <= 15, server.output
    assert not any("pgserver" in line or "ServeController" in line or "INFO" in line
                   for line in console), server.output
    log_file = data_dir / "logs" / "keylight-serve.log"
    assert f"logs       {log_file}" in server.output
    assert "pgserver" in log_file.read_text()
