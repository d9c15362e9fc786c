"""What the proxy sends to a replica, and how the replica's answer is relayed to the client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.types import Receive, Scope, Send

from wharf.runtime.routes import RouteMatch
from wharf.runtime.upstream import Connection, ResponseHead, UpstreamError

_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Set by the proxy alone: a client must not be able to choose the app's SCRIPT_NAME, which
# gunicorn trusts from loopback, or the framing of what the replica receives.
_REQUEST_DROP = _HOP_BY_HOP | {
    b"content-length",
    b"expect",
    b"script_name",
    b"script-name",
    b"x-forwarded-prefix",
    b"x-forwarded-host",
    b"x-forwarded-proto",
}
# The ASGI server adds its own Date and Server; two of each would be invalid.
_RESPONSE_DROP = _HOP_BY_HOP | {b"date", b"server"}
_WATCH_DISCONNECT_OVER = 256 * 1024
_SCHEMES = {"http": b"http", "https": b"https", "ws": b"http", "wss": b"https"}


class ClientGone(Exception):
    """The client disconnected before its request body was complete."""


class RequestBody:
    """The client's body, streamed; kept for a retry while it stays under ``replay_limit``."""

    def __init__(self, receive: Receive, replay_limit: int) -> None:
        self._receive = receive
        self._limit = replay_limit
        self._kept: list[bytes] = []
        self._kept_size = 0
        self._complete = False
        self.replayable = True

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        for chunk in self._kept:
            yield chunk
        while not self._complete:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            chunk = message.get("body", b"")
            self._complete = not message.get("more_body", False)
            if self.replayable:
                self._kept_size += len(chunk)
                if self._kept_size > self._limit:
                    self.replayable, self._kept = False, []
                elif chunk:
                    self._kept.append(chunk)
            if chunk:
                yield chunk


def read_body_mode(scope: Scope) -> bytes | None:
    """``b"length"`` or ``b"chunked"`` when the request has a body, else None."""
    mode = None
    for key, value in scope["headers"]:
        if key == b"transfer-encoding":  # wins over Content-Length, as in RFC 9112
            return b"chunked"
        if key == b"content-length" and value.strip() not in (b"", b"0"):
            mode = b"length"
    return mode


def request_target(scope: Scope, match: RouteMatch, prefix_style: str) -> bytes:
    """The path and query the replica sees (the prefix removed for ``strip`` revisions)."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    prefix = match.prefix.encode()
    if prefix and prefix_style == "strip":
        raw_path = raw_path[len(prefix) :] or b"/"
    query = scope.get("query_string")
    return raw_path + b"?" + query if query else raw_path


def forwarded_headers(
    scope: Scope, match: RouteMatch, prefix_style: str
) -> list[tuple[bytes, bytes]]:
    """The client's end-to-end headers, the ``X-Forwarded-*`` set and the prefix for path
    routes; no framing (``Content-Length``, ``Transfer-Encoding``): the sender adds its own."""
    headers: list[tuple[bytes, bytes]] = []
    forwarded_for: list[bytes] = []
    host = connection = b""
    for name, value in scope["headers"]:
        if name in _REQUEST_DROP:
            if name == b"connection":
                connection = value
        elif name == b"x-forwarded-for":
            forwarded_for.append(value)
        else:
            if name == b"host":
                host = value
            headers.append((name, value))
    if connection:  # headers the client named in Connection are for us alone
        named = {token.strip().lower() for token in connection.split(b",")}
        headers = [(name, value) for name, value in headers if name not in named]
    if not host:
        headers.append((b"host", b"localhost"))
    client = scope.get("client")
    peer = (client[0] if client else "").encode()
    chain = b", ".join(forwarded_for)
    # Behind a trusted proxy, uvicorn has already made the client the last X-Forwarded-For
    # entry: appending it again would name it twice.
    if not chain:
        chain = peer
    elif chain.rsplit(b",", 1)[-1].strip() != peer:
        chain += b", " + peer
    headers.append((b"x-forwarded-for", chain))
    scheme = _SCHEMES.get(scope.get("scheme", "http"), b"http")
    headers.append((b"x-forwarded-proto", scheme))
    if host:
        headers.append((b"x-forwarded-host", host))
    prefix = match.prefix.encode()
    if prefix:
        headers.append((b"x-forwarded-prefix", prefix))
        if prefix_style == "script-name":
            headers.append((b"SCRIPT_NAME", prefix))
    return headers


def build_request_head(
    scope: Scope, match: RouteMatch, prefix_style: str, body_mode: bytes | None
) -> bytes:
    """The request line and headers for the replica: ``forwarded_headers`` and framing for
    the body we will send."""
    target = request_target(scope, match, prefix_style)
    lines = [b"%s %s HTTP/1.1" % (scope["method"].encode(), target)]
    lines.extend(
        name + b": " + value for name, value in forwarded_headers(scope, match, prefix_style)
    )
    if body_mode == b"length":
        for name, value in scope["headers"]:
            if name == b"content-length":
                lines.append(b"content-length: " + value.strip())
                break
    elif body_mode == b"chunked":
        lines.append(b"transfer-encoding: chunked")
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def send_request(
    connection: Connection, head: bytes, body: RequestBody | None, mode: bytes | None
) -> None:
    if body is None:
        connection.write(head)
        return
    pending = head
    async for chunk in body.iter_chunks():
        if mode == b"chunked":
            chunk = b"%x\r\n%s\r\n" % (len(chunk), chunk)
        connection.write(pending + chunk if pending else chunk)
        pending = b""
        await connection.drain()
    connection.write(pending + (b"0\r\n\r\n" if mode == b"chunked" else b""))


async def relay_response(
    connection: Connection, response: ResponseHead, receive: Receive, send: Send
) -> bool:
    """Stream the response to the client; True when the connection can be pooled again."""
    headers = [(k, v) for k, v in response.headers if k not in _RESPONSE_DROP]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if response.length == 0:
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return response.keep_alive
    long_or_open = response.length is None or response.length > _WATCH_DISCONNECT_OVER
    watcher = _DisconnectWatcher(receive) if long_or_open else None
    remaining = response.length
    try:
        async for piece in connection.iter_body(response):
            if watcher is not None and watcher.gone:
                connection.close()
                return False
            if remaining is not None:
                remaining -= len(piece)
                if remaining == 0:
                    await send({"type": "http.response.body", "body": piece, "more_body": False})
                    return response.keep_alive
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return response.keep_alive
    except UpstreamError:
        # Too late for an error page: leaving the response incomplete makes the server drop
        # the connection, so the client sees a truncated body, never a silently short one.
        connection.close()
        return False
    finally:
        if watcher is not None:
            watcher.stop()


class _DisconnectWatcher:
    """For long or open-ended bodies: notice when the client goes away. The server's ``send``
    becomes a no-op then, and the replica would otherwise stream on with nobody reading.
    Checked between pieces, so a replica that stalls forever is only let go when it sends."""

    def __init__(self, receive: Receive) -> None:
        self.gone = False
        self._watch = asyncio.ensure_future(self._run(receive))

    async def _run(self, receive: Receive) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.gone = True

    def stop(self) -> None:
        self._watch.cancel()
