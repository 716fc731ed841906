"""cluster.yaml and the Serve config, checked with Ray's own schemas; no Ray is started."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import ray.autoscaler
import yaml

from keylight_actors.deploy import SERVE_CONFIG
from keylight_actors.deploy.wait_for_workers import (
    alive_workers,
    wait_for_workers,
    wait_until_spread_reaches,
)

ROOT = Path(__file__).resolve().parents[1]
CLUSTER_YAML = ROOT / "cluster.yaml"


@pytest.fixture(scope="module")
def cluster() -> dict:
    return yaml.safe_load(CLUSTER_YAML.read_text())


@pytest.fixture(scope="module")
def serve_config() -> dict:
    return yaml.safe_load(SERVE_CONFIG.read_text())


def _project_mount(cluster: dict) -> str:
    """The remote path the repository is synced to."""
    mounts = [remote for remote, local in cluster["file_mounts"].items()
              if Path(local) == Path(".")]
    assert len(mounts) == 1, "the repository (local '.') is mounted exactly once"
    return mounts[0].rstrip("/")


def _commands(cluster: dict, key: str) -> str:
    return "\n".join(cluster.get(key, []))


# -- cluster.yaml ---------------------------------------------------------------------------

def test_cluster_yaml_matches_rays_json_schema(cluster: dict) -> None:
    schema_path = Path(ray.autoscaler.__file__).with_name("ray-schema.json")
    jsonschema.validate(cluster, json.loads(schema_path.read_text()))


def test_cluster_yaml_passes_rays_own_validation(cluster: dict) -> None:
    # What `ray up` does before contacting the cloud: fill in the provider's defaults,
    # then validate (schema, node types, worker counts).
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(cluster))
    validate_config(prepared)
    assert prepared["head_node_type"] in prepared["available_node_types"]


def test_cluster_has_a_head_and_workers(cluster: dict) -> None:
    types = cluster["available_node_types"]
    head = cluster["head_node_type"]
    workers = {name: spec for name, spec in types.items() if name != head}
    assert head in types and workers
    assert sum(spec.get("min_workers", 0) for spec in workers.values()) >= 1
    assert cluster["max_workers"] >= sum(spec.get("min_workers", 0)
                                         for spec in workers.values())


def test_setup_installs_the_project_from_its_synced_copy(cluster: dict) -> None:
    mount = _project_mount(cluster)
    setup = _commands(cluster, "setup_commands")
    assert re.search(rf"pip install\b[^\n]*\s(-e\s+)?{re.escape(mount)}(\s|$)", setup), setup
    # The Python SDK, which the server imports, from the same synced copy.
    assert re.search(rf"-e\s+{re.escape(mount)}/sdk/python(\s|$)", setup), setup
    # The image's Ray stays: pip is pinned to the version already installed.
    assert "ray[serve]==$(python -c 'import ray; print(ray.__version__)')" in setup
    # Every file the install and the deploy need is in the synced folder.
    assert (ROOT / "pyproject.toml").is_file() and (ROOT / "serve_app.py").is_file()


def test_docker_image_runs_the_projects_ray(cluster: dict) -> None:
    image = cluster["docker"]["image"]
    assert image.startswith("rayproject/ray:")
    assert image.split(":")[1].split("-")[0] == ray.__version__


def test_serve_is_deployed_on_the_head_once_the_workers_joined(cluster: dict) -> None:
    head = _commands(cluster, "head_start_ray_commands")
    assert "ray start --head" in head
    deploy = re.search(r"serve deploy (\S+)", head)
    assert deploy, "the head deploys Serve"
    mount = _project_mount(cluster)
    deployed = deploy.group(1).rstrip("'\"")
    assert deployed.startswith(mount + "/")
    assert (ROOT / deployed[len(mount) + 1:]) == SERVE_CONFIG
    # It waits for as many workers as the cluster keeps.
    waited = re.search(r"python -m keylight_actors\.deploy\.wait_for_workers (\d+)", head)
    assert waited, "the deploy waits for the workers"
    head_type = cluster["head_node_type"]
    min_workers = sum(spec.get("min_workers", 0)
                      for name, spec in cluster["available_node_types"].items()
                      if name != head_type)
    assert int(waited.group(1)) == min_workers
    assert "serve" not in _commands(cluster, "worker_start_ray_commands").replace(
        "RAY_SERVE_", "")


def test_every_node_starts_ray_throughput_optimised_with_the_operators_env(
        cluster: dict) -> None:
    env_mounts = [remote for remote, local in cluster["file_mounts"].items()
                  if local.endswith(".env")]
    assert len(env_mounts) == 1
    env_file = env_mounts[0]
    assert not Path(cluster["file_mounts"][env_file]).expanduser().is_relative_to(ROOT), (
        "the operator's secrets live outside the repository")
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = next(command for command in cluster[key] if "ray start" in command)
        assert f". {env_file}" in start
        assert "RAY_SERVE_THROUGHPUT_OPTIMIZED=1" in start
        assert "RAY_SERVE_ENABLE_HA_PROXY=1" in start
        shlex.split(start)  # well-formed shell


def test_no_secret_is_committed_in_either_file() -> None:
    text = CLUSTER_YAML.read_text() + SERVE_CONFIG.read_text()
    assert not re.search(r"postgres(ql)?://[^\s@/]+:[^\s@/]+@", text)  # a password in a URL
    for secret in (r"sk_(live|test)_\w{8,}", r"whsec_[\w+/=]{8,}", r"kop_\w{8,}",
                   r"(KEY|TOKEN|SECRET|PASSWORD)\w*[=:]\s*[\w+/]{20,}={0,2}\b"):
        assert not re.search(secret, text), secret


# -- the Serve config -----------------------------------------------------------------------

def test_serve_config_parses_with_serves_schema(serve_config: dict) -> None:
    from ray.serve.schema import ServeDeploySchema

    schema = ServeDeploySchema.model_validate(serve_config)
    assert [app.name for app in schema.applications] == ["keylight"]
    app = schema.applications[0]
    assert app.route_prefix == "/"
    assert schema.http_options.host == "0.0.0.0"
    # Nothing Serve would silently ignore (the schema allows extra keys).
    assert set(serve_config) <= set(ServeDeploySchema.model_fields)


def test_serve_config_import_path_resolves_to_a_module_file(serve_config: dict,
                                                            cluster: dict) -> None:
    app = serve_config["applications"][0]
    module, _, attribute = app["import_path"].partition(":")
    assert attribute == "app"
    working_dir = app["runtime_env"]["working_dir"]
    assert working_dir.startswith("local://")
    remote_root = working_dir.removeprefix("local://")
    assert remote_root == _project_mount(cluster), "the deploy imports the synced project"
    module_file = ROOT.joinpath(*module.split(".")).with_suffix(".py")
    assert module_file.is_file(), module_file
    # And the module it names defines the attribute (read, not imported: importing builds).
    assert re.search(rf"^{attribute}\s*=", module_file.read_text(), re.MULTILINE)
    assert importlib.util.find_spec("keylight_actors.deploy") is not None


def test_serve_config_takes_secrets_from_the_node_environment(serve_config: dict) -> None:
    env = serve_config["applications"][0]["runtime_env"]["env_vars"]
    for name in ("KEYLIGHT_DATABASE_URL", "KEYLIGHT_MASTER_KEY", "KEYLIGHT_ADMIN_TOKEN",
                 "STRIPE_SECRET_KEY", "STRIPE_CONNECT_WEBHOOK_SECRET"):
        assert env[name] == "${" + name + "}", name
    assert all(isinstance(value, str) for value in env.values())  # Ray wants strings


def test_serve_config_is_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert '"keylight_actors.deploy" = ["*.yaml"]' in pyproject


# -- the deploy step's helpers --------------------------------------------------------------

def _node(alive: bool, head: bool = False) -> dict:
    resources = {"CPU": 4.0}
    if head:
        resources["node:__internal_head__"] = 1.0
    return {"Alive": alive, "Resources": resources}


def test_alive_workers_counts_neither_the_head_nor_dead_nodes() -> None:
    assert alive_workers([_node(True, head=True), _node(True), _node(False)]) == 1


def test_wait_for_workers_until_they_join_or_time_runs_out() -> None:
    now = [0.0]
    snapshots = iter([[_node(True, head=True)], [_node(True, head=True), _node(True)],
                      [_node(True, head=True), _node(True), _node(True)]])
    lines: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert wait_for_workers(2, 60, lambda: next(snapshots), clock=lambda: now[0],
                            sleep=sleep, report=lines.append)
    assert lines[-1] == "2 of 2 worker nodes alive"
    assert not wait_for_workers(2, 12, lambda: [_node(True, head=True)],
                                clock=lambda: now[0], sleep=sleep, report=lines.append)
    assert lines[-1].startswith("timed out")


def test_after_the_workers_join_it_waits_until_ray_schedules_on_every_node() -> None:
    # Ray lists a joined node as alive seconds before its scheduler places anything there.
    now = [0.0]
    placements = iter([{"head"}, {"head", "worker-1"}, {"head", "worker-1", "worker-2"}])
    asked: list[int] = []
    lines: list[str] = []

    def probe(count: int) -> set[str]:
        asked.append(count)
        return next(placements)

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert wait_until_spread_reaches(3, 60, probe, clock=lambda: now[0], sleep=sleep,
                                     report=lines.append)
    assert asked == [3, 3, 3]
    assert lines == ["SPREAD places actors on all 3 nodes (probe 3)"]


def test_waiting_for_ray_to_schedule_everywhere_gives_up_at_the_timeout() -> None:
    now = [0.0]
    lines: list[str] = []

    def sleep(seconds: float) -> None:
        now[0] += seconds

    assert not wait_until_spread_reaches(3, 2, lambda _: {"head"}, clock=lambda: now[0],
                                         sleep=sleep, report=lines.append)
    assert lines == ["timed out after 2 s: SPREAD placed actors on 1 of 3 nodes"]


# -- what serve_app checks under `serve deploy`, and the pooler setting ---------------------

def test_serve_deploy_refuses_to_build_without_the_shared_settings() -> None:
    from keylight_actors.deploy import MissingClusterSetting, require_cluster_settings
    from keylight_actors.settings import Settings

    with pytest.raises(MissingClusterSetting, match="KEYLIGHT_MASTER_KEY, KEYLIGHT_ADMIN"):
        require_cluster_settings(Settings(database_url="postgresql://db/keylight"))
    require_cluster_settings(Settings(database_url="postgresql://db/keylight",
                                      master_key="k", admin_token="t"))


def test_outside_ray_serve_app_settings_pass_unchanged() -> None:
    # A fresh interpreter: this test process may have started Ray for the server tests.
    probe = (
        "import ray\n"
        "from keylight_actors.deploy import settings_for_serve\n"
        "from keylight_actors.settings import Settings\n"
        "settings = Settings()\n"
        "assert not ray.is_initialized()\n"
        "assert settings_for_serve(settings) is settings\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize(("raw", "expected"), [
    (None, 5), ("", 5), ("none", None), ("None", None), ("off", None), ("0", 0), ("12", 12),
])
def test_prepare_threshold_from_the_environment(monkeypatch: pytest.MonkeyPatch,
                                                raw: str | None, expected: int | None) -> None:
    from keylight_actors.store.database import PREPARE_THRESHOLD_ENV, prepare_threshold

    if raw is None:
        monkeypatch.delenv(PREPARE_THRESHOLD_ENV, raising=False)
    else:
        monkeypatch.setenv(PREPARE_THRESHOLD_ENV, raw)
    assert prepare_threshold() == expected


@pytest.mark.parametrize("raw", ["-1", "five", "1.5"])
def test_prepare_threshold_refuses_nonsense(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    from keylight_actors.store.database import PREPARE_THRESHOLD_ENV, prepare_threshold

    monkeypatch.setenv(PREPARE_THRESHOLD_ENV, raw)
    with pytest.raises(ValueError, match=PREPARE_THRESHOLD_ENV):
        prepare_threshold()
