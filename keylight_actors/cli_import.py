"""``keylight license import FILE.csv|FILE.json --tenant T [--dry-run] [--announce]``.

Uploads the file to POST /api/{tenant}/licenses/import (docs/import.md), showing the bytes
sent on the standard error, then prints the counts, the keys the server generated (shown
once) and, when the server refused the file, a table of every row error (exit 1).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .cli_api import CommandFailed, Verb, _failure, _path, _secret_note, _token
from .cli_format import table

UPLOAD_TIMEOUT_SECONDS = 600
CHUNK_BYTES = 256 * 1024
MEDIA_TYPES = {".csv": "text/csv", ".json": "application/json"}


def _chunks(path: Path, total: int, quiet: bool) -> Iterator[bytes]:
    sent = 0
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            sent += len(chunk)
            if not quiet:
                print(f"\ruploading {path.name}: {sent:,} of {total:,} bytes "
                      f"({100 * sent // max(total, 1)}%)", end="", file=sys.stderr, flush=True)
            yield chunk
    if not quiet:
        print(f"\nuploaded; the server is checking {path.name}...", file=sys.stderr, flush=True)


def run_import(verb: Verb, args: argparse.Namespace) -> None:
    path = Path(args.file)
    media_type = MEDIA_TYPES.get(path.suffix.lower())
    if media_type is None:
        raise CommandFailed(f"{path.name}: give a .csv or a .json file")
    try:
        total = path.stat().st_size
    except OSError as error:
        raise CommandFailed(f"cannot read {path}: {error.strerror or error}") from None
    headers = {"Authorization": f"Bearer {_token(args)}", "Content-Type": media_type,
               "Content-Length": str(total)}
    try:
        answer = httpx.post(args.url.rstrip("/") + _path(verb, args), headers=headers,
                            content=_chunks(path, total, args.json),
                            timeout=UPLOAD_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        raise CommandFailed(f"cannot reach {args.url}: {error}") from None
    try:
        payload: Any = answer.json()
    except ValueError:
        payload = None
    if answer.status_code not in (200, 422) or not isinstance(payload, dict) or (
            "errors" not in payload):
        raise _failure(answer.status_code, payload, answer.text)
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        _show(payload)
    if payload["errors"]:
        raise CommandFailed(payload.get("error") or "the file has errors; nothing was imported")


def _show(payload: dict[str, Any]) -> None:
    dry = " (dry run: nothing was written)" if payload.get("dry_run") else ""
    verb = "would import" if payload.get("dry_run") else "imported"
    print(f"{verb}: {payload.get('imported', 0)}, unchanged: {payload.get('unchanged', 0)}, "
          f"errors: {len(payload['errors'])}{dry}")
    if payload["errors"]:
        print()
        print("\n".join(table(payload["errors"], ("row", "field", "error"))))
    generated = payload.get("generated_keys") or []
    if generated:
        print()
        print("\n".join(table(generated, ("row", "license_key"))))
        print()
        print(_secret_note(["the generated license keys"]))
