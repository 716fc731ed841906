"""Every error answer is ``{"error": <human text>, "code": <MACHINE_CODE>}``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..domain import errors

log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthorized: 401,
    errors.ActivationLimitReached: 402,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.UpstreamFailed: 502,
    errors.Unavailable: 503,
}


class ErrorBody(BaseModel):
    """Every error answer; some carry more (a 422 from validate also has its lease)."""

    model_config = ConfigDict(extra="allow")

    error: str
    code: str


DOCUMENTED_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in (
        (400, "malformed JSON, wrong types, missing, unknown or over-long fields"),
        (401, "missing or wrong credential"),
        (402, "activation limit reached"),
        (403, "forbidden by the tenant's lifecycle, or another tenant's credential"),
        (404, "unknown tenant, product, key type, license or route"),
        (405, "method not allowed"),
        (409, "duplicate, illegal lifecycle move, or idempotency key reused"),
        (413, "request body too large"),
        (422, "license expired or revoked, instance not active, or no Stripe price"),
        (429, "rate limit or quota reached; see Retry-After"),
        (502, "Stripe failed"),
        (503, "a host is restarting or storage is unavailable; retry"),
    )
}


def error_response(status: int, message: str, code: str, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    return JSONResponse({"error": message, "code": code}, status_code=status, headers=headers)


def domain_error_response(error: errors.DomainError) -> JSONResponse:
    headers = None
    if isinstance(error, errors.RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
    elif isinstance(error, errors.Unavailable):
        headers = {"Retry-After": "1"}
    return error_response(STATUS_BY_ERROR.get(type(error), 500), error.message, error.code,
                          headers)


def unexpected_error_response(method: str, path: str) -> JSONResponse:
    """The 500 for an error nothing expected; call it while handling that error."""
    log.exception("unhandled error on %s %s", method, path)
    return error_response(500, "internal error", "INTERNAL")


def _describe_validation(error: RequestValidationError) -> tuple[str, str]:
    problems = error.errors()
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return "request body is not valid JSON", "INVALID_JSON"
    first = problems[0] if problems else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = first.get("msg", "invalid request")
    return (f"{where}: {message}" if where else message), "INVALID_INPUT"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(errors.DomainError)
    async def domain_error(_: Request, error: errors.DomainError) -> JSONResponse:
        return domain_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        message, code = _describe_validation(error)
        return error_response(400, message, code)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400 and isinstance(error.__cause__, (ValueError, RecursionError)):
            # FastAPI's own "error parsing the body": bytes that are not UTF-8 (RFC 8259
            # requires it) or nesting too deep to decode. Malformed JSON all the same.
            return error_response(400, "request body is not valid JSON", "INVALID_JSON")
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(error.status_code, "HTTP_ERROR")
        return error_response(error.status_code, str(error.detail), code)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return unexpected_error_response(request.method, request.url.path)
