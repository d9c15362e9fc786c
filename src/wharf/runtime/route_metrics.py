"""Counting app-route requests for ``/metrics``, at one seam of the route proxy.

The proxy wraps each request for an app in :func:`observe_route` and, when it answers for a
replica that could not (502, 503, 504), calls :func:`note_proxy_answer`. Everything else —
status, latency, in-flight — is seen from the outside, so the proxy's forwarding code knows
nothing of metrics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol

from starlette.types import Message, Scope, Send

from wharf.runtime.routes import RouteMatch

CLIENT_GONE = 499
"""The code counted for a request that ended before any response started (as nginx does)."""

APP_ROUTE_SCOPE_KEY = "wharf.app_route"

_UPSTREAM_ERRORS = {502: "bad-gateway", 503: "no-ready-replica", 504: "timeout"}


class RouteMetrics(Protocol):
    """What the proxy reports to (``wharf.metrics.Metrics`` is one)."""

    def route_request_started(self, workspace: str, app: str) -> None: ...

    def route_request_finished(
        self, workspace: str, app: str, code: int, seconds: float, upstream_error: str | None
    ) -> None: ...


class _Observed:
    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.upstream_error: str | None = None

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


_CURRENT: ContextVar[_Observed | None] = ContextVar("wharf_route_request", default=None)


@contextmanager
def observe_route(
    metrics: RouteMetrics | None, match: RouteMatch, scope: Scope, send: Send
) -> Iterator[Send]:
    """Count one request for an app; yields the ``send`` to answer it with."""
    scope[APP_ROUTE_SCOPE_KEY] = match.name  # the API's own families leave it out
    if metrics is None or match.target is None:  # unknown routes: no per-app series for guesses
        yield send
        return
    key = match.target.key
    observed = _Observed(send)
    token = _CURRENT.set(observed)
    metrics.route_request_started(key.workspace, key.app)
    started = time.perf_counter()
    try:
        yield observed.send
    finally:
        _CURRENT.reset(token)
        metrics.route_request_finished(
            key.workspace,
            key.app,
            observed.status or CLIENT_GONE,
            time.perf_counter() - started,
            observed.upstream_error,
        )


def note_proxy_answer(status: int) -> None:
    """The proxy answered ``status`` itself: a 502/503/504 counts as an upstream error."""
    observed = _CURRENT.get()
    if observed is not None and status in _UPSTREAM_ERRORS:
        observed.upstream_error = _UPSTREAM_ERRORS[status]
