"""A small HTTP/1.1 client for talking to replicas: pooled keep-alive connections, streaming.

Responses are parsed by llhttp (through ``httptools``, which uvicorn uses for the client side
too): the parser behind Node.js, generated from a state machine and fuzzed continuously, and
strict by default — conflicting or duplicate ``Content-Length``, ``Content-Length`` together
with ``Transfer-Encoding``, obs-fold, bare LF and bad chunk sizes are errors, never guesses.
A connection is pooled again only when its parser ended exactly at the end of one response, so
a replica that sends a malformed or over-long answer can never leave bytes that would be read
as the answer to the next request.

Each connection is an asyncio ``Protocol`` fed straight into its parser: a typical small
response arrives in one read and is parsed and handed over without another trip through the
event loop. A general client (httpx) or asyncio streams cost measurably more CPU per request,
and the proxy's overhead is the point (``bench/bench_route.py``).
"""

from __future__ import annotations

import asyncio
import errno
import select
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

import httptools

from wharf.runtime.specs import Endpoint

MAX_HEAD_BYTES = 64 * 1024
_HIGH_WATER = 256 * 1024  # stop reading from a replica whose client is slower than it


class UpstreamError(Exception):
    """The replica could not be reached, or broke the exchange."""


class ConnectFailed(UpstreamError):
    """No connection: nothing was sent, so any request may go to another replica."""


class NotSent(UpstreamError):
    """The replica never read the request: the connection was found closed before a byte of
    it was written, or was reset (RST) with no answer — what a replica's kernel does when
    the replica closes a socket that still holds unread bytes of ours (a pooled connection
    to a replica shutting down, or one queued to a listener that closed). A replica that
    read the whole request closes with a FIN instead. Any request may go elsewhere."""


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
    """One keep-alive connection to a replica: a parser fed as bytes arrive, one waiter."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.reused = False
        self.idle_since = 0.0
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self._eof = False
        self._closed = False
        self._lost: Exception | None = None
        self._reset_unread = False
        self._poll: select.poll | None = None
        self._failure: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._can_write: asyncio.Future[None] | None = None
        self._reading_paused = False
        # One exchange at a time:
        self._expecting = False
        self._sent_any = False
        self._received_any = False
        self._interim = False
        self._head_size = 0
        self._reason = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head: ResponseHead | None = None
        self._body: list[bytes] = []
        self._buffered = 0
        self._complete = False

    # -- asyncio.Protocol ------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but have its methods.
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # polled only while the transport is open, so the fd is ours
            self._poll = select.poll()
            self._poll.register(sock.fileno(), select.POLLIN)

    def data_received(self, data: bytes) -> None:
        if self._failure is not None:
            return
        if not self._expecting or self._complete:
            self._fail("the replica sent bytes nobody asked for")
            return
        self._received_any = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail("the replica switched protocols unasked")
        except httptools.HttpParserCallbackError as exc:  # raised by a callback below
            self._fail(str(exc.__context__ or exc))
        except httptools.HttpParserError as exc:
            self._fail(f"the replica sent a malformed response: {_parser_reason(exc)}")
        if self._buffered > _HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        if self._sent_any and not self._received_any and self._refused_our_bytes():
            self._reset_unread = True  # it closed first; our request arrived after: unread
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        unread = isinstance(exc, ConnectionResetError | BrokenPipeError) and not self._eof
        if unread and self._sent_any and not self._received_any:
            self._reset_unread = True
        self._eof = self._closed = True
        self._lost = exc
        self._wake()
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)

    def pause_writing(self) -> None:
        self._can_write = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._can_write is not None and not self._can_write.done():
            self._can_write.set_result(None)
        self._can_write = None

    # -- parser callbacks (httptools) --------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._head is not None:  # a second response to one request: the replica is lost
            raise UpstreamError("the replica sent more than one response")
        self._headers = []
        self._head_size = 0

    def on_status(self, reason: bytes) -> None:
        self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD_BYTES:
            raise UpstreamError("the replica sent a response head over 64 KiB")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        status = self._parser.get_status_code()
        if status < 200:  # 100 Continue, 103 Early Hints: skipped, as the client never asked
            self._interim = True
            self._reason = b""
            return
        length: int | None = None
        chunked = False
        for name, value in self._headers:
            if name == b"content-length":
                length = int(value)  # llhttp allows only digits, and only one of them
            elif name == b"transfer-encoding":
                chunked = value.rsplit(b",", 1)[-1].strip().lower() == b"chunked"
        if status in (204, 304):
            length = 0
        elif chunked:
            length = None
        keep_alive = bool(self._parser.should_keep_alive())
        self._head = ResponseHead(status, self._reason, self._headers, length, chunked, keep_alive)

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._buffered += len(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._complete = True

    # -- use -------------------------------------------------------------------------------

    def _fail(self, message: str) -> None:
        self._failure = UpstreamError(message)
        self.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _more(self) -> None:
        """Wait for more bytes (or the end); raises when the connection already ended."""
        if self._failure is not None:
            raise self._failure
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

    def begin(self) -> None:
        """Ready the connection for its next exchange (the pool does this on acquire)."""
        self._expecting = True
        self._sent_any = self._received_any = self._complete = False
        self._head = None
        self._reason = b""
        self._body = []
        self._buffered = 0

    def is_fresh(self, now: float, max_idle: float) -> bool:
        """Still open, its last exchange complete, not closed by the replica while pooled,
        not idle for too long."""
        return (
            now - self.idle_since < max_idle
            and self._complete
            and not self._eof
            and self._failure is None
        )

    def _refused_our_bytes(self) -> bool:
        """After the replica's FIN: whether its kernel then answered our request with a
        reset, which it does for bytes that arrive after the replica closed the socket."""
        sock = None if self.transport is None else self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:
            error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError:
            return False
        return error in (errno.ECONNRESET, errno.EPIPE)

    def peer_closed(self) -> bool:
        """Whether the replica closed this connection (FIN or RST) or sent on it in a way the
        event loop has not told us about yet: one zero-timeout poll, so a request is never
        written to a connection that is already dead. An idle connection has nothing to
        read; anything readable means it cannot carry a request."""
        if self.transport is None or self._closed or self.transport.is_closing():
            return True
        if self._poll is None:
            return False
        try:
            return bool(self._poll.poll(0))
        except OSError:
            return True

    def _closed_error(self) -> UpstreamError:
        if not self._sent_any:
            return NotSent("the pooled connection to the replica was already closed")
        if self._reset_unread:
            return NotSent("the replica reset the connection without reading the request")
        return NoResponse("the connection to the replica is closed")

    def write(self, data: bytes) -> None:
        if self.transport is None or self._closed or self.transport.is_closing():
            raise self._closed_error()
        if not self._sent_any and not self.reused and self.peer_closed():
            # A new connection the replica accepted and closed at once (it is shutting
            # down): the pool peeked at reused ones already.
            self.close()
            raise NotSent("the replica closed the new connection before the request")
        self._sent_any = True
        self.transport.write(data)

    async def drain(self) -> None:
        if self._closed:
            raise self._closed_error()
        if self._can_write is not None:
            await self._can_write

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def read_head(self, *, head_request: bool) -> ResponseHead:
        """The next final response's head (1xx interim responses are skipped)."""
        while self._head is None:
            try:
                await self._more()
            except _Ended:
                if self._received_any:
                    raise UpstreamError("the replica closed the connection mid-response") from None
                if self._reset_unread:
                    raise self._closed_error() from None
                why = f": {self._lost}" if self._lost else ""
                raise NoResponse(
                    f"the replica closed the connection without answering{why}"
                ) from None
        if self._failure is not None:  # the bad part came with the head: say so at once
            raise self._failure
        head = self._head
        if head_request:
            # llhttp cannot be told that a response answers HEAD, so it would read the next
            # response as this one's body: such a connection is never pooled again.
            self._expecting = False
            head = ResponseHead(head.status, head.reason, head.headers, 0, False, False)
        elif head.length == 0 and not self._complete:
            # 204/304 and ``Content-Length: 0`` end with the head; llhttp agrees by now.
            await self._until_complete()
        return head

    async def _until_complete(self) -> None:
        while not self._complete:
            try:
                await self._more()
            except _Ended:
                raise UpstreamError("the replica closed the connection mid-response") from None

    async def iter_body(self, head: ResponseHead) -> AsyncIterator[bytes]:
        """The body as it arrives, de-chunked; at most what one read brought is held."""
        if head.length == 0:
            return
        until_close = head.length is None and not head.chunked
        while True:
            if self._body:
                piece = self._body[0] if len(self._body) == 1 else b"".join(self._body)
                self._body = []
                self._buffered = 0
                yield piece
            elif self._complete:
                return
            else:
                try:
                    await self._more()
                except _Ended:
                    if until_close and not self._body:
                        return
                    if not self._body:
                        raise UpstreamError("the replica closed the connection mid-body") from None


class _Ended(Exception):
    """The replica closed the connection."""


def _parser_reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:120]


def parse_response_head(raw: bytes, *, head_request: bool) -> ResponseHead:
    """Parse one response head as the proxy would (for tests and tools): ``UpstreamError``
    when llhttp refuses it."""
    connection = Connection(Endpoint("127.0.0.1", 0))
    connection.begin()
    connection.data_received(raw)
    if connection._failure is not None:
        raise connection._failure
    head = connection._head
    if head is None:
        raise UpstreamError("the replica sent an incomplete response head")
    if head_request:
        return ResponseHead(head.status, head.reason, head.headers, 0, False, False)
    return head


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
                if connection.is_fresh(now, self._max_idle) and not connection.peer_closed():
                    connection.reused = True
                    connection.begin()
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
        connection.begin()
        return connection

    def release(self, connection: Connection, *, reusable: bool) -> None:
        """Return a connection after a complete exchange, or close it."""
        now = time.monotonic()
        idle = self._idle.setdefault(connection.endpoint, [])
        connection.idle_since = now
        if (
            not reusable
            or self._closed
            or len(idle) >= self._max_per_endpoint
            or not connection.is_fresh(now, self._max_idle)
        ):
            connection.close()
        else:
            idle.append(connection)
        if now >= self._next_sweep:
            self._sweep(now)

    def discard(self, endpoint: Endpoint) -> None:
        """Close every idle connection to a replica whose process has ended."""
        for connection in self._idle.pop(endpoint, []):
            connection.close()

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
