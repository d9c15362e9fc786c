"""Every request through the server: a request id, one access log line, API metrics.

Mounted outermost (outside the route proxy), so app-route traffic gets an id and an access line
too. The id is the caller's ``X-Request-ID`` when it is safe to repeat in logs (bounded length,
plain characters), else a new one; either way it is echoed in the response, passed on to an
app's replica, put on every log record written while the request runs, and into problem bodies
(``request.state.request_id``).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wharf.api.routers.hooks import redact_hook_secret
from wharf.logconfig import REQUEST_ID
from wharf.metrics import Metrics
from wharf.runtime.route_metrics import APP_ROUTE_SCOPE_KEY

access_log = logging.getLogger("wharf.access")

REQUEST_ID_HEADER = "x-request-id"
MAX_REQUEST_ID = 128
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,%d}" % MAX_REQUEST_ID)  # noqa: UP031

UNMATCHED_ROUTE = "unmatched"
"""The route label of requests no route took (404s for made-up paths): raw paths would give
Prometheus a series per guess."""


def accept_request_id(value: str | None) -> str:
    """The caller's id when it is safe to log and repeat; a fresh one otherwise."""
    if value is not None and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def request_id_of(scope: Scope) -> str | None:
    """The id the middleware gave this request (``None`` outside it)."""
    state: dict[str, Any] = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")


def route_template(scope: Scope) -> str:
    """The template of the route that took the request (``/api/v1/workspaces/{ws}/apps``),
    with the prefixes of included routers, whichever way FastAPI mounted them."""
    path = getattr(scope.get("route"), "path", None)
    if not isinstance(path, str):
        return UNMATCHED_ROUTE
    params = scope.get("path_params") or {}
    concrete = _PARAMETER.sub(lambda m: str(params.get(m.group(1), m.group(0))), path)
    full: str = scope["path"]
    if concrete and full.endswith(concrete):
        return full[: len(full) - len(concrete)] + path
    return path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RequestObserver:
    """Pure ASGI middleware (no body buffering: streamed responses stay streamed)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(_header(scope, REQUEST_ID_HEADER.encode()))
        scope.setdefault("state", {})["request_id"] = request_id
        # What an app's replica receives: the id we log, not an unsafe one the caller sent.
        scope["headers"] = [
            *(item for item in scope["headers"] if item[0] != REQUEST_ID_HEADER.encode()),
            (REQUEST_ID_HEADER.encode(), request_id.encode()),
        ]
        started = time.perf_counter()
        status = 500  # what the caller gets when the app raises before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = MutableHeaders(scope=message)
                if REQUEST_ID_HEADER not in headers:
                    headers.append(REQUEST_ID_HEADER, request_id)
            await send(message)

        token = REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._log(scope, status, seconds, request_id)
            if scope.get(APP_ROUTE_SCOPE_KEY) is None:  # app routes have their own families
                template = route_template(scope)
                self.metrics.observe_api_request(template, scope["method"], status, seconds)
            REQUEST_ID.reset(token)

    def _log(self, scope: Scope, status: int, seconds: float, request_id: str) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        path = redact_hook_secret(scope["path"])
        query = scope.get("query_string", b"")
        target = path + ("?" + query.decode("latin-1") if query else "")
        client = scope.get("client")
        address = f"{client[0]}:{client[1]}" if client else "-"
        access_log.info(
            '%s "%s %s HTTP/%s" %d %.1fms request_id=%s',
            address,
            scope["method"],
            target,
            scope.get("http_version", "1.1"),
            status,
            seconds * 1000,
            request_id,
            extra={
                "client": address,
                "method": scope["method"],
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
            },
        )
