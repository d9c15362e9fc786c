"""Names and descriptions have length and character rules everywhere (finding 8): no NUL,
no newline or control character in a name, descriptions bounded at 4 KiB, tags and env
bounded. The OpenAPI document shows the rules."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Server

WS = "/api/v1/workspaces/default"
LONG = "x" * 4097
MANY_TAGS = {f"k{i}": "v" for i in range(65)}

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("/api/v1/workspaces", {"name": "team\n"}, "name"),
    ("/api/v1/workspaces", {"name": "te\x00am"}, "name"),
    ("/api/v1/workspaces", {"name": "team", "description": LONG}, "description"),
    ("/api/v1/workspaces", {"name": "team", "description": "a\x00b"}, "description"),
    ("/api/v1/users", {"name": "eve\n"}, "name"),
    ("/api/v1/users", {"name": "eve", "email": "eve@x\r\nBcc: y"}, "email"),
    ("/api/v1/tokens", {"name": "ci\nrm -rf"}, "name"),
    (f"{WS}/roles", {"name": "r", "permissions": [], "description": LONG}, "description"),
    (f"{WS}/roles", {"name": "ops\n", "permissions": ["apps/read"]}, "name"),
    (f"{WS}/datastores", {"name": "a\x00b", "type": "local"}, "name"),
    (f"{WS}/datastores", {"name": "ab", "type": "local", "description": LONG}, "description"),
    (f"{WS}/source-secrets", {"name": "key\n", "password": "p"}, "name"),
    (f"{WS}/batch-endpoints", {"name": "scorer", "description": LONG}, "description"),
    (f"{WS}/batch-endpoints", {"name": "scorer", "tags": MANY_TAGS}, "tags"),
    (f"{WS}/batch-endpoints", {"name": "scorer", "tags": {"k": "a\nb"}}, "tags"),
    (f"{WS}/batch-endpoints", {"name": "sco\nrer"}, "name"),
    (f"{WS}/data/heart/versions", {"path": "x", "description": LONG}, "description"),
    (f"{WS}/models/heart/versions", {"path": "x", "tags": MANY_TAGS}, "tags"),
    (f"{WS}/apps", {"git": "https://h/r.git", "name": "m\n"}, "name"),
    (f"{WS}/apps", {"git": "https://h/r.git", "secret_env": {"A B": "x"}}, "secret_env"),
    (f"{WS}/apps", {"git": "https://h/r.git", "env": {"A": "x\x00y"}}, "env"),
    (f"{WS}/apps", {"git": "https://h/r.git", "labels": MANY_TAGS}, "labels"),
]


@pytest.mark.parametrize(("path", "body", "field"), REFUSED)
def test_bad_names_and_descriptions_are_refused_with_the_field(
    server: Server, path: str, body: dict[str, Any], field: str
) -> None:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    answer = server.http.post(path, json=body, headers=auth)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["code"] == "invalid"
    assert any(field in error["field"] for error in problem["errors"]), problem


def test_the_plain_words_of_a_pattern_reach_the_caller(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    answer = server.http.post("/api/v1/workspaces", json={"name": "a\nb"}, headers=auth)
    assert "must not contain control characters (NUL, newline, tab)" in answer.text
    assert server.http.get("/api/v1/workspaces", headers=auth).text.count('"name"') == 1


def test_descriptions_may_span_lines(server: Server) -> None:
    auth = {"Authorization": f"Bearer {server.admin_token}"}
    body = {"name": "team", "description": "Scoring models.\n\tOwned by the risk team."}
    answer = server.http.post("/api/v1/workspaces", json=body, headers=auth)
    assert answer.status_code == 201, answer.text


def test_the_openapi_document_shows_the_rules(server: Server) -> None:
    schemas = server.http.get("/api/v1/openapi.json").json()["components"]["schemas"]

    def prop(model: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = schemas[model]["properties"][name]
        return found.get("anyOf", [found])[0]

    assert prop("WorkspaceCreate", "name")["maxLength"] == 255
    assert "pattern" in prop("WorkspaceCreate", "name")
    assert prop("WorkspaceCreate", "description")["maxLength"] == 4096
    assert prop("AppCreate", "secret_env")["maxProperties"] == 256
    assert prop("BatchEndpointCreate", "tags")["maxProperties"] == 64
    assert prop("JobInvoke", "experiment_name")["maxLength"] == 255
