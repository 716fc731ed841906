"""Licenses → Import: a CSV (or JSON) file checked first (a dry run, its report shown), then
imported for real, the generated keys shown once.

The file comes as ``multipart/form-data`` (a plain file field), read with the standard
library's MIME parser (no form-parsing dependency, as the other forms read their bodies
themselves). The report page carries the file's content back in a hidden field (base64), so
the real import needs nothing kept on any replica. Both steps run ``run_import``, the JSON
route's own use case (``POST /api/{tenant}/licenses/import``).
"""

from __future__ import annotations

import base64
import binascii
from email.parser import BytesParser
from email.policy import HTTP

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..api.routes.license_import import run_import
from ..domain.errors import Forbidden, InvalidInput
from .routes import DashboardRoute, _page_values, _render, _user, context_of
from .security import same_token

router = APIRouter(prefix="/dashboard", route_class=DashboardRoute, include_in_schema=False)

FORMATS = {"csv": "csv", "json": "json"}


async def _multipart(request: Request) -> dict[str, tuple[str | None, bytes]]:
    """The fields of a ``multipart/form-data`` body: name → (file name, bytes)."""
    kind = request.headers.get("content-type", "")
    if kind.split(";")[0].strip().lower() != "multipart/form-data":
        raise InvalidInput("expected a form with a file")
    header = b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(header + await request.body())
    if not message.is_multipart():
        raise InvalidInput("expected a form with a file")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name not in fields:
            payload = part.get_payload(decode=True)
            fields[name] = (part.get_filename(), payload if isinstance(payload, bytes) else b"")
    return fields


def _text(fields: dict[str, tuple[str | None, bytes]], name: str) -> str:
    return fields.get(name, (None, b""))[1].decode("utf-8", "replace").strip()


def _format_of(file_name: str | None, given: str) -> str:
    if given in FORMATS:
        return FORMATS[given]
    return "json" if (file_name or "").lower().endswith(".json") else "csv"


@router.get("/tenants/{tenant_id}/licenses/import")
async def import_form(tenant_id: str, request: Request) -> Response:
    user = await _user(request, tenant_id)
    snapshot = await context_of(request).tenants.snapshot(tenant_id)
    return _render(request, "import.html", **_page_values(user, tenant_id, snapshot,
                                                           "licenses"),
                   result=None, content="", file_format="csv", announce=False, error=None)


@router.post("/tenants/{tenant_id}/licenses/import")
async def import_file(tenant_id: str, request: Request) -> Response:
    """``step=check``: the uploaded file, a dry run; ``step=import``: the checked content,
    for real."""
    user = await _user(request, tenant_id)
    fields = await _multipart(request)
    if not same_token(_text(fields, "csrf"), user.csrf):
        raise Forbidden("this form is stale or did not come from the dashboard; reload the page")
    context = context_of(request)
    snapshot = await context.tenants.snapshot(tenant_id)
    values = _page_values(user, tenant_id, snapshot, "licenses")
    announce = _text(fields, "announce") == "on"
    step = _text(fields, "step")
    if step == "import":
        try:
            body = base64.b64decode(_text(fields, "content"), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("the checked file did not come back whole; upload it again"
                               ) from None
        file_format = FORMATS.get(_text(fields, "format"), "csv")
    else:
        file_name, body = fields.get("file", (None, b""))
        file_format = _format_of(file_name, _text(fields, "format"))
    if not body.strip():
        return _render(request, "import.html", 400, **values, result=None, content="",
                       file_format=file_format, announce=announce,
                       error="Choose a file to import.")
    result = await run_import(context, tenant_id, user.actor, body, file_format,
                              dry_run=step != "import", announce=announce)
    return _render(request, "import.html", 200 if result.ok else 422, **values,
                   result=result, content=base64.b64encode(body).decode("ascii"),
                   file_format=file_format, announce=announce, error=None)
