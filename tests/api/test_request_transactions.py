"""One transaction per API request: authentication, the permission check and the route share it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.conftest import Server
from wharf.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The store's path every time: with the auth cache on, a checked request may need no
    transaction for its check at all (``test_auth_cache.py``)."""
    return settings.model_copy(update={"auth_cache_seconds": 0})


@contextmanager
def counting_transactions(server: Server) -> Iterator[list[object]]:
    """The transactions begun meanwhile (the runners, which poll the store, are stopped)."""
    server.platform.build_runner.stop()
    server.platform.job_runner.stop()
    begun: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(server.platform.engine, "begin", on_begin)
    try:
        yield begun
    finally:
        event.remove(server.platform.engine, "begin", on_begin)


def test_a_checked_read_is_one_transaction(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    server.http.get("/api/v1/users/me", headers=headers)  # warm: last_used_at is written once
    for path in ("/api/v1/workspaces/default/members", "/api/v1/users/me"):
        with counting_transactions(server) as begun:
            answer = server.http.get(path, headers=headers)
        assert answer.status_code == 200, answer.text
        assert len(begun) == 1, path


def test_a_refused_request_writes_nothing_and_is_one_transaction(server: Server) -> None:
    reader = server.user_with_role("rita", "reader")
    with counting_transactions(server) as begun:
        answer = server.http.post(
            "/api/v1/workspaces/default/roles",
            json={"name": "x", "permissions": ["*/read"]},
            headers={"Authorization": f"Bearer {reader}"},
        )
    assert answer.status_code == 403
    assert len(begun) == 1
    assert "x" not in [role.name for role in server.client().roles.list()]
