"""WebSockets through app routes: the client's side is the ASGI server's (uvicorn), the
replica's side a ``websockets`` client; messages are relayed both ways as they arrive.

Each side keeps its own WebSocket protocol (framing, masking, pings, compression), so what the
proxy relays is messages, never raw bytes: a replica cannot smuggle frames past the limits, and
the close code each side sends is relayed to the other as a close code.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Close
from websockets.uri import parse_uri

from wharf.runtime.forwarding import forwarded_headers, request_target
from wharf.runtime.routes import RouteMatch
from wharf.runtime.specs import Endpoint

# Set by the websockets client itself, or meaningful for one hop only.
_HANDSHAKE_HEADERS = frozenset(
    {
        b"host",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"sec-websocket-accept",
    }
)
_RESPONSE_DROP = _HANDSHAKE_HEADERS | {
    b"connection",
    b"upgrade",
    b"date",
    b"server",
    b"content-length",
    b"transfer-encoding",
}
GOING_AWAY = 1001
TOO_BIG = 1009
INTERNAL_ERROR = 1011


@dataclass(frozen=True)
class WebSocketLimits:
    max_message: int
    """Largest message relayed either way; a bigger one closes both sides with 1009."""
    idle_timeout: float
    """Seconds without a message either way before both sides are closed with 1001."""
    open_timeout: float = 10.0


class ReplicaRefused(Exception):
    """The replica could not be connected to: nothing was sent, another may be tried."""


async def open_upstream(
    scope: Scope, match: RouteMatch, prefix_style: str, endpoint: Endpoint, limits: WebSocketLimits
) -> ClientConnection:
    """The replica's side of the socket, handshake done; ``InvalidStatus`` when the replica
    answered the upgrade with an HTTP response instead."""
    target = request_target(scope, match, prefix_style).decode("latin-1")
    host = _client_host(scope) or f"{endpoint.host}:{endpoint.port}"
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in forwarded_headers(scope, match, prefix_style)
        if name not in _HANDSHAKE_HEADERS
    ]
    subprotocols: list[str] = list(scope.get("subprotocols") or [])
    options: dict[str, Any] = {
        "additional_headers": headers,
        "subprotocols": subprotocols or None,
        "max_size": limits.max_message,
        "open_timeout": limits.open_timeout,
        "ping_interval": None,  # the idle timeout is ours; a replica's pings are answered
        "compression": None,  # loopback: compressing costs CPU and saves nothing
        "user_agent_header": None,
        "proxy": None,
        "host": endpoint.host,  # where to connect; the URI only names the Host header
        "port": endpoint.port,
    }
    uri = f"ws://{host}{target}"
    try:
        parse_uri(uri)
    except InvalidURI:  # an odd Host header: name the replica instead
        uri = f"ws://{endpoint.host}:{endpoint.port}{target}"
    try:
        return await connect(uri, **options)
    except OSError as exc:  # refused, or reset during the handshake (a GET: safe elsewhere)
        raise ReplicaRefused(str(exc)) from None


def _client_host(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            return str(value.decode("latin-1"))
    return ""


def accept_message(upstream: ClientConnection) -> dict[str, Any]:
    """The client's ``websocket.accept``: the subprotocol the replica chose, its headers."""
    response = upstream.response
    headers = []
    if response is not None:
        headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1"))
            for name, value in response.headers.raw_items()
            if name.lower().encode("latin-1") not in _RESPONSE_DROP
        ]
    return {"type": "websocket.accept", "subprotocol": upstream.subprotocol, "headers": headers}


async def relay_refusal(scope: Scope, send: Send, refused: InvalidStatus) -> None:
    """The replica answered the upgrade with a plain HTTP response: the client gets it too,
    when the server can send one (the ASGI ``websocket.http.response`` extension)."""
    response = refused.response
    if "websocket.http.response" not in (scope.get("extensions") or {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in response.headers.raw_items()
        if name.lower().encode("latin-1") not in _RESPONSE_DROP
    ]
    body = bytes(response.body or b"")
    headers.append((b"content-length", str(len(body)).encode()))
    await send(
        {
            "type": "websocket.http.response.start",
            "status": response.status_code,
            "headers": headers,
        }
    )
    await send({"type": "websocket.http.response.body", "body": body, "more_body": False})


async def relay_messages(
    upstream: ClientConnection, receive: Receive, send: Send, limits: WebSocketLimits
) -> None:
    """Relay messages both ways until either side closes (its code relayed to the other) or
    nothing moves for ``idle_timeout``."""
    activity = _Activity()
    tasks = [
        asyncio.ensure_future(_client_to_replica(upstream, receive, send, limits, activity)),
        asyncio.ensure_future(_replica_to_client(upstream, send, activity)),
        asyncio.ensure_future(activity.expire(limits.idle_timeout)),
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if tasks[2] in done:  # idle: both sides go
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": GOING_AWAY, "reason": "idle"})
        await _close_quietly(upstream, GOING_AWAY, "idle")
    await _close_quietly(upstream, GOING_AWAY, "")  # no-op when already closed
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


class _Activity:
    def __init__(self) -> None:
        self.last = time.monotonic()

    def touch(self) -> None:
        self.last = time.monotonic()

    async def expire(self, timeout: float) -> None:
        while (left := self.last + timeout - time.monotonic()) > 0:
            await asyncio.sleep(left)


async def _client_to_replica(
    upstream: ClientConnection,
    receive: Receive,
    send: Send,
    limits: WebSocketLimits,
    activity: _Activity,
) -> None:
    while True:
        message = await receive()
        kind = message["type"]
        if kind == "websocket.disconnect":
            code = _sendable(message.get("code", 1005), client_gone=True)
            await _close_quietly(upstream, code, message.get("reason") or "")
            return
        if kind != "websocket.receive":
            continue
        activity.touch()
        data: str | bytes | None = message.get("text")
        if data is None:
            data = message.get("bytes") or b""
        if len(data) > limits.max_message:  # characters <= bytes: a cheap first check
            size = len(data.encode()) if isinstance(data, str) else len(data)
            if size > limits.max_message:
                reason = f"message over {limits.max_message} bytes"
                await send({"type": "websocket.close", "code": TOO_BIG, "reason": reason})
                await _close_quietly(upstream, TOO_BIG, reason)
                return
        try:
            await upstream.send(data)
        except ConnectionClosed:
            return  # the other direction relays how the replica closed


async def _replica_to_client(upstream: ClientConnection, send: Send, activity: _Activity) -> None:
    try:
        async for data in upstream:
            activity.touch()
            if isinstance(data, str):
                await send({"type": "websocket.send", "text": data})
            else:
                await send({"type": "websocket.send", "bytes": data})
    except ConnectionClosed:
        pass
    closed: Close | None = upstream.protocol.close_rcvd or upstream.protocol.close_sent
    code = _sendable(closed.code if closed is not None else 1006, client_gone=False)
    reason = closed.reason if closed is not None else ""
    with contextlib.suppress(Exception):  # the client may be gone already
        await send({"type": "websocket.close", "code": code, "reason": reason})


def _sendable(code: int, *, client_gone: bool) -> int:
    """A close code that may go in a close frame: 1005 (none given) becomes 1000; 1006 (the
    connection dropped) 1001 when the client went away, 1011 when the replica did."""
    if code == 1005:
        return 1000
    if code == 1006 or code == 1015:
        return GOING_AWAY if client_gone else INTERNAL_ERROR
    return code


async def _close_quietly(upstream: ClientConnection, code: int, reason: str) -> None:
    with contextlib.suppress(ConnectionClosed, InvalidHandshake, OSError, ValueError):
        await upstream.close(code, reason)
