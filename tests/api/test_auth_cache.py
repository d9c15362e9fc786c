"""The auth cache: a token and a role checked lately are decided without the store, and every
change that matters is seen at once on this server and within ``auth_cache_seconds`` on another
server sharing the store."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import event

from tests.conftest import Server
from tests.inprocess import serve_in_process
from tests.waiting import wait_until
from wharf.api.app import create_app
from wharf.config import Settings
from wharf.services import members, workspaces

ME = "/api/v1/users/me"
MEMBERS = "/api/v1/workspaces/default/members"


def _begun(server: Server, path: str, token: str) -> int:
    """Transactions the request began (the runners, which poll the store, are stopped)."""
    server.platform.build_runner.stop()
    server.platform.job_runner.stop()
    begun: list[object] = []

    def on_begin(connection: object) -> None:
        begun.append(connection)

    event.listen(server.platform.engine, "begin", on_begin)
    try:
        answer = server.http.get(path, headers={"Authorization": f"Bearer {token}"})
    finally:
        event.remove(server.platform.engine, "begin", on_begin)
    assert answer.status_code == 200, answer.text
    return len(begun)


def test_a_checked_caller_is_decided_without_the_store(server: Server) -> None:
    reader = server.user_with_role("rita", "reader")
    assert _begun(server, MEMBERS, reader) == 1  # token and role from the store, one transaction
    assert _begun(server, ME, reader) == 0  # the caller and their record from the cache
    assert _begun(server, MEMBERS, reader) == 1  # only the route's own query


def _status(server: Server, method: str, path: str, token: str, **kwargs: object) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return server.http.request(method, path, headers=headers, **kwargs).status_code  # type: ignore[arg-type]


def test_changes_through_this_server_apply_to_the_next_request(server: Server) -> None:
    reader = server.user_with_role("rita", "reader")
    assert _status(server, "GET", MEMBERS, reader) == 200  # cached: token and role
    admin = server.admin_token
    # Another role, then none: each takes effect on the very next request.
    assert _status(server, "PUT", f"{MEMBERS}/rita", admin, json={"role": "owner"}) == 200
    assert _status(server, "PUT", f"{MEMBERS}/bob", reader, json={"role": "reader"}) != 403
    assert _status(server, "DELETE", f"{MEMBERS}/rita", admin) == 204
    assert _status(server, "GET", MEMBERS, reader) == 403
    # A revoked token, with the cache warm.
    token_id = server.http.get("/api/v1/tokens", headers={"Authorization": f"Bearer {reader}"})
    assert _status(server, "GET", ME, reader) == 200
    revoked = server.http.delete(
        f"/api/v1/tokens/{token_id.json()[0]['id']}",
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert revoked.status_code in (200, 204), revoked.text
    answer = server.http.get(ME, headers={"Authorization": f"Bearer {reader}"})
    assert answer.status_code == 401
    assert "has been revoked" in answer.json()["detail"]


def test_a_cached_token_still_expires_on_time(settings: Settings, server: Server) -> None:
    created = server.http.post(
        "/api/v1/tokens",
        json={"name": "short", "expires_in": "3s"},
        headers={"Authorization": f"Bearer {server.admin_token}"},
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert _status(server, "GET", ME, token) == 200  # now cached for auth_cache_seconds
    assert settings.auth_cache_seconds >= 5
    answer = wait_until(
        lambda: (
            (r := server.http.get(ME, headers={"Authorization": f"Bearer {token}"})).status_code
            == 401
            and r
        ),
        timeout=30,
        what="the cached token to expire",
    )
    assert "expired" in answer.json()["detail"]


@pytest.fixture
def other_server(settings: Settings) -> Iterator[httpx.Client]:
    """A second server on the same store, remembering checks for one second."""
    app = create_app(settings.model_copy(update={"auth_cache_seconds": 1.0}))
    with (
        serve_in_process(app) as transport,
        httpx.Client(transport=transport, base_url="http://testserver") as http,
    ):
        yield http


def test_another_server_sees_a_change_within_its_cache_time(
    server: Server, other_server: httpx.Client
) -> None:
    reader = server.user_with_role("rita", "reader")
    headers = {"Authorization": f"Bearer {reader}"}
    assert other_server.get(MEMBERS, headers=headers).status_code == 200  # cached there
    with server.platform.transaction() as session:
        members.remove_member(session, workspaces.read_workspace(session, "default"), "rita")
    assert server.http.get(MEMBERS, headers=headers).status_code == 403  # at once here
    wait_until(
        lambda: other_server.get(MEMBERS, headers=headers).status_code == 403,
        timeout=30,
        what="the other server to see the membership gone",
    )
