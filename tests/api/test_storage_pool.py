"""Issue #11 finding 6: a storage service that never answers cannot stall the API.

A datastore points at a loopback server that accepts connections and never sends a byte (the
admin allows it, as on-premise storage would be). Many listings of it are in flight at once,
more than the threads that serve the API; health must keep answering meanwhile, and each
listing must end with a clear 504 (or a 503 with ``Retry-After`` once the storage pool is full),
never hang.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server
from tests.inprocess import serve_in_process
from wharf.api import create_app
from wharf.config import Settings
from wharf.services import bootstrap

pytestmark = pytest.mark.timeout(180)

LISTINGS = 45  # more than the 40 threads that serve the API's sync routes


class SilentServer:
    """Accepts every connection on a loopback port and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self.port = int(self.listener.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:  # closed: the test is over
                return
            self.accepted.append(connection)

    def close(self) -> None:
        # shutdown() wakes the thread blocked in accept() (close() alone does not, and the
        # storage client's retries would go on being accepted); then close what it accepted.
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(timeout=10)
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def slow_server(tmp_path: Path, silent: SilentServer) -> Iterator[Server]:
    settings = Settings(
        data_dir=tmp_path / "data",
        config_dir=tmp_path / "config",
        allow_private_urls=f"127.0.0.1:{silent.port}",
        storage_timeout_seconds=1,
        storage_call_timeout_seconds=20,
        storage_pool_size=2,
    )
    app = create_app(settings)
    with (
        serve_in_process(app) as transport,
        httpx.Client(transport=transport, base_url="http://testserver") as http,
    ):
        platform = app.state.platform
        with platform.transaction() as session:
            token = bootstrap.issue_admin_token(session)
        yield Server(app=app, http=http, transport=transport, platform=platform, admin_token=token)


def wait_until(condition: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.05)


def test_health_answers_while_listings_of_a_silent_store_time_out(
    slow_server: Server, silent: SilentServer
) -> None:
    headers = {"Authorization": f"Bearer {slow_server.admin_token}"}
    created = slow_server.http.post(
        "/api/v1/workspaces/default/datastores",
        json={
            "name": "silent",
            "type": "gcs",
            "bucket": "data",
            "endpoint_url": f"http://127.0.0.1:{silent.port}",
        },
        headers=headers,
    )
    assert created.status_code == 201, created.text
    answers: list[httpx.Response] = []

    def list_files() -> None:
        with httpx.Client(transport=slow_server.transport, base_url="http://testserver") as http:
            answers.append(
                http.get("/api/v1/workspaces/default/datastores/silent/files", headers=headers)
            )

    listings = [threading.Thread(target=list_files) for _ in range(LISTINGS)]
    for thread in listings:
        thread.start()
    # In flight: the storage pool is full (2 running, 2 waiting); the other listings have been
    # turned away. Those in the pool wait for a service that never answers.
    pool = slow_server.platform.storage
    wait_until(lambda: pool.taken == 2 * pool.size, timeout=30)

    health: list[httpx.Response] = []

    def check_health() -> None:
        with httpx.Client(transport=slow_server.transport, base_url="http://testserver") as http:
            health.extend(http.get("/api/v1/health") for _ in range(5))

    checker = threading.Thread(target=check_health)
    checker.start()
    checker.join(timeout=20)  # a generous bound: it takes milliseconds when nothing stalls
    assert not checker.is_alive(), "health did not answer while storage calls were in flight"
    in_flight = sum(thread.is_alive() for thread in listings)
    assert [answer.status_code for answer in health] == [200] * 5
    assert in_flight >= 1, "the listings ended before health was asked: nothing was measured"

    for thread in listings:
        thread.join(timeout=90)
    assert silent.accepted, "the storage client never connected to the silent service"
    assert not any(thread.is_alive() for thread in listings)
    statuses = sorted({answer.status_code for answer in answers})
    assert set(statuses) <= {503, 504}, [a.text for a in answers if a.status_code not in (503, 504)]
    timed_out = [a for a in answers if a.status_code == 504]
    busy = [a for a in answers if a.status_code == 503]
    assert timed_out, "no listing reached the storage service"
    assert "did not answer" in timed_out[0].json()["detail"]
    assert busy, "the storage pool took more calls than it holds"
    assert int(busy[0].headers["Retry-After"]) >= 1
    assert busy[0].json()["code"] == "storage-busy"
