"""Quick store reads (routes marked ``store_read``) run on the event loop on an embedded SQLite
store, and in a worker thread on PostgreSQL, for other routes, or when the pool is busy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.conftest import Server
from wharf.api.request_platform import RequestPlatform
from wharf.api.routing import store_read


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


@contextmanager
def where_statements_run(server: Server) -> Iterator[list[bool]]:
    """For each statement run meanwhile: whether it ran on the event loop (the runners, which
    poll the store from threads of their own, are stopped)."""
    server.platform.build_runner.stop()
    server.platform.job_runner.stop()
    seen: list[bool] = []

    def on_execute(*_: Any) -> None:
        seen.append(_on_event_loop())

    event.listen(server.platform.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(server.platform.engine, "before_cursor_execute", on_execute)


def _get(server: Server, path: str) -> None:
    answer = server.http.get(path, headers={"Authorization": f"Bearer {server.admin_token}"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "path",
    ["/api/v1/workspaces/default/members", "/api/v1/workspaces/default/jobs", "/api/v1/users"],
)
def test_a_store_read_runs_on_the_loop_only_on_sqlite(server: Server, path: str) -> None:
    _get(server, path)  # the token is checked and cached: what follows is the route's own
    with where_statements_run(server) as on_loop:
        _get(server, path)
    assert on_loop
    on_sqlite = server.platform.engine.dialect.name == "sqlite"
    assert on_loop == [on_sqlite] * len(on_loop)


def test_other_routes_run_in_a_worker_thread(server: Server) -> None:
    _get(server, "/api/v1/workspaces/default/apps")
    with where_statements_run(server) as on_loop:
        _get(server, "/api/v1/workspaces/default/apps")
    assert on_loop
    assert not any(on_loop)


def test_a_busy_pool_sends_store_reads_to_a_worker_thread(server: Server) -> None:
    _get(server, "/api/v1/workspaces/default/members")  # the token is checked and cached
    request = RequestPlatform.for_request(server.platform)
    assert request.reads_inline == (server.platform.engine.dialect.name == "sqlite")
    with ExitStack() as held:  # every pooled connection busy: the loop must never wait for one
        for _ in range(server.platform.engine.pool.size()):
            held.enter_context(server.platform.engine.connect())
        assert not request.reads_inline
        with where_statements_run(server) as on_loop:
            _get(server, "/api/v1/workspaces/default/members")
    assert on_loop
    assert not any(on_loop)


def test_a_store_read_must_take_the_platform() -> None:
    def no_platform(ws: str) -> None:
        """A route without the request's platform."""

    with pytest.raises(TypeError, match="takes `platform`"):
        store_read(no_platform)
