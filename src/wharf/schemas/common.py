"""Shapes shared by every resource: problems and health."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields are an error, so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """Base of response bodies: unknown fields are kept, so older SDKs read newer servers."""

    model_config = ConfigDict(extra="allow")


class FieldError(ResponseModel):
    """One invalid field of a request."""

    field: str
    message: str


class Problem(ResponseModel):
    """An RFC 9457 problem document; ``code`` is stable and meant for programs."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    errors: list[FieldError] | None = None
    extra: dict[str, Any] | None = None
    request_id: str | None = None
    """The request's id (its ``X-Request-ID``): quote it to find the server's log lines."""


class HealthCheck(ResponseModel):
    """One check of the deep health report."""

    status: Literal["ok", "failed"]
    detail: str


class Health(ResponseModel):
    """Whether the server and its store answer; with ``deep``, every check by name."""

    status: Literal["ok", "unavailable"]
    version: str
    database: str
    checks: dict[str, HealthCheck] | None = None
    """Only in the deep report (``?deep=true``, ``/ready``): ``database``, ``build-runner``,
    ``job-runner``, ``disk``..., each ``ok`` or ``failed`` with a line that says why."""
