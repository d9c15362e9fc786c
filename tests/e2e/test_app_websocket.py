"""A WebSocket echo app deployed from git through Wharf: real ``wharf up``, a real build,
the route proxy in front of it, a real WebSocket client."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.gitrepos import commit_files, git
from tests.processes import RunningWharf, run_wharf_up

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

# Run by the S2I builder as APP_FILE (app.py), so path routes strip their prefix. Plain
# HTTP (the readiness probe) gets "ok"; text "path" asks what path the socket was opened
# on, "close N" makes the app close with code N; everything else is echoed. How each
# socket ended is printed to the app's log.
ECHO_APP = """
import asyncio, os

from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed


async def echo(ws):
    try:
        async for message in ws:
            if message == "path":
                await ws.send(ws.request.path)
            elif isinstance(message, str) and message.startswith("close "):
                await ws.close(int(message.split()[1]), "app says bye")
            else:
                await ws.send(message)
    except ConnectionClosed:
        pass
    close = ws.protocol.close_rcvd
    print(f"socket {ws.request.path} closed by the client with {close.code if close else None}",
          flush=True)


def plain_http(connection, request):
    if request.headers.get("Upgrade") is None:
        return connection.respond(200, "ok\\n")
    return None


async def main():
    port = int(os.environ["PORT"])
    async with serve(echo, "127.0.0.1", port, process_request=plain_http, max_size=None):
        await asyncio.Future()


asyncio.run(main())
"""


def open_ws(wharf: RunningWharf, path: str, host: str | None = None) -> ClientConnection:
    parts = urlsplit(wharf.url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    uri = f"ws://{host or parts.netloc}{path}"
    return connect(uri, sock=sock, proxy=None, max_size=None, open_timeout=10)


def wait_for_log(wharf: RunningWharf, text: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = wharf.cli("app", "logs", "echo")
        if text in logs.stdout:
            return
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in the app's log after {timeout} s")


def test_websocket_echo_app_from_git_through_path_and_host_routes(tmp_path: Path) -> None:
    repo = tmp_path / "echo"
    repo.mkdir()
    git(repo, "init", "--quiet", "-b", "main")
    commit_files(repo, {"app.py": ECHO_APP, "requirements.txt": "websockets>=13,<18\n"}, "echo app")
    with run_wharf_up(tmp_path) as wharf:
        created = wharf.cli("app", "create", "--git", repo.as_uri(), "--name", "echo", "--wait")
        assert created.returncode == 0, created.stdout + created.stderr

        def ready() -> bool:
            shown = wharf.cli("app", "show", "echo", "--output", "json")
            return shown.returncode == 0 and json.loads(shown.stdout)["status"]["ready"] == 1

        deadline = time.monotonic() + 60
        while not ready():
            assert time.monotonic() < deadline, "the echo app never became ready"
            time.sleep(0.3)

        # The path route: the prefix is stripped for an APP_FILE app, as for HTTP.
        with open_ws(wharf, "/apps/default/echo/chat") as ws:
            ws.send("path")
            assert ws.recv(timeout=10) == "/chat"
            payload = os.urandom(2**20)
            ws.send(payload)
            assert ws.recv(timeout=30) == payload
            ws.close(4000, "client leaves")
        wait_for_log(wharf, "socket /chat closed by the client with 4000")

        # The host route.
        port = urlsplit(wharf.url).port
        with open_ws(wharf, "/by-host", host=f"echo-default.apps.localhost:{port}") as ws:
            ws.send("path")
            assert ws.recv(timeout=10) == "/by-host"
            ws.send("hello by host")
            assert ws.recv(timeout=10) == "hello by host"
            ws.send("close 4003")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=10)
            assert (ws.close_code, ws.close_reason) == (4003, "app says bye")
