"""The Serve application: ``serve run serve_app:app`` here, ``serve deploy`` on a cluster.

Configuration comes from the environment (docs/configuration.md); without
``KEYLIGHT_DATABASE_URL`` an embedded PostgreSQL starts in ``KEYLIGHT_DATA_DIR``.
Under ``serve deploy`` (built inside the cluster) the database URL, master key and operator
token must be given, and the license-host count is fixed once for every replica
(keylight_actors/deploy/serve_config.yaml).
"""

from keylight_actors.api.deployment import build_app
from keylight_actors.bootstrap import resolve_settings
from keylight_actors.deploy import settings_for_serve
from keylight_actors.server import prepare_database
from keylight_actors.settings import Settings

settings, embedded_postgres = resolve_settings(settings_for_serve(Settings.from_env()))
operator_token = prepare_database(settings)
if operator_token:
    print(f"operator token (shown once, keep it safe): {operator_token}", flush=True)
app = build_app(settings)
