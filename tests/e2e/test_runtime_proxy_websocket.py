"""WebSockets through app routes: a real uvicorn with the proxy in front of a real
``websockets`` replica process, driven by a real WebSocket client."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.runtime_support import HELLO, open_registry, serve_proxy, wait_until
from wharf.runtime.registry import AppRegistry
from wharf.runtime.specs import ProcessSpec, RevisionSpec

pytestmark = pytest.mark.e2e

# An echo replica. Text commands: "headers" (what the handshake carried), "close CODE"
# (the replica closes with it), "big N" (an N-byte message). How each socket ended is
# appended to CLOSES as "PATH CODE REASON".
WS_REPLICA = r"""
import asyncio, json, os, sys
from websockets.asyncio.server import serve
from websockets.exceptions import ConnectionClosed

CLOSES = os.environ["CLOSES"]


def record(ws):
    close = ws.protocol.close_rcvd or ws.protocol.close_sent
    code, reason = (close.code, close.reason) if close else (1006, "")
    with open(CLOSES, "a") as f:
        f.write(f"{ws.request.path} {code} {reason}\n")


async def handler(ws):
    try:
        async for message in ws:
            if message == "headers":
                seen = {"path": ws.request.path, "headers": dict(ws.request.headers.raw_items()),
                        "subprotocol": ws.subprotocol}
                await ws.send(json.dumps(seen))
            elif isinstance(message, str) and message.startswith("close "):
                await ws.close(int(message.split()[1]), "asked to")
            elif isinstance(message, str) and message.startswith("big "):
                await ws.send(b"x" * int(message.split()[1]))
            else:
                await ws.send(message)
    except ConnectionClosed:
        pass
    record(ws)


def plain_http(connection, request):
    if request.headers.get("Upgrade") is None:  # the readiness probe
        return connection.respond(200, "ok\n")
    if request.path.endswith("/forbidden"):
        return connection.respond(403, "not for you\n")
    return None


def prefer_v2(ws, offered):
    return next((p for p in ("chat.v2", "chat.v1") if p in offered), None)


async def main():
    async with serve(handler, "127.0.0.1", int(sys.argv[1]), max_size=None,
                     select_subprotocol=prefer_v2, process_request=plain_http,
                     compression=None, ping_interval=None):
        await asyncio.Future()


asyncio.run(main())
"""


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppRegistry, Path]]:
    folder = tmp_path_factory.mktemp("ws")
    (folder / "ws_replica.py").write_text(WS_REPLICA)
    closes = folder / "closes.log"
    closes.touch()
    env = {"PATH": os.environ["PATH"], "CLOSES": str(closes)}
    spec = ProcessSpec([sys.executable, str(folder / "ws_replica.py"), "{port}"], env, folder)
    with open_registry(folder) as registry:
        result = registry.deploy(HELLO, RevisionSpec("1", spec), ready_timeout=30)
        assert result.succeeded, result.message
        yield registry, closes


@pytest.fixture(scope="module")
def proxy(replica: tuple[AppRegistry, Path]) -> Iterator[str]:
    registry, _ = replica
    with serve_proxy(registry, websocket_max_message=4 * 2**20) as url:
        yield url


def open_ws(url: str, path: str, host: str | None = None, **options: Any) -> ClientConnection:
    """A WebSocket to the proxy at ``url``, asking for ``path`` on ``host``."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    uri = f"ws://{host or parts.netloc}{path}"
    return connect(uri, sock=sock, proxy=None, max_size=None, open_timeout=10, **options)


def close_seen(closes: Path, path: str) -> str:
    """How the replica saw the socket at ``path`` end: "CODE REASON" (waits for it)."""

    def logged() -> str | None:
        for line in closes.read_text().splitlines():
            if line.startswith(path + " "):
                return line.removeprefix(path + " ")
        return None

    wait_until(lambda: logged() is not None, 10, f"the replica to see {path} closed")
    return logged() or ""


def test_path_route_echoes_with_the_prefix_handled_as_for_http(proxy: str) -> None:
    with open_ws(proxy, "/apps/default/hello/chat?room=1") as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "hello"
        ws.send(b"\x00\x01binary")
        assert ws.recv(timeout=10) == b"\x00\x01binary"
        ws.send("headers")
        seen = json.loads(ws.recv(timeout=10))
    assert seen["path"] == "/apps/default/hello/chat?room=1"
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["x-forwarded-prefix"] == "/apps/default/hello"
    assert headers["host"] == urlsplit(proxy).netloc
    assert headers["x-forwarded-proto"] == "http"


def test_host_route_echoes(proxy: str) -> None:
    port = urlsplit(proxy).port
    with open_ws(proxy, "/socket", host=f"hello-default.apps.localhost:{port}") as ws:
        ws.send("headers")
        seen = json.loads(ws.recv(timeout=10))
        ws.send("via host")
        assert ws.recv(timeout=10) == "via host"
    assert seen["path"] == "/socket"
    assert "x-forwarded-prefix" not in {k.lower() for k in seen["headers"]}


def test_subprotocols_pass_through(proxy: str) -> None:
    offered = ["chat.v1", "chat.v2"]
    with open_ws(proxy, "/apps/default/hello/", subprotocols=offered) as ws:  # type: ignore[arg-type]
        ws.send("headers")
        seen = json.loads(ws.recv(timeout=10))
        assert ws.subprotocol == seen["subprotocol"] == "chat.v2"  # the replica's choice
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert headers["sec-websocket-protocol"] == "chat.v1, chat.v2"


def test_a_1_mib_message_round_trips_both_ways(proxy: str) -> None:
    payload = os.urandom(2**20)
    with open_ws(proxy, "/apps/default/hello/") as ws:
        ws.send(payload)
        assert ws.recv(timeout=30) == payload
        ws.send("big 1048576")
        assert ws.recv(timeout=30) == b"x" * 2**20


def test_client_close_code_reaches_the_replica(
    proxy: str, replica: tuple[AppRegistry, Path]
) -> None:
    _, closes = replica
    with open_ws(proxy, "/apps/default/hello/client-closes") as ws:
        ws.send("ping")
        assert ws.recv(timeout=10) == "ping"
        ws.close(4000, "client done")
    assert close_seen(closes, "/apps/default/hello/client-closes") == "4000 client done"


def test_replica_close_code_reaches_the_client(
    proxy: str, replica: tuple[AppRegistry, Path]
) -> None:
    _, closes = replica
    with open_ws(proxy, "/apps/default/hello/replica-closes") as ws:
        ws.send("close 4002")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 4002
        assert ws.close_reason == "asked to"
    assert close_seen(closes, "/apps/default/hello/replica-closes") == "4002 asked to"


def test_messages_over_the_limit_close_both_sides_with_1009(
    proxy: str, replica: tuple[AppRegistry, Path]
) -> None:
    _, closes = replica
    with open_ws(proxy, "/apps/default/hello/too-big") as ws:
        ws.send(b"x" * (4 * 2**20 + 1))
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1009
    assert close_seen(closes, "/apps/default/hello/too-big").startswith("1009 ")
    with open_ws(proxy, "/apps/default/hello/") as ws:  # the replica's own, too
        ws.send(f"big {4 * 2**20 + 1}")
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)
        assert ws.close_code == 1009


def test_idle_sockets_are_closed_with_1001(replica: tuple[AppRegistry, Path]) -> None:
    registry, closes = replica
    with (
        serve_proxy(registry, websocket_idle_timeout=0.5) as url,
        open_ws(url, "/apps/default/hello/idle") as ws,
    ):
        ws.send("still here")
        assert ws.recv(timeout=10) == "still here"
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=10)  # nothing sent: closed by the idle timeout
        assert ws.close_code == 1001
    assert close_seen(closes, "/apps/default/hello/idle") == "1001 idle"


def test_refusals_are_http_answers(proxy: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_ws(proxy, "/apps/default/hello/forbidden")
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b"not for you\n"
    with pytest.raises(InvalidStatus) as missing:
        open_ws(proxy, "/apps/default/nope/")
    assert missing.value.response.status_code == 404
    assert json.loads(missing.value.response.body or b"")["code"] == "no-such-route"
    # Plain HTTP on the same route still works.
    assert httpx.get(f"{proxy}/apps/default/hello/").text == "ok\n"
