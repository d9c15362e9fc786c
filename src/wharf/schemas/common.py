"""Shapes shared by every resource: problems and health."""

from __future__ import annotations

from typing import Any

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


class Health(ResponseModel):
    """Whether the server and its store answer."""

    status: str
    version: str
    database: str
    sandbox: dict[str, Any] | None = None
    """With ``?deep=true``: whether user code runs sandboxed (``state``: ``active``, ``off``,
    ``unavailable``), what was found, and the uid it runs as."""
