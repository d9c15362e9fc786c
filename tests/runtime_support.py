"""Helpers for the runtime's end-to-end tests: a small replica program, a registry, a
proxy on loopback and a client that keeps calling it."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from tests.processes import free_port
from tests.waiting import wait_until
from wharf.runtime.limits import (
    LimitSupport,
)
from wharf.runtime.proxy import RouteProxy
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import AppKey
from wharf.runtime.specs import Backoff, ProcessSpec, RevisionSpec

HELLO = AppKey("default", "hello")
FAST = Backoff(initial=0.2, factor=2.0, cap=1.0, reset_after=30.0)

# A replica: an HTTP/1.1 keep-alive server whose behaviour the environment chooses.
REPLICA_APP = r"""
import http.server, json, os, sys, time

port = int(sys.argv[1])
started = os.environ.get("STARTS_FILE")
if started:
    with open(started, "a") as f:
        f.write(f"{time.time()} {os.getpid()}\n")
if os.environ.get("EXIT_AFTER"):
    time.sleep(float(os.environ["EXIT_AFTER"]))
    print("giving up on purpose", flush=True)
    sys.exit(3)
if os.environ.get("NEVER_LISTEN"):
    time.sleep(3600)
if os.environ.get("CHILD_IGNORING_TERM"):
    import subprocess
    child = subprocess.Popen([sys.executable, "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"])
    with open(os.environ["CHILD_IGNORING_TERM"], "w") as f:
        f.write(str(child.pid))
held = []
if os.environ.get("HOG_MB_EACH"):  # grow little by little, as a leak does
    for _ in range(int(os.environ["HOG_MB_EACH"])):
        held.append(b"x" * 2**20)
        time.sleep(0.005)
if os.environ.get("FORK_HOGS"):  # several processes that fit alone but not together
    for _ in range(int(os.environ["FORK_HOGS"])):
        if os.fork() == 0:
            block = bytearray(int(os.environ["FORK_HOG_MB"]) * 2**20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(3600)
            os._exit(0)

REVISION = os.environ.get("REVISION", "?")
# Answers a replica may be made to give (``GET .../raw?NAME``), written as they are, in one
# write, on a connection that then stays open: a proxy that pooled it would read the rest.
RAW = {
    "bad-status": b"HTTP/1.1 2OO OK\r\nContent-Length: 2\r\n\r\nok",
    "cl-and-te": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"2\r\nok\r\n0\r\n\r\n",
    "two-lengths": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\nok",
    "obs-fold": b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok",
    "bare-lf": b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok",
    "bad-chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nok\r\n0\r\n\r\n",
    "huge-head": b"HTTP/1.1 200 OK\r\n" + b"X-Big: " + b"a" * 70000 + b"\r\n\r\n",
    "extra": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled",
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path, _, query = self.path.partition("?")
        if path.endswith("/headers"):
            seen = {"path": self.path, "headers": dict(self.headers.items())}
            self._send(200, json.dumps(seen).encode(), "application/json")
        elif path.endswith("/slow"):
            time.sleep(float(query or "1"))
            self._send(200, f"slow {REVISION}".encode())
        elif path.endswith("/stream"):
            # 3 chunks; the last waits until the test creates the file named in the query.
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"first ", b"second "):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.flush()
            deadline = time.time() + 30
            while not os.path.exists(query) and time.time() < deadline:
                time.sleep(0.02)
            self.wfile.write(b"5\r\nlast.\r\n0\r\n\r\n")
        elif path.endswith("/big"):
            size = int(query)
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            block = b"0123456789abcdef" * 4096
            while size > 0:
                self.wfile.write(block[:size])
                size -= len(block)
        elif path.endswith("/peer"):  # which connection the request came on
            self._send(200, str(self.client_address[1]).encode())
        elif path.endswith("/raw"):
            self.wfile.write(RAW[query])
            self.wfile.flush()
        elif path.endswith("/hog"):
            held.append(b"\x01" * (int(query) * 2**20))  # written, so really resident
            self._send(200, b"survived")
        else:
            self._send(200, f"revision {REVISION} pid {os.getpid()} path {self.path}".encode())

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", self.path.partition("?")[2] or "0")
        self.end_headers()

    def do_POST(self):
        if self.headers.get("Transfer-Encoding") == "chunked":
            body = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._send(200, b"echo:" + body)

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path, _, query = self.path.partition("?")
        if path.endswith("/drop-once") and not os.path.exists(query):
            open(query, "w").close()  # read it all, then hang up without an answer
            self.close_connection = True
            return
        self._send(200, b"put %d bytes" % len(body))

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def write_replica_app(folder: Path) -> Path:
    script = folder / "replica_app.py"
    script.write_text(REPLICA_APP)
    return script


def replica_spec(folder: Path, **env: str) -> ProcessSpec:
    """A spec for the test replica, with ``{port}`` where the port goes."""
    script = folder / "replica_app.py"
    if not script.exists():
        write_replica_app(folder)
    full_env = {"PATH": os.environ["PATH"], **env}
    return ProcessSpec([sys.executable, str(script), "{port}"], full_env, folder)


def revision(folder: Path, name: str, replicas: int = 1, **env: str) -> RevisionSpec:
    return RevisionSpec(
        name, replica_spec(folder, REVISION=name, **env), replicas=replicas, backoff=FAST
    )


def pid_exists(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def assert_all_gone(pids: list[int], timeout: float = 5) -> None:
    wait_until(lambda: not any(pid_exists(pid) for pid in pids), timeout, f"{pids} to be gone")


def serving_pids(registry: AppRegistry, key: AppKey = HELLO) -> list[int]:
    status = registry.status(key)
    assert status is not None
    assert status.serving is not None
    return [r.pid for r in status.serving.replicas if r.pid is not None]


@contextmanager
def open_registry(
    tmp_path: Path, limit_support: LimitSupport | None = None
) -> Iterator[AppRegistry]:
    """A registry whose replicas, and cgroups, are all gone after the block."""
    registry = AppRegistry(
        apps_domain="apps.localhost", logs_dir=tmp_path / "logs", limit_support=limit_support
    )
    support = registry.start()
    try:
        yield registry
    finally:
        pids = [
            replica.pid
            for key in registry.list_apps()
            for status in [registry.status(key)]
            if status is not None
            for replica_set in (status.serving, status.rolling_out)
            if replica_set is not None
            for replica in replica_set.replicas
            if replica.pid is not None
        ]
        registry.close(grace=2)
        assert_all_gone(pids)
        if support.parent is not None and support.prepared:
            assert not any(d.exists() for d in support.parent.created), "cgroups left behind"


@contextmanager
def serve_proxy(
    registry: AppRegistry, *, as_middleware: bool = False, **options: Any
) -> Iterator[str]:
    """The proxy around a FastAPI app (outermost, or as its middleware), under a real uvicorn
    on a free loopback port, with the HTTP and WebSocket protocols ``wharf up`` uses."""
    app = FastAPI()

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    asgi: ASGIApp = app
    if as_middleware:
        app.add_middleware(RouteProxy, registry=registry, **options)
    else:
        asgi = RouteProxy(app, registry=registry, **options)
    port = free_port()
    config = uvicorn.Config(
        asgi,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        http="httptools",
        ws="websockets-sansio",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    wait_until(lambda: server.started, 20, "uvicorn to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(20)
        assert not thread.is_alive()


class Hammer:
    """Bounded background load: GETs in a loop until stopped (or a request cap); records every
    outcome so a test can assert that none failed."""

    def __init__(self, url: str, *, cap: int = 20_000, headers: dict[str, str] | None = None):
        self.url = url
        self.cap = cap
        self.headers = headers or {}
        self.outcomes: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=10, headers=self.headers) as client:
            while not self._stop.is_set() and len(self.outcomes) < self.cap:
                try:
                    response = client.get(self.url)
                    if response.status_code == 200:
                        self.outcomes.append(response.text)
                    else:
                        self.failures.append(f"{response.status_code} {response.text}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                time.sleep(0.002)

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(20)

    def wait_for(self, count: int, timeout: float = 20) -> None:
        wait_until(lambda: len(self.outcomes) >= count, timeout, f"{count} answered requests")
