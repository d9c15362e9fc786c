"""A raw HTTP/1.1 client for tests that need to see how much of a body a server reads.

It sends the body chunk by chunk only while the server reads it, and stops the moment an
answer arrives; the result says how many body bytes left the client by then. The kernel's
socket buffers hold a few MiB in between, so callers allow for that.
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    head: str
    body_sent: int
    """Body bytes the client had sent when the server answered."""


def send_body(
    url: str,
    path: str,
    total: int,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    chunked: bool = True,
    declared: int | None = None,
    timeout: float = 60,
) -> Answer:
    """Send ``total`` bytes of body to ``path`` (chunked, or with ``Content-Length:
    declared``) until the server answers; return its status and what had been sent."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.hostname}:{parts.port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    frame = (f"{CHUNK:x}\r\n".encode() + b"x" * CHUNK + b"\r\n") if chunked else b"x" * CHUNK
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        deadline = time.monotonic() + timeout
        sent, pending = 0, b""
        received = b""
        while time.monotonic() < deadline:
            writing = [sock] if pending or sent < total else []
            readable, writable, _ = select.select([sock], writing, [], 1)
            if readable:
                received = _read_head(sock, deadline)
                break
            if writable:
                if not pending:
                    pending = frame
                    sent += CHUNK
                    if sent >= total and chunked:
                        pending += b"0\r\n\r\n"
                try:
                    written = sock.send(pending)
                except (BrokenPipeError, ConnectionResetError):
                    received = _read_head(sock, deadline)
                    break
                pending = pending[written:]
        sent_so_far = sent - len(pending)
    text = received.decode("latin-1")
    status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/1.1 ") else 0
    return Answer(status, text, max(0, sent_so_far))


def _read_head(sock: socket.socket, deadline: float) -> bytes:
    received = b""
    sock.setblocking(True)
    sock.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        while b"\r\n\r\n" not in received:
            data = sock.recv(65536)
            if not data:
                return received
            received += data
        head, _, body = received.partition(b"\r\n\r\n")
        length = 0
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        while len(body) < length:
            data = sock.recv(65536)
            if not data:
                break
            body += data
        return head + b"\r\n\r\n" + body
    except (ConnectionResetError, TimeoutError):
        return received
