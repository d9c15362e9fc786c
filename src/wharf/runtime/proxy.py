"""The route proxy: ASGI middleware that sends app traffic to ready replicas, streaming.

Mounted around the whole server app, because host-based routes (``{app}-{ws}.{apps_domain}``)
claim every path on their host; requests that are not for an app go on to the wrapped app.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.exceptions import InvalidHandshake, InvalidStatus

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
from wharf.runtime.route_problems import explain_unavailable, refuse_insecure, render_problem
from wharf.runtime.routes import Admission, RouteMatch
from wharf.runtime.specs import Endpoint
from wharf.runtime.upstream import (
    ConnectFailed,
    Connection,
    ConnectionPool,
    NoResponse,
    NotSent,
    ResponseHead,
    UpstreamError,
)
from wharf.runtime.websocket_relay import (
    ReplicaRefused,
    WebSocketLimits,
    accept_message,
    open_upstream,
    relay_messages,
    relay_refusal,
)

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class RouteProxy:
    """ASGI middleware: app routes go to replicas round-robin; the rest to ``app``.

    Best mounted outermost, ``RouteProxy(fastapi_app, registry=registry)``, so FastAPI's own
    wrappers never run for app traffic; ``add_middleware(RouteProxy, registry=...)`` works too.
    Pooled replica connections are closed at lifespan shutdown, and a replica's the moment
    its process ends."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        registry: AppRegistry,
        connect_timeout: float = 5.0,
        response_timeout: float = 300.0,
        replay_limit: int = 1024 * 1024,
        metrics: RouteMetrics | None = None,
        websocket_max_message: int = 16 * 1024 * 1024,
        websocket_idle_timeout: float = 300.0,
        https_port: int | None = None,
    ) -> None:
        self.app = app
        self._https_port = https_port  # where plain http to a TLS route is redirected
        self.registry = registry
        self.metrics = metrics
        self._connect_timeout = connect_timeout
        self._response_timeout = response_timeout
        self._replay_limit = replay_limit
        self._websocket_limits = WebSocketLimits(
            max_message=websocket_max_message,
            idle_timeout=websocket_idle_timeout,
            open_timeout=connect_timeout,
        )
        self._pool: ConnectionPool | None = None
        self._pool_loop: asyncio.AbstractEventLoop | None = None
        registry.on_endpoint_gone(self._endpoint_gone)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" or kind == "websocket":
            match = self.registry.resolve(_header(scope, b"host"), scope["path"])
            if match is not None and match.gate is not None and match.target is not None:
                admission = await match.gate.admit(scope)
                if not admission.admitted:
                    await _send_refusal(scope, send, admission)
                    return
                scope = {**scope, "headers": admission.headers}
            if match is not None:
                if kind == "http":
                    with observe_route(self.metrics, match, scope, send) as observed_send:
                        await self._serve(match, scope, receive, observed_send)
                else:
                    await self._serve_websocket(match, scope, receive, send)
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

    def _endpoint_gone(self, endpoint: Endpoint) -> None:
        """Called from a replica's supervising thread when its process has ended: its pooled
        connections are dead, and a request must never be written to one of them."""
        pool, loop = self._pool, self._pool_loop
        if pool is not None and loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(pool.discard, endpoint)

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
        # A TLS route's answer to plain http.
        refusal = refuse_insecure(match, scope, self._https_port)
        if refusal is not None:
            await send(refusal[0])
            await send(refusal[1])
            return
        replica_set = match.target.lease()
        if replica_set is None:
            await _send_no_replica(send, self.registry, match)
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
        for _attempt in (1, 2, 3):
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
            except NotSent as exc:
                connection.close()
                error = exc
                if body is None or body.replayable:  # not one byte went out: any method
                    avoid = endpoint
                    continue
                break
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
                await _send_problem(send, 504, "replica-timeout", detail, app=match.name)
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
            await _send_no_replica(send, self.registry, match)
        else:
            detail = f"app {match.name}: {error}"
            await _send_problem(send, 502, "replica-failed", detail, app=match.name)

    async def _serve_websocket(
        self, match: RouteMatch, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if match.target is None:
            detail = f"no app is routed at {match.name}"
            await _deny_websocket(scope, send, 404, "no-such-route", detail)
            return
        replica_set = match.target.lease()
        if replica_set is None:
            detail = f"app {match.name} has no ready replica"
            await _deny_websocket(scope, send, 503, "no-ready-replica", detail)
            return
        try:
            if (await receive())["type"] != "websocket.connect":
                return
            await self._relay_websocket(replica_set, match, scope, receive, send)
        finally:
            replica_set.end_request()

    async def _relay_websocket(
        self, replica_set: ReplicaSet, match: RouteMatch, scope: Scope, receive: Receive, send: Send
    ) -> None:
        limits = self._websocket_limits
        style = replica_set.spec.prefix_style
        avoid: Endpoint | None = None
        error: Exception | None = None
        for _attempt in (1, 2, 3):
            endpoint = replica_set.pick_endpoint(avoid=avoid)
            if endpoint is None:
                break
            try:
                upstream = await open_upstream(scope, match, style, endpoint, limits)
            except ReplicaRefused as exc:  # nothing was sent: another replica may take it
                avoid, error = endpoint, exc
                continue
            except InvalidStatus as refused:  # the app said no (404, 403...): so do we
                await relay_refusal(scope, send, refused)
                return
            except (InvalidHandshake, TimeoutError, OSError) as exc:
                error = exc
                break
            await send(accept_message(upstream))
            await relay_messages(upstream, receive, send, limits)
            return
        if error is None:
            detail = f"app {match.name} has no ready replica"
            await _deny_websocket(scope, send, 503, "no-ready-replica", detail)
        else:
            detail = f"app {match.name}: {error}"
            await _deny_websocket(scope, send, 502, "replica-failed", detail)

    async def _read_head(self, connection: Connection, method: str) -> ResponseHead:
        async with asyncio.timeout(self._response_timeout):
            return await connection.read_head(head_request=method == "HEAD")


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def _send_no_replica(send: Send, registry: AppRegistry, match: RouteMatch) -> None:
    assert match.target is not None
    await _send_problem(
        send,
        503,
        "no-ready-replica",
        explain_unavailable(registry, match.target.key),
        extra_headers=[(b"retry-after", b"1")],
        app=match.name,
    )


async def _send_refusal(scope: Scope, send: Send, admission: Admission) -> None:
    """A gate's own answer (401, 403, a redirect that sets a cookie), HTTP or WebSocket."""
    note_proxy_answer(admission.status)
    prefix = "http."
    if scope["type"] == "websocket":
        if "websocket.http.response" not in (scope.get("extensions") or {}):
            await send({"type": "websocket.close", "code": 1008})
            return
        prefix = "websocket.http."
    start = {"status": admission.status, "headers": admission.answer_headers}
    await send({"type": prefix + "response.start", **start})
    await send({"type": prefix + "response.body", "body": admission.body, "more_body": False})


async def _deny_websocket(scope: Scope, send: Send, status: int, code: str, detail: str) -> None:
    """Refuse a WebSocket handshake with a problem response when the server can send one
    (the ASGI ``websocket.http.response`` extension), else with a plain refusal (403)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await _send_problem(send, status, code, detail, prefix="websocket.http.")
    else:
        await send({"type": "websocket.close", "code": 1008})


async def _send_problem(
    send: Send,
    status: int,
    code: str,
    detail: str,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
    app: str | None = None,
    prefix: str = "http.",
) -> None:
    note_proxy_answer(status)
    body, headers = render_problem(status, code, detail, app=app, request_id=REQUEST_ID.get())
    headers += extra_headers or []
    await send({"type": prefix + "response.start", "status": status, "headers": headers})
    await send({"type": prefix + "response.body", "body": body, "more_body": False})
