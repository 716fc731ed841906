"""The Serve application: ``serve run serve_app:app``.

Configuration comes from the environment (see README); without
``KEYLIGHT_DATABASE_URL`` an embedded PostgreSQL starts in ``KEYLIGHT_DATA_DIR``.
"""

from keylight_actors.api.deployment import build_app
from keylight_actors.bootstrap import resolve_settings
from keylight_actors.server import prepare_database
from keylight_actors.settings import Settings

settings, embedded_postgres = resolve_settings(Settings.from_env())
prepare_database(settings)
app = build_app(settings)
