"""Every error leaves the API as RFC 9457 ``application/problem+json`` with a stable ``code``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from wharf.api.middleware import REQUEST_ID_HEADER, request_id_of
from wharf.errors import ServiceError, TooManyAttempts, Unavailable
from wharf.schemas.common import FieldError, Problem
from wharf.schemas.text import PATTERN_MESSAGES

logger = logging.getLogger("wharf.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"

_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    429: "too-many-requests",
}


def problem_response(
    request: Request,
    *,
    status: int,
    title: str,
    detail: str,
    code: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response for ``request``, with its request id (body and header)."""
    request_id = request_id_of(request.scope)
    if request_id is not None:
        headers = {**(headers or {}), REQUEST_ID_HEADER: request_id}
    body = Problem(
        type=f"urn:wharf:problem:{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        instance=request.url.path,
        errors=errors,
        request_id=request_id,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


async def _on_service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    errors = None
    if "field" in exc.extra:
        errors = [FieldError(field=str(exc.extra["field"]), message=exc.detail)]
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if isinstance(exc, Unavailable | TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return problem_response(
        request,
        status=exc.status,
        title=exc.title,
        detail=exc.detail,
        code=exc.code,
        errors=errors,
        headers=headers,
    )


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = []
    for error in exc.errors():
        field = _location(tuple(error.get("loc", ())))
        message = str(error.get("msg", "is not valid"))
        if error.get("type") == "string_pattern_mismatch":
            pattern = error.get("ctx", {}).get("pattern")
            message = PATTERN_MESSAGES.get(pattern, message)
        if error.get("type") == "json_invalid":
            field, message = (
                "body",
                "the body is not valid JSON: " + str(error.get("ctx", {}).get("error", message)),
            )
        errors.append(FieldError(field=field, message=message))
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or "the request is not valid"
    return problem_response(
        request, status=422, title="Invalid request", detail=detail, code="invalid", errors=errors
    )


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "error")
    detail = exc.detail if isinstance(exc.detail, str) else "request failed"
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}"
    return problem_response(
        request,
        status=exc.status_code,
        title=code.replace("-", " ").capitalize(),
        detail=detail,
        code=code,
        headers=getattr(exc, "headers", None),
    )


async def _on_unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the server log (it never holds secret values: services keep them
    # encrypted until the moment of use); the caller gets an opaque 500.
    # Outside the request-id middleware by now (Starlette's error middleware is outermost):
    # the id comes from the request's state.
    logger.exception(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        extra={"request_id": request_id_of(request.scope)},
    )
    return problem_response(
        request,
        status=500,
        title="Internal server error",
        detail="the server failed to handle this request; the server log has the details",
        code="internal-error",
    )


PROBLEM_RESPONSES = {
    400: "The request is malformed (a header or a value it cannot use)",
    401: "No token, or one that is unknown, expired or revoked",
    403: "The token's user lacks the permission",
    404: "The workspace, the resource or the route does not exist",
    409: "The request conflicts with the resource's current state",
    413: "The body is larger than the server accepts",
    422: "A field of the request is not valid",
}
"""The error answers every operation may give, declared in the OpenAPI document."""


def declare_problem_responses(document: dict[str, Any]) -> dict[str, Any]:
    """Declare :data:`PROBLEM_RESPONSES` as ``application/problem+json`` with the one shared
    :class:`Problem` schema on every operation of an OpenAPI ``document`` (in place). FastAPI's
    own 422 (an ``application/json`` validation body Wharf never sends) is replaced."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    definitions = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(definitions.pop("$defs", {}))
    schemas["Problem"] = definitions
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for status, description in PROBLEM_RESPONSES.items():
                declared = responses.get(str(status), {}) if status != 422 else {}
                responses[str(status)] = {
                    "description": declared.get("description", description),
                    "content": {
                        PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
                    },
                }
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


def install_problem_handlers(app: FastAPI) -> None:
    """Map every error the API can raise to problem+json, and say so in the OpenAPI document."""
    app.add_exception_handler(ServiceError, _on_service_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected_error)
    build_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = declare_problem_responses(build_document())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
