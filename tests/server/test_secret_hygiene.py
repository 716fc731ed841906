"""Nothing secret reaches the logs: every credential and raw key the suite used is absent
from every log file of the Ray session (ingress replicas, hosts, Serve, raylet)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import ray

from .conftest import SECRETS_SEEN
from .sdk_calls import activate, validate


def ray_log_files() -> list[Path]:
    session_dir = Path(ray._private.worker._global_node.get_session_dir_path())
    return [path for path in (session_dir / "logs").rglob("*") if path.is_file()]


@pytest.mark.runs_last
def test_no_secret_or_raw_key_used_in_the_suite_appears_in_any_log(
    http, catalog, mint, settings, operator_headers
):
    tenant = catalog.tenant
    key = mint(catalog)["key"]
    instance_id = activate(http, catalog, key).json()["instance_id"]
    validate(http, catalog, key, instance_id)
    activate(http, catalog, key.replace(key[-4:], "ZZZZ"))  # a miss is logged, not its key
    rotated = http.post(f"/api/{tenant.tenant_id}/sdk-key/rotate", headers=tenant.headers)
    manual = {"secret_key": "sk_test_hygiene0123456789", "webhook_secret": "whsec_hygiene012345"}
    http.put(f"/api/{tenant.tenant_id}/stripe/manual", headers=tenant.headers, json=manual)
    http.get("/api/admin/tenants/nope", headers={"Authorization": "Bearer kop_wrong_guess"})
    secrets = {
        *SECRETS_SEEN,
        rotated.json()["sdk_key"],
        *manual.values(),
        settings.admin_token,
        settings.master_key,
        settings.stripe_secret_key,
        settings.stripe_connect_webhook_secret,
    }
    time.sleep(1.0)  # let the workers flush their log files

    files = ray_log_files()
    assert files, "no Ray log files found to scan"
    leaks = []
    saw_request_logs = False
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        saw_request_logs = saw_request_logs or "POST /api/" in text
        leaks += [(path.name, secret[:12] + "…") for secret in secrets if secret in text]
    assert saw_request_logs, "the scan did not reach the ingress's request logs"
    assert not leaks, leaks
    assert len(secrets) > 10
