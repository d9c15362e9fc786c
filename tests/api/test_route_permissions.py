"""Every route checks a permission: walked from the OpenAPI document, so new routes are covered."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from tests.conftest import Server

PUBLIC_ROUTES = {("GET", "/api/v1/health"), ("GET", "/api/v1/ready")}
# Called by git hosts: the secret in the URL authenticates (tests/api/test_webhooks.py).
SECRET_URL_ROUTES = {("POST", "/hooks/{ws}/{app}/{secret}/{provider}")}
# Self-service: every signed-in user manages their own tokens and console password, whatever
# their role (someone else's password: tests/console/test_passwords.py).
SELF_SERVICE_WRITES = {
    ("POST", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("PUT", "/api/v1/users/{name}/password"),
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every operation in the OpenAPI document."""
    routes = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}:
                routes.append((method.upper(), path))
    return sorted(routes)


def concrete(path: str) -> str:
    """Fill path parameters: the reader's own workspace, a made-up name elsewhere."""
    return re.sub(r"\{[^}]+\}", "x", path.replace("{ws}", "default"))


def find_unguarded(http: httpx.Client, app: FastAPI, reader_token: str) -> list[str]:
    """Routes that answer without a token, or let a reader write."""
    problems = []
    for method, path in api_routes(app):
        if (method, path) in PUBLIC_ROUTES:
            continue
        url = concrete(path)
        anonymous = http.request(method, url, json={})
        if (method, path) in SECRET_URL_ROUTES:
            if anonymous.status_code not in (401, 404):
                problems.append(f"{method} {path} answered {anonymous.status_code} to a guess")
            continue
        if anonymous.status_code != 401:
            problems.append(f"{method} {path} answered {anonymous.status_code} without a token")
        if method in WRITE_METHODS and (method, path) not in SELF_SERVICE_WRITES:
            as_reader = http.request(
                method, url, json={}, headers={"Authorization": f"Bearer {reader_token}"}
            )
            if as_reader.status_code != 403:
                problems.append(f"{method} {path} answered {as_reader.status_code} to a reader")
    return problems


def test_every_route_needs_a_token_and_readers_cannot_write(server: Server) -> None:
    reader = server.user_with_role("rita", "reader")
    routes = api_routes(server.app)
    assert len(routes) >= 15, "the OpenAPI document lost routes"
    assert find_unguarded(server.http, server.app, reader) == []


def test_the_walk_catches_a_route_without_a_check(server: Server) -> None:
    reader = server.user_with_role("rita", "reader")

    @server.app.post("/api/v1/workspaces/{ws}/unguarded")
    def unguarded(ws: str) -> dict[str, str]:
        return {"ws": ws}

    server.app.openapi_schema = None  # rebuild the document with the new route
    problems = find_unguarded(server.http, server.app, reader)
    assert problems == [
        "POST /api/v1/workspaces/{ws}/unguarded answered 200 without a token",
        "POST /api/v1/workspaces/{ws}/unguarded answered 200 to a reader",
    ]


def test_self_service_routes_work_for_readers(server: Server) -> None:
    reader = server.user_with_role("rita", "reader")
    headers = {"Authorization": f"Bearer {reader}"}
    created = server.http.post("/api/v1/tokens", json={"name": "mine"}, headers=headers)
    assert created.status_code == 201
    revoked = server.http.delete(f"/api/v1/tokens/{created.json()['id']}", headers=headers)
    assert revoked.status_code == 200


def test_every_write_route_refuses_an_oversized_body_before_the_token(server: Server) -> None:
    """The body limit comes before authentication on every route the walk finds: an anonymous
    body one byte over the limit gets 413, not 401 (uploads and webhooks have larger limits
    of their own, tested in tests/e2e/test_request_limits.py)."""
    limit = server.platform.settings.max_request_bytes
    oversized = b"x" * (limit + 1)
    walked = 0
    for method, path in api_routes(server.app):
        if method not in WRITE_METHODS or method == "DELETE" or path.startswith("/hooks/"):
            continue
        if path.endswith("/files/{path}"):
            continue
        answer = server.http.request(method, concrete(path), content=oversized)
        assert answer.status_code == 413, f"{method} {path}: {answer.status_code}"
        assert answer.headers["content-type"] == "application/problem+json"
        walked += 1
    assert walked >= 15
