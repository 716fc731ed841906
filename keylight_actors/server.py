"""``keylight serve``: a local (or existing) Ray cluster, the entity hosts and the Serve app.

The console shows a short banner (where the server listens, its data dir and database, and on
first start the operator token). Ray's, Serve's and the embedded PostgreSQL's own output goes
to ``<data dir>/logs/keylight-serve.log`` unless ``verbose``. A reason the server cannot
start is raised as :class:`StartupError`, one line the command prints as it is.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import psycopg
from nacl.exceptions import CryptoError
from psycopg.conninfo import conninfo_to_dict

from .actors.named_actor import NAMESPACE
from .bootstrap import resolve_settings
from .log_files import LOG_FORMAT
from .settings import Settings
from .stop_signal import StopSignal
from .store.encryption import decode_master_key, sealer_for
from .store.migrate import apply_migrations
from .store.operator import ensure_operator_token

log = logging.getLogger(__name__)

APP_NAME = "keylight"
LOGS_DIR = "logs"
SERVE_LOG_FILE = "keylight-serve.log"
DATABASE_CONNECT_SECONDS = 5


class StartupError(Exception):
    """The server cannot start; the message says why in one line."""


def describe_database(url: str) -> str:
    """Where a database URL points, without its password: ``PostgreSQL at host:port/db``."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "PostgreSQL (an unreadable URL)"
    host = parts.get("host") or "localhost"
    port = parts.get("port") or "5432"
    return f"PostgreSQL at {host}:{port}/{parts.get('dbname') or parts.get('user') or ''}"


def prepare_database(settings: Settings) -> str | None:
    """Migrate, and on first start generate the operator token.

    Answers the newly generated token, to be shown once, else ``None``.
    """
    assert settings.database_url and settings.session_database_url
    apply_migrations(settings.session_database_url)
    return ensure_operator_token(settings.database_url, settings.admin_token)


def check_port_free(host: str, port: int) -> None:
    """Raise :class:`StartupError` when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise StartupError(
                    f"port {port} on {host} is already in use; choose another with --port "
                    "or KEYLIGHT_PORT") from None
            raise StartupError(f"cannot listen on {host}:{port}: {error.strerror}") from None


def check_master_key(settings: Settings) -> None:
    """A configured master key must be 32 bytes of base64."""
    if settings.master_key is None:
        return
    try:
        decode_master_key(settings.master_key)
    except ValueError as error:
        raise StartupError(str(error)) from None


def check_database_reachable(url: str) -> None:
    try:
        with psycopg.connect(url, connect_timeout=DATABASE_CONNECT_SECONDS):
            pass
    except psycopg.Error as error:
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[0] if lines else type(error).__name__
        raise StartupError(f"cannot reach {describe_database(url)}: {reason}") from None


def check_master_key_opens_secrets(settings: Settings) -> None:
    """The master key must open the secrets already sealed in this database."""
    assert settings.database_url and settings.master_key
    with psycopg.connect(settings.database_url) as conn:
        exists = conn.execute("SELECT to_regclass('signing_keys') IS NOT NULL").fetchone()
        row = (conn.execute("SELECT private_key_sealed FROM signing_keys LIMIT 1").fetchone()
               if exists and exists[0] else None)
    if row is None:
        return
    try:
        sealer_for(settings.master_key).unseal(bytes(row[0]))
    except CryptoError:
        raise StartupError(
            "the master key does not open the secrets stored in this database; start with the "
            "KEYLIGHT_MASTER_KEY (or data dir) they were sealed with") from None


@dataclass(frozen=True)
class Banner:
    """What the console shows once the server answers."""

    url: str
    data_dir: Path
    database: str
    log_file: Path | None
    ray_logs: Path | None
    operator_token: str | None

    def lines(self) -> list[str]:
        lines = [
            f"Keylight is running at {self.url}",
            f"  API docs   {self.url}/docs",
            f"  data dir   {self.data_dir}",
            f"  database   {self.database}",
        ]
        if self.log_file is not None:
            lines.append(f"  logs       {self.log_file}")
        if self.ray_logs is not None:
            lines.append(f"  Ray logs   {self.ray_logs}")
        if self.operator_token:
            lines += ["", "Operator token (shown once; keep it safe, it manages every tenant):",
                      f"  {self.operator_token}"]
        lines += ["", "Press Ctrl-C to stop."]
        return lines


@contextlib.contextmanager
def output_to_file(path: Path | None) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (and its children's) to ``path``; yields the
    console. With ``path`` None nothing is redirected.

    When the block raises, the console is given back so that the error reaches the user; after
    a clean stop the output stays in the file, where late exit-time messages belong too.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    if path is None:
        yield sys.stdout
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    saved_out, saved_err = os.dup(1), os.dup(2)
    console = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    with open(path, "a", encoding="utf-8") as log_file:
        os.dup2(log_file.fileno(), 1)
        os.dup2(log_file.fileno(), 2)
    # Log records go to the file for good, even after an error gives the console back: the
    # embedded PostgreSQL still reports its exit as the process ends.
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().handlers = [file_handler]
    try:
        yield console
    except BaseException:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        raise
    finally:
        os.close(saved_out)
        os.close(saved_err)
        console.close()


def run_server(settings: Settings, *, verbose: bool = False) -> None:
    """Start everything, print the banner, and serve until SIGINT or SIGTERM."""
    verbose = verbose or settings.log_level == "DEBUG"
    check_master_key(settings)
    check_port_free(settings.host, settings.port)
    if settings.database_url:
        check_database_reachable(settings.session_database_url or settings.database_url)
    log_file = None if verbose else settings.data_dir / LOGS_DIR / SERVE_LOG_FILE
    with output_to_file(log_file) as console:
        _run(settings, console, log_file)


def _run(settings: Settings, console: TextIO, log_file: Path | None) -> None:
    def say(message: str = "") -> None:
        print(message, file=console, flush=True)

    where = f" (the details are in {log_file})" if log_file else ""
    try:
        resolved, embedded = resolve_settings(settings)
    except ValueError as error:  # a master key file in the data dir that does not decode
        raise StartupError(f"{error} ({settings.data_dir / 'master.key'})") from None
    except Exception as error:
        log.exception("the embedded PostgreSQL did not start")
        raise StartupError(f"the embedded PostgreSQL did not start: {error}{where}") from None
    try:
        check_master_key_opens_secrets(resolved)
        operator_token = prepare_database(resolved)
        database = (f"embedded PostgreSQL in {embedded.data_dir}" if embedded is not None
                    else describe_database(resolved.database_url or ""))
        _serve_until_stopped(resolved, say, database, log_file, operator_token, where)
    finally:
        if embedded is not None:
            embedded.stop()


def _serve_until_stopped(settings: Settings, say, database: str, log_file: Path | None,
                         operator_token: str | None, where: str) -> None:
    import ray
    from ray import serve

    from .actors.host_pool import license_host_count
    from .api.deployment import build_app
    from .log_files import ray_logs_dir

    stop = StopSignal()
    try:
        try:
            # Without KEYLIGHT_RAY_ADDRESS: a fresh local instance, never a cluster left
            # running by someone else on this machine.
            ray.init(address=settings.ray_address or "local", namespace=NAMESPACE,
                     configure_logging=False)
            # Fixed once here, so every ingress replica routes over the same pool of hosts
            # even if one restarts when the cluster has fewer CPUs.
            settings = settings.with_changes(license_hosts=license_host_count(settings))
            serve.start(http_options={"host": settings.host, "port": settings.port})
            serve.run(build_app(settings), name=APP_NAME, route_prefix="/")
        except Exception as error:
            log.exception("the server did not start")
            raise StartupError(f"the server did not start: {error}{where}") from None
        # After ray.init, which installs a SIGTERM handler of its own in the driver.
        stop.install()
        banner = Banner(url=f"http://{settings.host}:{settings.port}", data_dir=settings.data_dir,
                        database=database, log_file=log_file, ray_logs=ray_logs_dir(),
                        operator_token=operator_token)
        for line in banner.lines():
            say(line)
        say(f"Stopping ({stop.wait().name})...")
    finally:
        if ray.is_initialized() and settings.ray_address is None:
            # Ctrl-C reaches the local raylet too; shutting Ray down ends Serve with it,
            # and everything acknowledged is already in Postgres.
            ray.shutdown()
        elif ray.is_initialized():
            serve.delete(APP_NAME)
    say("Stopped.")
