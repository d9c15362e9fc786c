"""The route proxy: ASGI middleware that sends app traffic to ready replicas, streaming.

Mounted around the whole server app, because host-based routes (``{app}-{ws}.{apps_domain}``)
claim every path on their host; requests that are not for an app go on to the wrapped app.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wharf.logconfig import REQUEST_ID
from wharf.runtime.forwarding import (
    ClientGone,
    RequestBody,
    build_request_head,
    read_body_mode,
    relay_response,
    send_request,
)
from wharf.runtime.registry import AppRegistry
from wharf.runtime.replicas import ReplicaSet
from wharf.runtime.route_metrics import RouteMetrics, note_proxy_answer, observe_route
from wharf.runtime.routes import RouteMatch
from wharf.runtime.specs import Endpoint
from wharf.runtime.upstream import (
    ConnectFailed,
    Connection,
    ConnectionPool,
    NoResponse,
    ResponseHead,
    UpstreamError,
)

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class RouteProxy:
    """ASGI middleware: app routes go to replicas round-robin; the rest to ``app``.

    Best mounted outermost, ``RouteProxy(fastapi_app, registry=registry)``, so FastAPI's own
    wrappers never run for app traffic; ``add_middleware(RouteProxy, registry=...)`` works too.
    Pooled replica connections are closed at lifespan shutdown."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: AppRegistry,
        connect_timeout: float = 5.0,
        response_timeout: float = 300.0,
        replay_limit: int = 1024 * 1024,
        metrics: RouteMetrics | None = None,
    ) -> None:
        self.app = app
        self.registry = registry
        self.metrics = metrics
        self._connect_timeout = connect_timeout
        self._response_timeout = response_timeout
        self._replay_limit = replay_limit
        self._pool: ConnectionPool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" or kind == "websocket":
            match = self.registry.resolve(_header(scope, b"host"), scope["path"])
            if match is not None:
                if kind == "http":
                    with observe_route(self.metrics, match, scope, send) as observed_send:
                        await self._serve(match, scope, receive, observed_send)
                else:  # not proxied yet: refuse the handshake rather than hand it to the API
                    await send({"type": "websocket.close", "code": 1008})
                return
        elif kind == "lifespan":
            receive = self._closing_on_shutdown(receive)
        await self.app(scope, receive, send)

    def _closing_on_shutdown(self, receive: Receive) -> Receive:
        async def receive_and_close() -> Message:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.aclose()
            return message

        return receive_and_close

    async def aclose(self) -> None:
        """Close pooled connections (done by itself at lifespan shutdown)."""
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None

    def _current_pool(self) -> ConnectionPool:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool_loop is not loop:
            self._pool = ConnectionPool(connect_timeout=self._connect_timeout)
            self._pool_loop = loop
        return self._pool

    async def _serve(self, match: RouteMatch, scope: Scope, receive: Receive, send: Send) -> None:
        if match.target is None:
            await _send_problem(send, 404, "no-such-route", f"no app is routed at {match.name}")
            return
        replica_set = match.target.lease()
        if replica_set is None:
            await _send_no_replica(send, match.name)
            return
        try:
            await self._forward(replica_set, match, scope, receive, send)
        finally:
            replica_set.end_request()

    async def _forward(
        self, replica_set: ReplicaSet, match: RouteMatch, scope: Scope, receive: Receive, send: Send
    ) -> None:
        method: str = scope["method"]
        body_mode = read_body_mode(scope)
        head = build_request_head(scope, match, replica_set.spec.prefix_style, body_mode)
        body = RequestBody(receive, self._replay_limit) if body_mode else None
        pool = self._current_pool()
        avoid: Endpoint | None = None
        error: UpstreamError | OSError | None = None
        for _attempt in (1, 2):
            endpoint = replica_set.pick_endpoint(avoid=avoid)
            if endpoint is None:
                break
            try:
                connection = await pool.acquire(endpoint)
            except ConnectFailed as exc:
                avoid, error = endpoint, exc  # nothing was sent: any request may go elsewhere
                continue
            try:
                await send_request(connection, head, body, body_mode)
                response = await self._read_head(connection, method)
            except ClientGone:
                connection.close()
                return
            except (NoResponse, OSError) as exc:
                connection.close()
                # Sent, maybe processed, then nothing came back: a replica killed mid-request,
                # or a pooled connection it had just closed. Safe to repeat when idempotent.
                error = exc
                if method in _IDEMPOTENT and (body is None or body.replayable):
                    avoid = endpoint
                    continue
                break
            except TimeoutError:
                connection.close()
                detail = f"app {match.name} did not answer within {self._response_timeout:.0f} s"
                await _send_problem(send, 504, "replica-timeout", detail)
                return
            except UpstreamError as exc:
                connection.close()
                error = exc
                break
            except BaseException:  # cancelled (server shutting down) or a bug: never leak it
                connection.close()
                raise
            try:
                reusable = await relay_response(connection, response, receive, send)
            except BaseException:
                connection.close()
                raise
            pool.release(connection, reusable=reusable)
            return
        if error is None:
            await _send_no_replica(send, match.name)
        else:
            await _send_problem(send, 502, "replica-failed", f"app {match.name}: {error}")

    async def _read_head(self, connection: Connection, method: str) -> ResponseHead:
        async with asyncio.timeout(self._response_timeout):
            return await connection.read_head(head_request=method == "HEAD")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _send_no_replica(send: Send, name: str) -> None:
    await _send_problem(
        send,
        503,
        "no-ready-replica",
        f"app {name} has no ready replica",
        extra_headers=[(b"retry-after", b"1")],
    )


_TITLES = {
    404: "Not found",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


async def _send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    note_proxy_answer(status)
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": _TITLES[status],
        "status": status,
        "detail": detail,
        "code": code,
    }
    if (request_id := REQUEST_ID.get()) is not None:
        problem["request_id"] = request_id
    body = json.dumps(problem).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
