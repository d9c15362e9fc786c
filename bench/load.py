"""A bounded HTTP load generator for benchmarks: N concurrent clients, a fixed request count.

Each client is one keep-alive HTTP/1.1 connection written with plain asyncio streams and read
with llhttp (``httptools``, uvicorn's parser), on uvloop when it is installed. A general client
(httpx) spends about 3 ms of CPU per request here, more than the servers under test: on a
2-core machine the bench would then measure its own client. This one spends a few tens of
microseconds, so the latencies and ratios are the servers'.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httptools

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    uvloop = None


@dataclass
class LoadResult:
    name: str
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_us: float | None = None
    """The server process's CPU time (user + system) per request, when its pid was given: on
    a shared machine the steadiest measure of what a request costs."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)


class _Response:
    """What llhttp reports of one response."""

    def __init__(self) -> None:
        self.done = False
        self.closes = False
        self.body = bytearray()

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"connection" and value.strip().lower() == b"close":
            self.closes = True

    def on_body(self, body: bytes) -> None:
        self.body += body

    def on_message_complete(self) -> None:
        self.done = True


def _request_bytes(method: str, url: str, request: dict[str, Any]) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = {"Host": f"{host}:{port}", "User-Agent": "wharf-bench", "Accept": "*/*"}
    headers.update(request.get("headers") or {})
    body = b""
    if "json" in request:
        body = jsonlib.dumps(request["json"]).encode()
        headers["Content-Type"] = "application/json"
    elif "content" in request:
        body = request["content"]
    if body or method in ("POST", "PUT", "PATCH"):
        headers["Content-Length"] = str(len(body))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return host, port, (head + "\r\n").encode("latin-1") + body


async def _drive(
    name: str, method: str, url: str, total: int, concurrency: int, **request: Any
) -> LoadResult:
    host, port, payload = _request_bytes(method, url, request)
    latencies: list[float] = []
    failures = 0
    remaining = total

    async def client() -> None:
        nonlocal remaining, failures
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        while remaining > 0:
            remaining -= 1
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(host, port)
                assert reader is not None
                writer.write(payload)
                response = _Response()
                parser = httptools.HttpResponseParser(response)
                while not response.done:
                    data = await reader.read(65536)
                    if not data:
                        raise ConnectionError("the server closed the connection")
                    parser.feed_data(data)
                if parser.get_status_code() >= 400:
                    failures += 1
                if response.closes:
                    writer.close()
                    reader = writer = None
            except (OSError, httptools.HttpParserError, ConnectionError):
                failures += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
            latencies.append((time.perf_counter() - started) * 1000)
        if writer is not None:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return LoadResult(name, total, failures, elapsed, latencies)


def _run(coroutine: Any) -> LoadResult:
    if uvloop is not None:
        result: LoadResult = uvloop.run(coroutine)
        return result
    return asyncio.run(coroutine)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    name: str,
    method: str,
    url: str,
    *,
    total: int,
    concurrency: int,
    server_pid: int | None = None,
    **request: Any,
) -> LoadResult:
    """Send ``total`` requests with ``concurrency`` clients; warm up first. ``request`` takes
    ``headers``, and a body as ``json`` or ``content``. With ``server_pid``, the server's CPU
    time per request is measured too."""
    _run(_drive(name, method, url, min(50, total), concurrency, **request))
    before = process_cpu_seconds(server_pid) if server_pid else 0.0
    result = _run(_drive(name, method, url, total, concurrency, **request))
    if server_pid:
        result.server_cpu_us = (process_cpu_seconds(server_pid) - before) / total * 1e6
    return result


def print_table(results: list[LoadResult], baseline: LoadResult | None = None) -> None:
    print(
        f"{'case':<38}{'req/s':>7}{'p50 ms':>9}{'p99 ms':>9}{'fail':>6}{'vs base':>9}"
        f"{'CPU µs/req':>12}"
    )
    for r in results:
        ratio = f"{r.rps / baseline.rps:.2f}x" if baseline else ""
        cpu = f"{r.server_cpu_us:.0f}" if r.server_cpu_us is not None else ""
        print(
            f"{r.name:<38}{r.rps:>7.0f}{r.p50:>9.2f}{r.percentile(99):>9.2f}"
            f"{r.failures:>6}{ratio:>9}{cpu:>12}"
        )
