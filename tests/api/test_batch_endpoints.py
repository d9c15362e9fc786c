"""Batch endpoints and deployments over REST against the in-process app (real uv environments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import COMPONENT, COMPONENT_SPEC, PREDICTION, SCORE, upload_folder, write_code
from tests.conftest import Server

pytestmark = pytest.mark.timeout(180)

BASE = "/api/v1/workspaces/default/batch-endpoints"


class Api:
    def __init__(self, server: Server, token: str | None = None) -> None:
        self.http = server.http
        self.token = token or server.admin_token

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{BASE}{path}", headers=headers, **kwargs)


@pytest.fixture
def api(server: Server) -> Api:
    return Api(server)


@pytest.fixture
def script_code(server: Server, tmp_path: Path) -> str:
    folder = write_code(tmp_path / "score", {"score.py": SCORE})
    return upload_folder(server.http, server.admin_token, folder, "deployments/heart/score")


def script_deployment(code: str, name: str = "d1", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "endpoint_name": "heart",
        "type": "model",
        "code_configuration": {"code": code, "scoring_script": "score.py"},
        "settings": {"mini_batch_size": 2},
        **extra,
    }


def test_endpoint_lifecycle_and_name_rules(api: Api) -> None:
    created = api("POST", "", json={"name": "heart", "description": "scores hearts"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["default_deployment"] is None
    assert body["invoke_url"].endswith("/api/v1/workspaces/default/batch-endpoints/heart/jobs")
    assert api("POST", "", json={"name": "heart"}).status_code == 409
    for bad in ("ab", "1heart", "heart_model", "x" * 33):
        answer = api("POST", "", json={"name": bad})
        assert answer.status_code == 422, bad
        assert "3-32 letters" in answer.json()["detail"]
    assert [e["name"] for e in api("GET", "").json()] == ["heart"]
    assert api("PATCH", "/heart", json={"description": "new"}).json()["description"] == "new"
    assert api("DELETE", "/heart").status_code == 204
    assert api("GET", "/heart").status_code == 404


def test_deployments_default_replace_and_delete(api: Api, server: Server, tmp_path: Path) -> None:
    api("POST", "", json={"name": "heart"})
    code = upload_folder(
        server.http,
        server.admin_token,
        write_code(tmp_path / "score", {"score.py": SCORE}),
        "deployments/heart/d1/code-1",
    )
    first = api("POST", "/heart/deployments", json=script_deployment(code))
    assert first.status_code == 201, first.text
    d1 = first.json()
    assert (d1["kind"], d1["is_default"], d1["revision"]) == ("scoring_script", True, 1)
    assert d1["settings"]["mini_batch_size"] == 2
    assert d1["settings"]["retry_settings"] == {"max_retries": 3, "timeout": 30.0}
    assert d1["environment"]["source"] == "none"
    project = upload_folder(
        server.http,
        server.admin_token,
        write_code(tmp_path / "project", {"prediction.py": PREDICTION}),
        "deployments/heart/d2/code-1",
    )
    second = api(
        "POST",
        "/heart/deployments",
        json={
            "name": "d2",
            "code_configuration": {"code": project},
            "environment": {"conda_file": {"dependencies": ["python=3.11", {"pip": []}]}},
            "resources": {"instance_count": 2},
        },
    )
    assert second.status_code == 201, second.text
    assert second.json()["kind"] == "model_project"
    assert second.json()["settings"]["instance_count"] == 2
    assert second.json()["is_default"] is False
    assert api("GET", "/heart").json()["deployments"] == ["d1", "d2"]
    assert api("POST", "/heart/deployments", json=script_deployment(code)).status_code == 409

    replaced = api("PUT", "/heart/deployments/d1", json=script_deployment(code, description="v2"))
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["revision"], replaced.json()["description"]) == (2, "v2")
    assert replaced.json()["environment"]["reused"] is True

    refused = api("DELETE", "/heart/deployments/d1")
    assert refused.status_code == 409
    assert "default_deployment" in refused.json()["detail"]
    assert api("PATCH", "/heart", json={"default_deployment": "nope"}).status_code == 404
    assert api("PATCH", "/heart", json={"default_deployment": "d2"}).status_code == 200
    assert api("DELETE", "/heart/deployments/d1").status_code == 204
    assert api("GET", "/heart").json()["default_deployment"] == "d2"
    set_default = api(
        "POST", "/heart/deployments", params={"set_default": "true"}, json=script_deployment(code)
    )
    assert set_default.status_code == 201
    assert api("GET", "/heart").json()["default_deployment"] == "d1"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "has_underscore"}, "name", "is not valid"),
        ({"endpoint_name": "other"}, "endpoint_name", "does not match"),
        ({"settings": {"mini_batch_size": 0}}, None, "mini_batch_size"),
        ({"settings": {"output_file_name": "x.txt"}}, None, "output_file_name"),
        ({"settings": {"no_such": 1}}, None, "is not a batch deployment setting"),
        (
            {"code_configuration": {"code": "CODE", "scoring_script": "missing.py"}},
            "code_configuration.scoring_script",
            "has no missing.py",
        ),
        (
            {"code_configuration": {"code": "CODE", "scoring_script": "broken.py"}},
            "code_configuration.scoring_script",
            "line 1",
        ),
        (
            {"code_configuration": {"code": "CODE", "scoring_script": "norun.py"}},
            "code_configuration.scoring_script",
            "defines no run()",
        ),
        (
            {"code_configuration": {"code": "wharf://datastores/default/paths/nothing/"}},
            None,
            "does not exist",
        ),
        (
            {"code_configuration": {"code": "https://example.org/code.zip"}},
            "code_configuration.code",
            "not a URL",
        ),
        ({"model": "model:none@latest"}, "model", "does not exist"),
        ({"environment": {"requirements": ["-r /etc/passwd"]}}, None, "names a file"),
    ],
)
def test_deployment_create_refuses_mistakes_at_once(
    api: Api,
    server: Server,
    tmp_path: Path,
    change: dict[str, Any],
    field: str | None,
    message: str,
) -> None:
    api("POST", "", json={"name": "heart"})
    files = {"score.py": SCORE, "broken.py": "def run(:\n", "norun.py": "x = 1\n"}
    code = upload_folder(
        server.http, server.admin_token, write_code(tmp_path / "c", files), "code/c1"
    )
    body = script_deployment(code)
    if "code_configuration" in change:
        change = {
            "code_configuration": {
                k: (code if v == "CODE" else v) for k, v in change["code_configuration"].items()
            }
        }
    body.update(change)
    answer = api("POST", "/heart/deployments", json=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert message in answer.json()["detail"]
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
    assert api("GET", "/heart/deployments").json() == []


def test_component_deployment_declares_typed_inputs(
    api: Api, server: Server, tmp_path: Path
) -> None:
    api("POST", "", json={"name": "tools"})
    code = upload_folder(
        server.http,
        server.admin_token,
        write_code(tmp_path / "comp", {"component.py": COMPONENT}),
        "code/comp",
    )
    body = {"name": "copy", "type": "component", "code_configuration": {"code": code}}
    created = api("POST", "/tools/deployments", json={**body, **COMPONENT_SPEC})
    assert created.status_code == 201, created.text
    assert created.json()["kind"] == "component"
    assert created.json()["inputs"]["times"]["type"] == "integer"
    inline = api(
        "POST",
        "/tools/deployments",
        json={"name": "inline", "type": "component", "component": {"code": code, **COMPONENT_SPEC}},
    )
    assert inline.status_code == 201, inline.text
    bad_entry = api(
        "POST", "/tools/deployments", json={**body, **COMPONENT_SPEC, "name": "x", "entry": "nope"}
    )
    assert bad_entry.status_code == 422
    missing = api(
        "POST",
        "/tools/deployments",
        json={**body, **COMPONENT_SPEC, "name": "y", "entry": "component:absent"},
    )
    assert missing.status_code == 422
    assert "defines no absent()" in missing.json()["detail"]


def test_a_reader_sees_but_cannot_change(server: Server, api: Api) -> None:
    api("POST", "", json={"name": "heart"})
    reader = Api(server, server.user_with_role("rita", "reader"))
    assert reader("GET", "/heart").status_code == 200
    assert reader("POST", "", json={"name": "other"}).status_code == 403
    assert reader("DELETE", "/heart").status_code == 403
