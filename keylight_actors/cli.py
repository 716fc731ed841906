"""The keylight command: run the server, migrate its database, and drive the management API."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from .cli_api import CommandFailed, add_api_commands
from .settings import Settings


def _settings_from(args: argparse.Namespace) -> Settings:
    settings = Settings.from_env()
    overrides = {
        "database_url": getattr(args, "database_url", None),
        "data_dir": Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        "host": getattr(args, "host", None),
        "port": getattr(args, "port", None),
        "ray_address": getattr(args, "ray_address", None),
    }
    return settings.with_changes(**{k: v for k, v in overrides.items() if v is not None})


def cmd_serve(args: argparse.Namespace) -> None:
    from .server import StartupError, run_server

    try:
        run_server(_settings_from(args), verbose=args.verbose)
    except StartupError as error:
        raise CommandFailed(str(error)) from None


def cmd_migrate(args: argparse.Namespace) -> None:
    from .bootstrap import resolve_settings
    from .store.migrate import apply_migrations

    resolved, embedded = resolve_settings(_settings_from(args))
    try:
        # --database-url names the database to migrate; else the direct URL when one is set.
        url = getattr(args, "database_url", None) or resolved.session_database_url
        assert url
        applied = apply_migrations(url)
        print(f"applied: {', '.join(f'{n:04d}' for n in applied)}" if applied
              else "schema is up to date")
    finally:
        if embedded is not None:
            embedded.stop()


def _levels(raw: str) -> list[int]:
    try:
        levels = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated whole numbers, not {raw!r}"
                                         ) from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError("concurrency levels must be at least 1")
    return levels


def cmd_bench(args: argparse.Namespace) -> None:
    from .bench.errors import BenchFailed
    from .bench.report import format_report, write_json
    from .bench.run import BenchConfig, run_bench

    config = BenchConfig(licenses=args.licenses, tenants=args.tenants, levels=args.concurrency,
                         duration=args.duration, max_requests=args.max_requests,
                         progress=not args.no_progress, client=args.client,
                         sweep=args.sweep, rounds=args.rounds,
                         round_seconds=args.round_seconds)
    token = args.operator_token or os.environ.get("KEYLIGHT_ADMIN_TOKEN") or None
    database_url = args.database_url or os.environ.get("KEYLIGHT_DATABASE_URL") or None

    def announce(message: str) -> None:
        print(message, file=sys.stderr)

    # A terminated bench unwinds like an interrupted one: its Ray instance, its embedded
    # PostgreSQL and its scratch directory go with it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        report = run_bench(config, url=args.url, noop_url=args.noop_url,
                           database_url=database_url, operator_token=token,
                           announce=announce)
    except BenchFailed as failure:
        raise CommandFailed(str(failure)) from None
    print(format_report(report))
    if args.json:
        write_json(report, Path(args.json))
        print(f"\nreport written to {args.json}")


def cmd_bench_reports(args: argparse.Namespace) -> None:
    from .bench.errors import BenchFailed
    from .bench.report import write_json
    from .bench.reports_bench import ReportsConfig, format_report, run_reports_bench

    config = ReportsConfig(licenses=args.licenses, export_licenses=args.export_licenses,
                           runs=args.runs, progress=not args.no_progress)
    token = args.operator_token or os.environ.get("KEYLIGHT_ADMIN_TOKEN") or None
    database_url = args.database_url or os.environ.get("KEYLIGHT_DATABASE_URL") or None

    def announce(message: str) -> None:
        print(message, file=sys.stderr)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        report = run_reports_bench(config, url=args.url, database_url=database_url,
                                   operator_token=token, announce=announce)
    except BenchFailed as failure:
        raise CommandFailed(str(failure)) from None
    print(format_report(report))
    if args.json:
        write_json(report, Path(args.json))
        print(f"\nreport written to {args.json}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keylight", description=__doc__,
        epilog="Run 'keylight COMMAND --help' for a command's options.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve", help="run the server (an embedded PostgreSQL unless a database URL is given)",
        description="Run the server on a local Ray instance (or KEYLIGHT_RAY_ADDRESS). Without "
                    "a database URL an embedded PostgreSQL keeps its data in the data dir. "
                    "Prints where it listens and, on first start, the operator token; Ray's "
                    "and PostgreSQL's own output goes to DATA_DIR/logs/keylight-serve.log.")
    serve.add_argument("--host", help="address to listen on (KEYLIGHT_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (KEYLIGHT_PORT, 8000)")
    serve.add_argument("--database-url",
                       help="PostgreSQL URL (KEYLIGHT_DATABASE_URL; default: embedded)")
    serve.add_argument("--data-dir", help="where the embedded database, the master key and "
                                          "the logs live (KEYLIGHT_DATA_DIR)")
    serve.add_argument("--ray-address",
                       help="an existing Ray cluster (KEYLIGHT_RAY_ADDRESS; default: local)")
    serve.add_argument("--verbose", action="store_true",
                       help="show Ray's and PostgreSQL's output here instead of the log file "
                            "(also KEYLIGHT_LOG_LEVEL=debug)")
    serve.set_defaults(run=cmd_serve)

    migrate = commands.add_parser(
        "migrate", help="apply pending database migrations",
        description="Apply the pending schema migrations and exit.")
    migrate.add_argument("--database-url",
                         help="PostgreSQL URL (KEYLIGHT_DATABASE_URL; default: embedded)")
    migrate.add_argument("--data-dir", help="the embedded database's data dir "
                                            "(KEYLIGHT_DATA_DIR)")
    migrate.set_defaults(run=cmd_migrate)

    bench = commands.add_parser(
        "bench", help="benchmark activation and validation against two baselines",
        description="Seed tenants and licenses, then drive activate / validate / deactivate "
                    "from a separate load-generator process at each concurrency level, next "
                    "to a Ray Serve no-op endpoint and a plain FastAPI + uvicorn + PostgreSQL "
                    "process. Without --url it starts its own server: a fresh local Ray with "
                    "Serve throughput-optimised, on an embedded PostgreSQL in a temporary "
                    "directory unless --database-url is given. Loopback only.")
    bench.add_argument("--licenses", type=int, default=10_000, help="licenses to seed")
    bench.add_argument("--tenants", type=int, default=4, help="tenants to seed")
    bench.add_argument("--concurrency", type=_levels, default=[1, 8, 32],
                       help="concurrent clients per level, comma-separated (1,8,32)")
    bench.add_argument("--duration", type=float, default=10.0,
                       help="seconds per scenario and level")
    bench.add_argument("--max-requests", type=int, default=100_000,
                       help="requests at most per scenario and level")
    bench.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    bench.add_argument("--url", help="an already running server (loopback) instead of one "
                                     "started here; needs --database-url and --operator-token")
    bench.add_argument("--noop-url", help="with --url: a Serve no-op baseline to measure "
                       "(serve run keylight_actors.bench.baselines:noop_serve_app)")
    bench.add_argument("--operator-token", help="operator token (or KEYLIGHT_ADMIN_TOKEN)")
    bench.add_argument("--database-url", help="PostgreSQL to seed (or KEYLIGHT_DATABASE_URL)")
    bench.add_argument("--client", choices=["raw", "httpx"], default="raw",
                       help="the load generator's HTTP client: a lean HTTP/1.1 one (default) "
                            "or httpx, which costs ~1 ms of client CPU per request")
    bench.add_argument("--sweep", action="store_true",
                       help="also touch every seeded license once through the license hosts, "
                            "sampling their memory (is it flat once the caps fill?)")
    bench.add_argument("--rounds", type=int, default=3,
                       help="after the main run, rounds that measure activation, the no-op "
                            "and the plain baseline in turn at 32 clients (or the highest "
                            "level); their median ratios are steadier than one pass (0: none)")
    bench.add_argument("--round-seconds", type=float, default=5.0,
                       help="seconds per target and round")
    bench.add_argument("--no-progress", action="store_true", help="no progress bars")
    bench.set_defaults(run=cmd_bench)

    reports = commands.add_parser(
        "bench-reports", help="benchmark the management reports (stats, list, CSV export)",
        description="Seed one tenant with --licenses licenses (and their devices) and a "
                    "second with --export-licenses, straight into PostgreSQL, then time the "
                    "stats route (30 and 365 days) and the license list (first page, "
                    "filtered pages) and stream the second tenant's CSV export while "
                    "sampling the ingress replica's RSS every 50 ms. Without --url it starts "
                    "its own server like 'keylight bench'. Loopback only.")
    reports.add_argument("--licenses", type=int, default=1_000_000,
                         help="licenses of the stats tenant (1,000,000)")
    reports.add_argument("--export-licenses", type=int, default=100_000,
                         help="licenses of the export tenant (100,000)")
    reports.add_argument("--runs", type=int, default=20, help="timed requests per route")
    reports.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    reports.add_argument("--url", help="an already running server (loopback); needs "
                                       "--database-url and --operator-token")
    reports.add_argument("--operator-token", help="operator token (or KEYLIGHT_ADMIN_TOKEN)")
    reports.add_argument("--database-url",
                         help="PostgreSQL to seed (or KEYLIGHT_DATABASE_URL; default: an "
                              "embedded one in a temporary directory)")
    reports.add_argument("--no-progress", action="store_true", help="no progress bars")
    reports.set_defaults(run=cmd_bench_reports)

    add_api_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    quiet = args.command not in {"serve", "migrate"}
    logging.basicConfig(level=logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        args.run(args)
    except CommandFailed as failure:
        print(f"keylight: {failure}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"keylight: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
