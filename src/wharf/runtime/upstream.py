"""A small HTTP/1.1 client for talking to replicas: pooled keep-alive connections, streaming.

Replicas are on loopback and speak plain HTTP/1.1, so this does only that, as an asyncio
``Protocol`` with one buffer per connection: a typical small response arrives in one read and
is parsed and handed over without another trip through the event loop. A general client (httpx)
or asyncio streams cost measurably more CPU per request, and the proxy's overhead is the point
(``bench/bench_route.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

from wharf.runtime.specs import Endpoint

MAX_HEAD_BYTES = 64 * 1024
_HIGH_WATER = 256 * 1024  # stop reading from a replica whose client is slower than it


class UpstreamError(Exception):
    """The replica could not be reached, or broke the exchange."""


class ConnectFailed(UpstreamError):
    """No connection: nothing was sent, so any request may go to another replica."""


class NoResponse(UpstreamError):
    """The request may have been sent, but not one byte of a response came back."""


@dataclass(frozen=True)
class ResponseHead:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    """Names lower-cased, in the order received."""
    length: int | None
    """Body size (0 when there is none); None for chunked or read-until-close bodies."""
    chunked: bool
    keep_alive: bool


class Connection(asyncio.Protocol):
    """One keep-alive connection to a replica: bytes in a buffer, one waiter at a time."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.reused = False
        self.idle_since = 0.0
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._eof = False
        self._closed = False
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._can_write: asyncio.Future[None] | None = None
        self._reading_paused = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = self._closed = True
        self._error = exc
        self._wake()
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)

    def pause_writing(self) -> None:
        self._can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        self._can_write = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- use -------------------------------------------------------------------------------

    async def _more(self) -> None:
        """Wait for more bytes (or the end); raises when the connection already ended."""
        if self._eof:
            raise _Ended
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def is_fresh(self, now: float, max_idle: float) -> bool:
        """Still open, not closed by the replica while pooled, not idle for too long."""
        return now - self.idle_since < max_idle and not self._eof and not self._buffer

    def write(self, data: bytes) -> None:
        if self.transport is None or self._closed:
            raise NoResponse("the connection to the replica is closed")
        self.transport.write(data)

    async def drain(self) -> None:
        if self._closed:
            raise NoResponse("the connection to the replica is closed")
        if self._can_write is not None:
            await self._can_write

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def read_head(self, *, head_request: bool) -> ResponseHead:
        """The next final response's head (1xx interim responses are skipped)."""
        received_any = False
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                raw = bytes(self._buffer[: end + 4])
                del self._buffer[: end + 4]
                head = parse_response_head(raw, head_request=head_request)
                if head.status >= 200 or head.status == 101:
                    return head
                received_any = True
                continue
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise UpstreamError("the replica sent a response head over 64 KiB")
            try:
                await self._more()
            except _Ended:
                if self._buffer or received_any:
                    raise UpstreamError("the replica closed the connection mid-response") from None
                why = f": {self._error}" if self._error else ""
                raise NoResponse(
                    f"the replica closed the connection without answering{why}"
                ) from None

    def _take(self, limit: int) -> bytes:
        piece = bytes(self._buffer[:limit]) if limit < len(self._buffer) else bytes(self._buffer)
        del self._buffer[: len(piece)]
        return piece

    async def _read_line(self) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise UpstreamError("the replica sent an over-long chunk line")
            await self._more()
        return self._take(end + 2)

    async def iter_body(self, head: ResponseHead) -> AsyncIterator[bytes]:
        """The body as it arrives, de-chunked; at most what one read brought is held."""
        try:
            if head.chunked:
                while True:
                    size = int((await self._read_line()).split(b";", 1)[0].strip(), 16)
                    if size == 0:
                        while await self._read_line() != b"\r\n":
                            pass  # trailers: dropped, as most proxies do
                        return
                    while size > 0:
                        if not self._buffer:
                            await self._more()
                        piece = self._take(size)
                        size -= len(piece)
                        yield piece
                    while len(self._buffer) < 2:
                        await self._more()
                    del self._buffer[:2]
            elif head.length is not None:
                remaining = head.length
                while remaining > 0:
                    if not self._buffer:
                        await self._more()
                    piece = self._take(remaining)
                    remaining -= len(piece)
                    yield piece
            else:
                while True:
                    if self._buffer:
                        yield self._take(len(self._buffer))
                    try:
                        await self._more()
                    except _Ended:
                        return
        except _Ended:
            raise UpstreamError("the replica closed the connection mid-body") from None
        except ValueError as exc:
            raise UpstreamError(f"the replica sent a malformed chunked body: {exc}") from None


class _Ended(Exception):
    """The replica closed the connection."""


def parse_response_head(raw: bytes, *, head_request: bool) -> ResponseHead:
    """Parse ``HTTP/1.x NNN reason`` and header lines, and work out the body's framing."""
    lines = raw[:-4].split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or not code.isdigit() or len(code) != 3:
        raise UpstreamError(f"the replica sent a malformed status line: {lines[0][:80]!r}")
    status = int(code)
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    chunked = False
    connection = b""
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name[-1:] in (b" ", b"\t") or line[:1] in (b" ", b"\t"):
            raise UpstreamError(f"the replica sent a malformed header line: {line[:80]!r}")
        name = name.lower()
        value = value.strip()
        if name == b"content-length":
            if not value.isdigit() or (length is not None and length != int(value)):
                raise UpstreamError("the replica sent a bad Content-Length")
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = value.lower().endswith(b"chunked")
        elif name == b"connection":
            connection = value.lower()
        headers.append((name, value))
    if chunked:
        length = None
    if version == b"HTTP/1.1":
        keep_alive = b"close" not in connection
    else:
        keep_alive = b"keep-alive" in connection
    if head_request or status in (204, 304) or 100 <= status < 200:
        length, chunked = 0, False
    elif length is None and not chunked:
        keep_alive = False  # the body ends when the connection does
    return ResponseHead(status, reason, headers, length, chunked, keep_alive)


class ConnectionPool:
    """Idle keep-alive connections per replica endpoint, for one event loop."""

    def __init__(
        self,
        *,
        connect_timeout: float = 5.0,
        max_idle: float = 1.0,
        max_idle_per_endpoint: int = 64,
    ) -> None:
        # ``max_idle`` stays under the keep-alive timeouts of common replica servers (gunicorn:
        # 2 s), so a pooled connection is rarely one the replica is about to close.
        self._connect_timeout = connect_timeout
        self._max_idle = max_idle
        self._max_per_endpoint = max_idle_per_endpoint
        self._idle: dict[Endpoint, list[Connection]] = {}
        self._next_sweep = 0.0
        self._closed = False

    async def acquire(self, endpoint: Endpoint) -> Connection:
        """A pooled connection when a fresh one is idle, else a new one (``ConnectFailed``)."""
        idle = self._idle.get(endpoint)
        if idle:
            now = time.monotonic()
            while idle:
                connection = idle.pop()
                if connection.is_fresh(now, self._max_idle):
                    connection.reused = True
                    return connection
                connection.close()
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(endpoint), endpoint.host, endpoint.port
                )
        except (OSError, TimeoutError) as exc:
            where = f"{endpoint.host}:{endpoint.port}"
            raise ConnectFailed(f"cannot connect to {where}: {exc}") from None
        return connection

    def release(self, connection: Connection, *, reusable: bool) -> None:
        """Return a connection after a complete exchange, or close it."""
        now = time.monotonic()
        idle = self._idle.setdefault(connection.endpoint, [])
        if not reusable or self._closed or len(idle) >= self._max_per_endpoint:
            connection.close()
        else:
            connection.idle_since = now
            idle.append(connection)
        if now >= self._next_sweep:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        """Close connections that went stale, and forget replicas that are gone."""
        self._next_sweep = now + self._max_idle
        for endpoint, idle in list(self._idle.items()):
            keep = [c for c in idle if c.is_fresh(now, self._max_idle)]
            for connection in idle:
                if connection not in keep:
                    connection.close()
            if keep:
                idle[:] = keep
            else:
                del self._idle[endpoint]

    async def aclose(self) -> None:
        self._closed = True
        connections = [c for idle in self._idle.values() for c in idle]
        self._idle.clear()
        for connection in connections:
            connection.close()
        await asyncio.sleep(0)  # let the transports finish closing
