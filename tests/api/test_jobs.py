"""Invoking batch endpoints and the jobs that run, in-process with real worker processes."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.batchfiles import (
    set_up_heart_endpoints,
    upload_folder,
    wait_for_job,
    write_code,
    write_csv_files,
)
from tests.conftest import Server
from tests.storage_servers import S3Server
from tests.waiting import wait_until
from wharf.services import roles, workspaces

pytestmark = pytest.mark.timeout(240)

WS = "/api/v1/workspaces/default"
FILES, ROWS = 20, 3


class Api:
    def __init__(self, server: Server, token: str | None = None) -> None:
        self.http = server.http
        self.token = token or server.admin_token

    def __call__(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return self.http.request(method, f"{WS}{path}", headers=headers, **kwargs)

    def invoke(self, endpoint: str = "heart", **kwargs: Any) -> httpx.Response:
        return self("POST", f"/batch-endpoints/{endpoint}/jobs", **kwargs)

    def wait(self, name: str, timeout: float = 90) -> dict[str, Any]:
        return wait_for_job(self.http, self.token, name, timeout)


@pytest.fixture
def api(server: Server, tmp_path: Path) -> Api:
    """An admin API with: data asset ``heart`` (20 CSV files of 3 rows), endpoint ``heart``
    with ``d1`` (scoring script, default) and ``d2`` (model project), endpoint ``tools`` with a
    component deployment ``copy``."""
    api = Api(server)
    set_up_heart_endpoints(server.http, server.admin_token, tmp_path, FILES)
    return api


@pytest.fixture(scope="module")
def refusing_api(module_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Api:
    """The same, set up once for the module's tests of invocations that are refused: each
    checks that no job was made, so none of them sees another's."""
    api = Api(module_server)
    folder = tmp_path_factory.mktemp("heart")
    set_up_heart_endpoints(module_server.http, module_server.admin_token, folder, FILES)
    return api


def download(api: Api, job: str, output: str, **params: str) -> httpx.Response:
    answer = api("GET", f"/jobs/{job}/outputs/{output}", params=params)
    assert answer.status_code == 200, answer.text
    return answer


def expected_ids() -> list[str]:
    return [str(n * 100 + r) for n in range(FILES) for r in range(ROWS)]


def test_both_body_shapes_score_every_row_in_order(api: Api) -> None:
    native = api.invoke(
        json={
            "inputs": {"heart": {"type": "uri_folder", "path": "data:heart@latest"}},
            "experiment_name": "nightly",
        }
    )
    assert native.status_code == 201, native.text
    job = native.json()
    assert (job["status"], job["deployment"], job["experiment_name"]) == ("Queued", "d1", "nightly")
    assert job["inputs"]["heart"]["reference"] == "data:heart:1"
    assert job["created_by"] == "admin"
    azure = api.invoke(
        headers={"azureml-model-deployment": "d2"},
        json={
            "properties": {
                "InputData": {
                    "heart": {"JobInputType": "UriFolder", "Uri": "azureml:heart@latest"}
                },
                "OutputData": {
                    "score": {
                        "JobOutputType": "UriFile",
                        "Uri": "azureml://datastores/default/paths/runs/azure.csv",
                    }
                },
                "properties": {"experimentName": "azure"},
            }
        },
    )
    assert azure.status_code == 201, azure.text
    assert azure.json()["outputs"]["score"]["path"] == (
        "wharf://datastores/default/paths/runs/azure.csv"
    )
    for name, deployment in ((job["name"], "d1"), (azure.json()["name"], "d2")):
        done = api.wait(name)
        assert done["status"] == "Completed", done
        assert done["deployment"] == deployment
        assert done["progress"]["items_done"] == FILES
        assert done["started_at"]
        assert done["finished_at"]
        assert done["duration_seconds"] >= 0
        moments = [
            done[key] for key in ("created_at", "started_at", "first_mini_batch_at", "first_run_at")
        ]
        assert all(moments), done
        parsed = [datetime.fromisoformat(m) for m in [*moments, done["finished_at"]]]
        assert parsed == sorted(parsed)
        rows = list(csv.DictReader(io.StringIO(download(api, name, "score").text)))
        assert [row["id"] for row in rows] == expected_ids()
        assert rows[0]["old"] in ("False", "false")
    log = api("GET", f"/jobs/{job['name']}/log").text
    assert "attempt 1 sent" in log
    assert "init in" in log
    listed = api("GET", "/jobs", params={"endpoint": "heart"}).json()
    assert [j["name"] for j in listed] == [azure.json()["name"], job["name"]]


def test_a_retry_with_the_same_key_returns_the_same_job(api: Api) -> None:
    body = {"inputs": {"heart": {"type": "uri_folder", "path": "data:heart:1"}}}
    first = api.invoke(json=body, headers={"Repeatability-Request-ID": "abc"})
    again = api.invoke(json=body, headers={"Repeatability-Request-ID": "abc"})
    other = api.invoke(json=body, headers={"Idempotency-Key": "def"})
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert first.json()["name"] == again.json()["name"] != other.json()["name"]
    named = api.invoke(json={**body, "job_name": "mine"})
    assert named.status_code == 201
    assert named.json()["name"] == "mine"
    assert api.invoke(json={**body, "job_name": "mine"}).status_code == 409
    for job in (first.json()["name"], other.json()["name"], "mine"):
        assert api.wait(job)["status"] == "Completed"


@pytest.mark.parametrize(
    ("endpoint", "body", "headers", "status", "message"),
    [
        ("heart", {"inputs": {"x": {"type": "uri_folder", "path": "data:none@latest"}}}, {}, 404,
         "input 'x'"),
        ("heart", {"inputs": {"x": {"type": "uri_file", "path": "data:heart@latest"}}}, {}, 422,
         "not a file"),
        ("heart", {"inputs": {"x": {"type": "string", "value": "a"}}}, {}, 422,
         "input 'x' is a literal"),
        ("heart", {"inputs": {"x": "append"}}, {}, 422, "input 'x' is a literal"),
        ("heart", {"inputs": {}}, {}, 422, "exactly one data input"),
        ("heart", {"inputs": {"x": {"path": "data:heart:1"}}}, {"wharf-deployment": "nope"}, 404,
         "no deployment 'nope'"),
        ("heart", {"inputs": {"x": {"path": "data:heart:1"}}, "outputs": {"other": "x.csv"}}, {},
         422, "output 'other'"),
        ("heart", {"inputs": {"x": {"path": "data:heart:1"}},
                   "outputs": {"score": "wharf://datastores/default/paths/heart/heart-001.csv"}},
         {}, 409, "written once"),
        ("heart", {"inputs": {"x": {"path": "data:heart:1"}}, "outputs": {"score": "s3://b/x.csv"}},
         {}, 422, "cannot be written"),
        ("heart", {"inputs": {"x": {"path": "data:heart:1"}},
                   "params_override": {"mini_batch_size": 0}}, {}, 422, "mini_batch_size"),
        ("heart", {"inputs": {"x": {"path": "/home/me/data"}}}, {}, 422, "local path"),
        ("heart", {"inputs": {"x": {"path": "https://127.0.0.1:9/x.csv"}}}, {}, 422,
         "input 'x': URL 'https://127.0.0.1:9/x.csv' is refused"),
        ("heart", {"inputs": {"x": {"type": "uri_folder", "path": "https://example.org/d/"}}},
         {}, 422, "input 'x': an https:// URL is one file"),
        ("heart", {"inputs": {"x": {"path": "data:heart:1"}}, "experiment_name": "e" * 300}, {},
         422, "experiment_name"),
        ("tools", {"inputs": {"data": {"path": "data:heart:1"}, "greeting": "hi", "times": "abc"}},
         {}, 422, "input 'times' must be an integer, got 'abc'"),
        ("tools", {"inputs": {"data": {"path": "data:heart:1"}, "greeting": "hi", "times": 1,
                              "extra": 1}}, {}, 422, "input 'extra' is not an input"),
        ("tools", {"inputs": {"data": {"path": "data:heart:1"}, "greeting": "hi"}}, {}, 422,
         "input 'times' is required"),
        ("heart", {"deployment": "d1", "inputs": {"x": {"path": "data:heart:1"}}},
         {"wharf-deployment": "d2"}, 422, "more than one deployment"),
    ],
)  # fmt: skip
def test_invoke_refuses_what_cannot_run_naming_it(
    refusing_api: Api,
    endpoint: str,
    body: dict[str, Any],
    headers: dict[str, str],
    status: int,
    message: str,
) -> None:
    answer = refusing_api.invoke(endpoint, json=body, headers=headers)
    assert answer.status_code == status, answer.text
    assert message in answer.json()["detail"]
    assert refusing_api("GET", "/jobs").json() == []


def test_permissions_follow_the_caller(api: Api, server: Server) -> None:
    body = {"inputs": {"x": {"type": "uri_folder", "path": "data:heart:1"}}}
    reader = Api(server, server.user_with_role("rita", "reader"))
    refused = reader.invoke(json=body)
    assert refused.status_code == 403
    with server.platform.transaction() as session:
        workspace = workspaces.read_workspace(session, "default")
        roles.create_role(session, workspace, "invoker", ["batch-endpoints/*", "*/read"])
        roles.create_role(session, workspace, "blind", ["batch-endpoints/*"])
    no_write = Api(server, server.user_with_role("ivan", "invoker"))
    answer = no_write.invoke(json=body)
    assert answer.status_code == 403
    assert "output 'score'" in answer.json()["detail"]
    blind = Api(server, server.user_with_role("bo", "blind"))
    answer = blind.invoke(json=body)
    assert answer.status_code == 403
    assert "input 'x'" in answer.json()["detail"]
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    created = scientist.invoke(json=body)
    assert created.status_code == 201, created.text
    assert created.json()["created_by"] == "dana"
    assert scientist.wait(created.json()["name"])["status"] == "Completed"
    assert reader("POST", f"/jobs/{created.json()['name']}/cancel").status_code == 403


def test_error_threshold_decides_whether_a_failing_file_fails_the_job(api: Api) -> None:
    body: dict[str, Any] = {
        "inputs": {"x": {"type": "uri_folder", "path": "data:heart:1"}},
        "params_override": {
            "mini_batch_size": 1,
            "retry_settings.max_retries": 1,
            "environment_variables": {"FAIL_ON": "heart-004.csv"},
        },
    }
    tolerant = api.invoke(json=body).json()["name"]
    body["params_override"]["error_threshold"] = 0
    strict = api.invoke(json=body).json()["name"]
    done = api.wait(tolerant)
    assert done["status"] == "Completed", done
    assert done["progress"]["items_failed"] == 1
    assert done["progress"]["retries"] == 1
    (failure,) = done["failures"]
    assert failure["items"] == ["heart-004.csv"]
    assert failure["exception"] == "ValueError"
    assert "cannot score heart-004.csv" in failure["traceback"]
    rows = list(csv.DictReader(io.StringIO(download(api, tolerant, "score").text)))
    assert len(rows) == (FILES - 1) * ROWS
    failed = api.wait(strict)
    assert failed["status"] == "Failed"
    assert failed["error"].startswith(
        "run() raised ValueError: cannot score heart-004.csv on heart-004.csv"
    )
    assert "more than error_threshold 0" in failed["error"]
    assert api("GET", f"/jobs/{strict}/outputs/score").status_code == 409
    log = api("GET", f"/jobs/{strict}/log").text
    assert log.count("job failed:") == 1, log


def test_cancel_stops_a_running_job_within_seconds(api: Api) -> None:
    body = {
        "inputs": {"x": {"type": "uri_folder", "path": "data:heart:1"}},
        "params_override": {"environment_variables": {"SLEEP": "30"}},
    }
    name = api.invoke(json=body).json()["name"]
    wait_for_job(api.http, api.token, name, 60, until=("Running",))
    wait_until(
        lambda: api("GET", f"/jobs/{name}").json()["progress"]["mini_batches_running"] > 0,
        30,
        "a mini-batch to run",
    )
    asked = api("POST", f"/jobs/{name}/cancel")
    assert asked.status_code == 200
    assert asked.json()["status"] in ("CancelRequested", "Canceled")
    began = time.monotonic()
    assert api.wait(name, timeout=15)["status"] == "Canceled"
    assert time.monotonic() - began < 5
    assert api("POST", f"/jobs/{name}/cancel").status_code == 409


def test_a_component_gets_typed_literals_and_writes_two_outputs(api: Api) -> None:
    answer = api.invoke(
        "tools",
        json={
            "inputs": {
                "data": {"path": "data:heart@latest"},
                "greeting": {"type": "string", "value": "hello"},
                "times": {"type": "integer", "value": "2"},
            }
        },
    )
    assert answer.status_code == 201, answer.text
    job = answer.json()
    assert job["inputs"]["times"]["value"] == 2
    done = api.wait(job["name"])
    assert done["status"] == "Completed", done
    assert download(api, job["name"], "summary").text == "hello x2: 20 files\n"
    listing = download(api, job["name"], "copies").json()
    assert [f["path"] for f in listing] == ["heart-000.csv", "heart-001.csv"]
    copy = download(api, job["name"], "copies", path="heart-001.csv").text
    assert copy.startswith("id,age\n100,")


MODEL_SCORE = """
import csv, os

def init():
    global threshold
    with open(os.path.join(os.environ["WHARF_MODEL_DIR"], "threshold.txt")) as handle:
        threshold = int(handle.read())

def run(mini_batch):
    rows = []
    for path in mini_batch:
        with open(path) as handle:
            for r in csv.DictReader(handle):
                rows.append({"id": r["id"], "old": int(r["age"]) > threshold})
    return rows
"""


def test_a_model_is_pinned_at_create_and_found_at_wharf_model_dir(
    api: Api, server: Server, tmp_path: Path
) -> None:
    token = server.admin_token
    model = write_code(tmp_path / "model", {"threshold.txt": "45"})
    model_ref = upload_folder(server.http, token, model, "models/threshold")
    created = api("POST", "/models/threshold/versions", json={"path": model_ref})
    assert created.status_code == 201, created.text
    code = upload_folder(
        server.http, token, write_code(tmp_path / "m", {"score.py": MODEL_SCORE}), "c/m"
    )
    deployment = api(
        "POST",
        "/batch-endpoints/heart/deployments",
        json={
            "name": "with-model",
            "model": "azureml:threshold@latest",
            "code_configuration": {"code": code, "scoring_script": "score.py"},
        },
    )
    assert deployment.status_code == 201, deployment.text
    assert deployment.json()["model"] == "model:threshold:1"
    answer = api.invoke(
        json={"inputs": {"x": {"path": "data:heart:1"}}}, headers={"wharf-deployment": "with-model"}
    )
    assert answer.status_code == 201, answer.text
    done = api.wait(answer.json()["name"])
    assert done["status"] == "Completed", done
    rows = list(csv.DictReader(io.StringIO(download(api, done["name"], "score").text)))
    assert [row["old"] for row in rows[:3]] == ["False", "True", "True"]  # ages 40, 47, 54


def test_inputs_and_outputs_on_an_s3_datastore(
    api: Api, server: Server, s3_server: S3Server, s3_bucket: str, tmp_path: Path
) -> None:
    with server.client() as admin:
        admin.datastores.create(
            "lake",
            "s3",
            bucket=s3_bucket,
            prefix="wharf",
            endpoint_url=s3_server.endpoint_url,
            region=s3_server.region,
            credentials={
                "access_key_id": s3_server.access_key_id,
                "secret_access_key": s3_server.secret_access_key,
            },
        )
        data = admin.datastores.upload(
            write_csv_files(tmp_path / "lake", 4), datastore="lake", target_path="in"
        )
    output = "wharf://datastores/lake/paths/out/scores.jsonl"
    answer = api.invoke(
        json={
            "inputs": {"x": {"type": "uri_folder", "path": data}},
            "outputs": {"score": {"type": "uri_file", "path": output}},
        }
    )
    assert answer.status_code == 201, answer.text
    done = api.wait(answer.json()["name"])
    assert done["status"] == "Completed", done
    assert done["settings"]["output_file_name"] == "scores.jsonl"
    lines = download(api, done["name"], "score").text.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [
        str(n * 100 + r) for n in range(4) for r in range(ROWS)
    ]
    again = api.invoke(
        json={"inputs": {"x": {"path": data}}, "outputs": {"score": {"path": output}}}
    )
    assert again.status_code == 409, "the output file exists now"
    one_file = api.invoke(
        headers={"wharf-deployment": "d2"},
        json={"inputs": {"x": {"path": data.rstrip("/") + "/heart-001.csv"}}},
    )
    assert one_file.status_code == 201, one_file.text
    assert one_file.json()["inputs"]["x"]["type"] == "uri_file"
    done = api.wait(one_file.json()["name"])
    assert done["status"] == "Completed", done
    rows = list(csv.DictReader(io.StringIO(download(api, done["name"], "score").text)))
    assert [row["id"] for row in rows] == ["100", "101", "102"]


def test_rows_split_into_mini_batches_for_a_model_project(api: Api) -> None:
    answer = api.invoke(
        headers={"wharf-deployment": "d2"},
        json={
            "inputs": {"x": {"path": "data:heart:1"}},
            "params_override": {"mini_batch_rows": 7, "output_file_name": "rows.jsonl"},
        },
    )
    assert answer.status_code == 201, answer.text
    followed = api("GET", f"/jobs/{answer.json()['name']}/log", params={"follow": "true"})
    assert "job completed: 9 of 9 mini-batches done" in followed.text, "it streams to the end"
    done = api.wait(answer.json()["name"])
    assert done["status"] == "Completed", done
    assert done["progress"]["items_total"] == FILES * ROWS
    assert done["progress"]["mini_batches_total"] == -(-FILES * ROWS // 7)
    lines = download(api, done["name"], "score").text.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [int(i) for i in expected_ids()]


def test_a_link_out_of_the_datastore_fails_the_job_and_is_never_read(
    api: Api, server: Server, tmp_path: Path
) -> None:
    # A folder on the local default datastore (put there on the server's disk, as a shared
    # mount would) that holds a link to /etc/passwd and one to another workspace's folder.
    root = server.platform.settings.default_datastore_dir / "default" / "linked"
    write_csv_files(root, 2)
    for name, target in (
        ("passwd.csv", Path("/etc/passwd")),
        ("neighbour.csv", server.platform.settings.default_datastore_dir / "other" / "x.csv"),
    ):
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_text("secret,row\n1,2\n")
        (root / name).symlink_to(target)
        body = {
            "inputs": {
                "x": {"type": "uri_folder", "path": "wharf://datastores/default/paths/linked/"}
            }
        }
        invoked = api.invoke(json=body)
        assert invoked.status_code == 201, invoked.text
        failed = api.wait(invoked.json()["name"])
        assert failed["status"] == "Failed", failed
        assert "is a symbolic link that leads outside the datastore" in failed["error"]
        assert name in failed["error"]
        (root / name).unlink()


def test_an_output_into_an_asset_version_is_refused_at_invoke(refusing_api: Api) -> None:
    body = {
        "inputs": {"x": {"type": "uri_folder", "path": "data:heart:1"}},
        "outputs": {
            "score": {"type": "uri_file", "path": "wharf://datastores/default/paths/heart/new.csv"}
        },
    }
    answer = refusing_api.invoke(json=body)
    assert answer.status_code == 409, answer.text
    assert "data asset 'heart' version '1'" in answer.json()["detail"]
    assert refusing_api("GET", "/jobs").json() == []


def test_jobs_page_through_filters_and_show_a_root_cause_and_a_preview(
    api: Api, server: Server
) -> None:
    body: dict[str, Any] = {"inputs": {"x": {"type": "uri_folder", "path": "data:heart:1"}}}
    good = api.invoke(json={**body, "experiment_name": "ok"}).json()["name"]
    failing = {
        "mini_batch_size": 1,
        "retry_settings.max_retries": 0,
        "error_threshold": 0,
        "environment_variables": {"FAIL_ON": "heart-002.csv"},
    }
    scientist = Api(server, server.user_with_role("dana", "data-scientist"))
    bad = scientist.invoke(json={**body, "params_override": failing}).json()["name"]
    assert api.wait(good)["status"] == "Completed"
    failed = api.wait(bad)
    assert failed["status"] == "Failed"
    cause = api("GET", f"/jobs/{bad}").json()["root_cause"]
    assert cause["message"] == failed["error"]
    assert "ValueError: cannot score heart-002.csv" in cause["traceback"]
    assert cause["source"] == "mini-batch 3"
    assert api("GET", f"/jobs/{good}").json()["root_cause"] is None
    listed = api("GET", "/jobs", params={"created_by": "dana"})
    assert [j["name"] for j in listed.json()] == [bad]
    assert listed.headers["X-Total-Count"] == "1"
    page = api("GET", "/jobs", params={"limit": 1, "offset": 1, "deployment": "d1"})
    assert [j["name"] for j in page.json()] == [good]
    assert page.headers["X-Total-Count"] == "2"
    assert api("GET", "/jobs", params={"deployment": "d2"}).json() == []
    with server.client() as sdk:
        assert [j.name for j in sdk.jobs.list(created_by="dana", deployment_name="d1")] == [bad]
        assert [j.name for j in sdk.jobs.list(offset=1, limit=1)] == [good]
    preview = api("GET", f"/jobs/{good}/outputs/score/preview").json()
    assert preview["format"] == "csv"
    assert preview["columns"] == ["file", "id", "old"]
    assert [row[1] for row in preview["rows"]] == expected_ids()[:50]
    assert preview["truncated"] is True
    assert api("GET", f"/jobs/{bad}/outputs/score/preview").status_code == 409
    refused = api.invoke(json={**body, "params_override": {"retry_settings.timeout": "soon"}})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "params_override.retry_settings.timeout"
