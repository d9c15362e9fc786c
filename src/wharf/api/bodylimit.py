"""Request bodies are bounded while they stream in, before any route (or token check) runs.

A declared ``Content-Length`` above the route's limit is refused at once, unread; a chunked
body is counted as it arrives and refused at the byte that passes the limit. Either way the
server holds at most one chunk more than the limit, and the caller gets 413 problem+json.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wharf.api.problems import problem_response
from wharf.api.routers.hooks import WEBHOOK_LIMIT

_UPLOAD = re.compile(r"^/api/v1/workspaces/[^/]+/datastores/[^/]+/files/")


class BodyTooLarge(HTTPException):
    """The body passed the route's limit (raised from ``receive``, so FastAPI passes it on)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {describe_size(limit)}")


def describe_size(limit: int) -> str:
    for unit, size in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if limit >= size and limit % size == 0:
            return f"{limit // size} {unit}"
    return f"{limit} bytes"


def route_limits(json_limit: int, upload_limit: int) -> Callable[[str, str], int]:
    """The body limit for a request's method and path: uploads, webhooks, everything else."""

    def limit_for(method: str, path: str) -> int:
        if method == "PUT" and _UPLOAD.match(path):
            return upload_limit
        if path.startswith("/hooks/"):
            return WEBHOOK_LIMIT
        return json_limit

    return limit_for


class BodyLimit:
    """ASGI middleware: counts the request body through ``receive`` and stops at the limit."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str, str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["method"], scope["path"])
        declared = _declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except BodyTooLarge:
            # Raised where no exception handler answered (a middleware, a streamed response).
            if started:
                raise
            await _refuse(scope, receive, send, limit)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            # Unparseable lengths are the server's parser's to refuse; count instead.
            return int(text) if text.isdigit() else None
    return None


async def _refuse(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    error = BodyTooLarge(limit)
    request = Request(scope, receive)
    response = problem_response(
        request,
        status=413,
        title="Too large",
        detail=str(error.detail),
        code="too-large",
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
