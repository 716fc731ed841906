"""The SDK fast path: well-formed activations and validations are answered without
FastAPI's routing; everything else reaches FastAPI exactly as it was sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.responses import JSONResponse

from keylight_actors.api.middleware.sdk_fast_path import FastRoute, SdkFastPath
from keylight_actors.api.routes.sdk import fast_routes
from keylight_actors.domain.errors import RateLimited

ACTIVATION = {"license_key": "OBXT-AAAA-BBBB-CCCC", "instance_name": "laptop"}


class Recorder:
    """The rest of the stack (FastAPI), as far as the fast path can tell: it records what
    reached it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        self.bodies.append(message["body"])
        await JSONResponse({"from": "fastapi"}, status_code=418)(scope, receive, send)


def fast_path(answer: Any) -> tuple[SdkFastPath, Recorder, list[tuple[Any, ...]]]:
    calls: list[tuple[Any, ...]] = []

    async def recording_answer(caller: Any, tenant_id: str, product_id: str, body: Any
                               ) -> JSONResponse:
        calls.append((caller, tenant_id, product_id, body))
        return await answer()

    def routes() -> dict[str, FastRoute]:
        return {verb: FastRoute(route.route, route.model, recording_answer)
                for verb, route in fast_routes().items()}

    rest = Recorder()
    return SdkFastPath(rest, lambda: "services", routes), rest, calls


async def request(app: Any, path: str, body: bytes, *, method: str = "POST",
                  headers: list[tuple[bytes, bytes]] | None = None
                  ) -> tuple[int, dict[bytes, bytes], dict[str, Any], dict[str, Any]]:
    scope = {"type": "http", "method": method, "path": path, "root_path": "",
             "headers": headers if headers is not None else
             [(b"content-type", b"application/json"), (b"x-keylight-sdk-key", b"sk_test")],
             "client": ("203.0.113.7", 5000), "query_string": b""}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    return (start["status"], dict(start["headers"]), json.loads(sent[1]["body"]), scope)


async def answered() -> JSONResponse:
    return JSONResponse({"activated": True})


async def test_a_well_formed_activation_is_answered_without_fastapi():
    app, rest, calls = fast_path(answered)
    status, _, body, scope = await request(app, "/acme/editor/activate",
                                           json.dumps(ACTIVATION).encode())
    assert (status, body) == (200, {"activated": True})
    assert rest.bodies == []
    [(caller, tenant_id, product_id, parsed)] = calls
    assert (tenant_id, product_id, parsed.license_key) == ("acme", "editor", ACTIVATION[
        "license_key"])
    assert (caller.sdk_key, caller.address) == ("sk_test", "203.0.113.7")
    assert scope["route"].path == "/{tenant_id}/{product_id}/activate"
    assert scope["path_params"] == {"tenant_id": "acme", "product_id": "editor"}


async def test_a_well_formed_validation_is_answered_without_fastapi():
    app, rest, calls = fast_path(answered)
    await request(app, "/acme/editor/validate",
                  json.dumps({"license_key": "OBXT-A", "instance_id": "i-1"}).encode())
    assert rest.bodies == [] and len(calls) == 1


@pytest.mark.parametrize("body", [
    b"{not json", b"", b"[]", json.dumps({"license_key": "OBXT-A"}).encode(),
    json.dumps({**ACTIVATION, "instance_name": 7}).encode(),
    json.dumps({**ACTIVATION, "license_key": "K" * 129}).encode(),
], ids=["malformed", "empty", "not-an-object", "missing-field", "wrong-type", "too-long"])
async def test_a_body_that_does_not_validate_reaches_fastapi_unchanged(body):
    app, rest, calls = fast_path(answered)
    status, _, _, _ = await request(app, "/acme/editor/activate", body)
    assert status == 418 and rest.bodies == [body] and calls == []


@pytest.mark.parametrize(("method", "path", "content_type"), [
    ("GET", "/acme/editor/activate", b"application/json"),
    ("POST", "/acme/editor/deactivate", b"application/json"),
    ("POST", "/acme/editor/activate/", b"application/json"),
    ("POST", "/acme//activate", b"application/json"),
    ("POST", "/api/acme/editor/activate", b"application/json"),
    ("POST", "/acme/editor/activate", b"text/plain"),
], ids=["other-method", "other-verb", "trailing-slash", "empty-segment", "longer-path",
        "other-content-type"])
async def test_other_requests_reach_fastapi_unchanged(method, path, content_type):
    app, rest, calls = fast_path(answered)
    body = json.dumps(ACTIVATION).encode()
    status, _, _, _ = await request(app, path, body, method=method,
                                    headers=[(b"content-type", content_type)])
    assert status == 418 and rest.bodies == [body] and calls == []


async def test_json_with_a_charset_or_no_content_type_at_all_is_served():
    for headers in ([(b"content-type", b"Application/JSON; charset=utf-8")], []):
        app, rest, calls = fast_path(answered)
        await request(app, "/acme/editor/activate", json.dumps(ACTIVATION).encode(),
                      headers=headers)
        assert rest.bodies == [] and len(calls) == 1


async def test_a_domain_error_gets_the_documented_error_answer():
    async def limited() -> JSONResponse:
        raise RateLimited("slow down", retry_after=7, code="SDK_QUOTA_EXCEEDED")

    app, _, _ = fast_path(limited)
    status, headers, body, _ = await request(app, "/acme/editor/activate",
                                             json.dumps(ACTIVATION).encode())
    assert (status, body) == (429, {"error": "slow down", "code": "SDK_QUOTA_EXCEEDED"})
    assert headers[b"retry-after"] == b"7"


async def test_an_unexpected_error_is_a_logged_500_without_details(caplog):
    async def broken() -> JSONResponse:
        raise RuntimeError("secret internals")

    app, _, _ = fast_path(broken)
    status, _, body, _ = await request(app, "/acme/editor/activate",
                                       json.dumps(ACTIVATION).encode())
    assert (status, body) == (500, {"error": "internal error", "code": "INTERNAL"})
    assert "secret internals" in caplog.text
