"""Fault tolerance on a multi-node Ray cluster started on this machine.

Each scenario runs in its own process with its own three-node cluster (the rest of the
suite shares one single-node Ray instance), under activation load.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster.fault_scenario import DEADLINE_SECONDS, RESULT_MARK
from tests.conftest import fresh_database

REPO = Path(__file__).resolve().parents[2]
# Past its own deadline a scenario dumps its stacks and exits; this is the backstop.
SCENARIO_TIMEOUT_SECONDS = DEADLINE_SECONDS + 60


def _text(output: bytes | str | None) -> str:
    if isinstance(output, bytes):
        return output.decode(errors="replace")
    return output or ""


def run_scenario(postgres_admin_url: str, kind: str) -> dict:
    with fresh_database(postgres_admin_url) as database_url:
        try:
            done = subprocess.run(
                [sys.executable, "-m", "tests.cluster.fault_scenario", database_url, kind],
                cwd=REPO, capture_output=True, text=True, timeout=SCENARIO_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired as stuck:
            # The scenario announces each stage on stderr: say where it stopped.
            pytest.fail(f"the {kind} scenario ran past {SCENARIO_TIMEOUT_SECONDS} s; its "
                        f"last words:\n{_text(stuck.stderr)[-3000:]}")
    assert done.returncode == 0, done.stderr[-12000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARK)]
    return json.loads(line[len(RESULT_MARK):])


@pytest.mark.parametrize("kind", ["node", "host"])
def test_losing_a_worker_node_or_a_host_under_load_loses_nothing_acknowledged(
    postgres_admin_url, kind
):
    outcome = run_scenario(postgres_admin_url, kind)
    assert outcome["nodes_holding_license_hosts"] >= 2, outcome  # hosts spread over nodes
    assert set(outcome["statuses"]) <= {"200", "402", "503"}, outcome
    assert outcome["granted_missing_from_postgres"] == 0, outcome
    assert outcome["max_active_per_license"] <= 3, outcome
    assert outcome["recovered_seconds_after_fault"] <= 30, outcome
    assert outcome["activations_before_fault"] > 0, outcome
    assert outcome["activations_after_recovery"] > 0, outcome
    assert outcome["state_identical_after_restart"], outcome
