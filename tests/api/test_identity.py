"""Users, tokens, workspaces, roles and members through the SDK against the in-process app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import Server
from wharf.sdk import (
    AuthenticationError,
    Client,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
)
from wharf.store.models import Token


def test_first_start_creates_default_workspace_and_admin(admin: Client) -> None:
    me = admin.users.me()
    assert me.name == "admin"
    assert me.is_admin
    assert [w.name for w in admin.workspaces.list()] == ["default"]
    assert [(m.user, m.role) for m in admin.members.list()] == [("admin", "owner")]


def test_reader_can_read_and_cannot_write(server: Server, admin: Client) -> None:
    admin.users.create("alice")
    admin.members.assign("alice", "reader")
    created = admin.tokens.create("alice-cli", user="alice", expires_in="30d")
    assert created.token.startswith("wharf_")
    assert created.expires_at is not None
    with server.client(created.token) as alice:
        assert alice.users.me().name == "alice"
        assert [m.user for m in alice.members.list()] == ["admin", "alice"]
        with pytest.raises(PermissionDeniedError, match="does not grant members/write"):
            alice.members.assign("alice", "owner")
        with pytest.raises(PermissionDeniedError, match="platform admin"):
            alice.users.create("mallory")


def test_revoked_token_gets_401(server: Server, admin: Client) -> None:
    token = server.user_with_role("bob", "contributor")
    with server.client(token) as bob:
        assert bob.users.me().name == "bob"
        token_id = bob.tokens.list()[0].id
        bob.tokens.revoke(token_id)
        with pytest.raises(AuthenticationError, match="has been revoked") as caught:
            bob.users.me()
    assert caught.value.status == 401
    assert admin.tokens.list(user="bob")[0].state == "revoked"


def test_expired_token_gets_401(server: Server, admin: Client) -> None:
    admin.users.create("carol")
    created = admin.tokens.create(user="carol", expires_in="1h")
    with server.platform.transaction() as session:
        token = session.get(Token, created.id)
        assert token is not None
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    with server.client(created.token) as carol, pytest.raises(AuthenticationError, match="expired"):
        carol.users.me()


def test_unknown_and_missing_tokens_get_401(server: Server) -> None:
    with (
        server.client("wharf_not-a-real-token") as stranger,
        pytest.raises(AuthenticationError, match="not valid"),
    ):
        stranger.workspaces.list()
    response = server.http.get("/api/v1/workspaces")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthenticated"


def test_token_secret_is_shown_once_and_stored_hashed(server: Server, admin: Client) -> None:
    created = admin.tokens.create("once")
    listed = admin.tokens.list()
    assert all("token" not in t.model_dump() for t in listed)
    with server.platform.transaction() as session:
        stored = session.get(Token, created.id)
        assert stored is not None
        assert created.token not in stored.token_hash
        assert len(stored.token_hash) == 64


def test_users_manage_only_their_own_tokens(server: Server, admin: Client) -> None:
    token = server.user_with_role("dave", "owner")
    with server.client(token) as dave:
        with pytest.raises(PermissionDeniedError, match="only a platform admin"):
            dave.tokens.create(user="admin")
        admin_token_id = admin.tokens.list()[0].id
        with pytest.raises(NotFoundError):
            dave.tokens.revoke(admin_token_id)


def test_workspaces_are_created_by_admins_and_owned_by_their_creator(
    server: Server, admin: Client
) -> None:
    created = admin.workspaces.create("team-a", description="the A team")
    assert created.description == "the A team"
    assert [(m.user, m.role) for m in admin.members.list(workspace="team-a")] == [
        ("admin", "owner")
    ]
    erin = server.user_with_role("erin", "data-scientist")
    with server.client(erin) as client:
        assert [w.name for w in client.workspaces.list()] == ["default"]
        with pytest.raises(PermissionDeniedError, match="not a member of workspace 'team-a'"):
            client.members.list(workspace="team-a")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda c: c.workspaces.create("Bad_Name"), InvalidRequestError, "not valid"),
        (lambda c: c.workspaces.create("default"), ConflictError, "already exists"),
        (lambda c: c.workspaces.get("nowhere"), NotFoundError, "'nowhere' does not exist"),
        (lambda c: c.users.create("admin"), ConflictError, "'admin' already exists"),
        (lambda c: c.users.get("ghost"), NotFoundError, "'ghost' does not exist"),
        (lambda c: c.members.assign("ghost", "reader"), NotFoundError, "user 'ghost'"),
        (lambda c: c.members.assign("admin", "emperor"), NotFoundError, "role 'emperor'"),
        (lambda c: c.members.remove("admin"), ConflictError, "last owner"),
        (lambda c: c.members.assign("admin", "reader"), ConflictError, "last owner"),
        (lambda c: c.tokens.create(expires_in="soon"), InvalidRequestError, "not a duration"),
        (lambda c: c.tokens.revoke("tok_missing"), NotFoundError, "does not exist"),
        (lambda c: c.roles.create("x", ["apps/fly"]), InvalidRequestError, "'apps/fly'"),
        (lambda c: c.roles.create("owner", ["*"]), ConflictError, "built in"),
        (lambda c: c.roles.delete("reader"), ConflictError, "built in"),
    ],
)
def test_bad_input_is_a_clear_problem(
    admin: Client, call: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        call(admin)  # type: ignore[operator]


def test_custom_role_grants_exactly_its_permissions(server: Server, admin: Client) -> None:
    role = admin.roles.create("member-viewer", ["members/read", "roles/*"], description="HR")
    assert role.permissions == ["members/read", "roles/*"]
    assert not role.builtin
    token = server.user_with_role("frank", "member-viewer")
    with server.client(token) as frank:
        assert len(frank.members.list()) == 2
        assert "member-viewer" in [r.name for r in frank.roles.list()]
        with pytest.raises(PermissionDeniedError, match="does not grant workspaces/read"):
            frank.workspaces.get()
    with pytest.raises(ConflictError, match="still assigned"):
        admin.roles.delete("member-viewer")
    admin.members.assign("frank", "reader")
    admin.roles.delete("member-viewer")
    assert "member-viewer" not in [r.name for r in admin.roles.list()]


def test_builtin_roles_are_listed_with_their_permissions(admin: Client) -> None:
    found = {r.name: r for r in admin.roles.list()}
    assert list(found) == ["owner", "contributor", "data-scientist", "reader"]
    assert found["owner"].permissions == ["*"]
    assert "members/write" not in found["contributor"].permissions
    assert "batch-endpoints/jobs/write" in found["data-scientist"].permissions
    assert found["reader"].permissions == ["*/read"]
    assert "apps/write" in [p.name for p in admin.roles.permissions()]


def test_malformed_json_and_wrong_types_are_422_naming_the_field(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    broken = server.http.post(
        "/api/v1/users", content=b"{nope", headers=headers | {"content-type": "application/json"}
    )
    assert broken.status_code == 422
    assert "not valid JSON" in broken.json()["detail"]
    typed = server.http.post("/api/v1/users", json={"name": 7}, headers=headers)
    assert typed.status_code == 422
    assert typed.json()["errors"][0]["field"] == "body.name"
    extra = server.http.post("/api/v1/users", json={"name": "x", "admin": True}, headers=headers)
    assert extra.status_code == 422
    assert "body.admin" in extra.json()["detail"]


def test_health_needs_no_token(server: Server) -> None:
    body = server.http.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"


def test_unknown_route_is_a_404_problem(server: Server) -> None:
    response = server.http.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"
