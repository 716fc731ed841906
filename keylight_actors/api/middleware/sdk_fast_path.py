"""Activate and validate, nearly all traffic, served without FastAPI's routing, dependency
solving and exception middlewares: about a tenth of the ingress's CPU per request.

Only a request FastAPI would take as it stands is served here: a POST to
``/{tenant_id}/{product_id}/activate`` (or ``validate``) with a JSON body that validates
against the route's own model. Anything else (another content type, a body that does not
validate, a path with a root path) goes on to FastAPI untouched, so every answer to a
malformed request is FastAPI's. The answer itself comes from the same function the FastAPI
route calls, and errors become the same responses as the app's exception handlers give.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel

from ...domain.errors import DomainError
from ..errors import domain_error_response, unexpected_error_response
from ..sdk_caller import SdkCaller
from .request_guard import (
    ASGIApp,
    Receive,
    Scope,
    Send,
    header_value,
    read_body,
    replay_body,
)

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class FastRoute:
    route: APIRoute                  # what FastAPI would have matched (its path: the template)
    model: type[BaseModel]           # the route's body model
    answer: Callable[[SdkCaller, str, str, Any], Awaitable[JSONResponse]]


def _json_or_absent(content_type: bytes | None) -> bool:
    """What FastAPI reads as JSON without doubt: no content type, or application/json."""
    if content_type is None:
        return True
    media_type = content_type.decode("latin-1").split(";", 1)[0].strip().lower()
    return media_type == JSON_CONTENT_TYPE


class SdkFastPath:
    def __init__(self, app: ASGIApp, services_of_app: Callable[[], Any],
                 routes: Callable[[], dict[str, FastRoute]]) -> None:
        self.app = app
        self._services_of_app = services_of_app
        self._routes = routes()

    def _route_for(self, scope: Scope) -> tuple[FastRoute, str, str] | None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return None
        parts = scope["path"].split("/")
        if len(parts) != 4 or parts[0] or not parts[1] or not parts[2]:
            return None
        route = self._routes.get(parts[3])
        if route is None or not _json_or_absent(header_value(scope, b"content-type")):
            return None
        return route, parts[1], parts[2]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._route_for(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, tenant_id, product_id = matched
        body = await read_body(receive)
        try:
            parsed = route.model.model_validate_json(body)
        except ValueError:  # pydantic's ValidationError: FastAPI words the answer
            await self.app(scope, replay_body([body], None, receive), send)
            return
        scope["route"] = route.route
        scope["path_params"] = {"tenant_id": tenant_id, "product_id": product_id}
        caller = SdkCaller.of_scope(self._services_of_app(), scope)
        try:
            response = await route.answer(caller, tenant_id, product_id, parsed)
        except DomainError as error:
            response = domain_error_response(error)
        except Exception:
            response = unexpected_error_response(scope["method"], scope["path"])
        await response(scope, receive, send)
