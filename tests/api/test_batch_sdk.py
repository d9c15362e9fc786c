"""Batch endpoints, deployments and jobs through the SDK against the in-process app (whose
lifespan runs the job runner, so jobs really run, in worker processes)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import Server
from wharf import BatchDeployment, BatchEndpoint, Client, Data, Input, Output
from wharf.sdk import ConflictError, InvalidRequestError, NotFoundError, PermissionDeniedError

SCORE = """\
import csv, os

def run(mini_batch):
    rows = []
    for path in mini_batch:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({"id": row["id"], "double": int(row["age"]) * 2})
    return rows
"""

SLOW = """\
import time

def run(mini_batch):
    time.sleep(30)
    return []
"""

COMPONENT = """\
def main(data, label, count, report):
    with open(report, "w") as handle:
        handle.write(f"{label} x{count} ({type(count).__name__})")
"""


@pytest.fixture
def heart(tmp_path: Path) -> Path:
    folder = tmp_path / "heart"
    folder.mkdir()
    for n in range(4):
        rows = "".join(f"{n * 10 + r},{40 + r}\n" for r in range(2))
        (folder / f"heart-{n}.csv").write_text("id,age\n" + rows)
    return folder


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "score.py").write_text(SCORE)
    (folder / "slow.py").write_text(SLOW)
    (folder / "report.py").write_text(COMPONENT)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "score.cpython-311.pyc").write_bytes(b"\0")
    return folder


def scoring_deployment(
    code: Path, name: str = "score", script: str = "score.py"
) -> BatchDeployment:
    return BatchDeployment(
        name=name,
        endpoint_name="heart",
        code_configuration={"code": str(code), "scoring_script": script},
        environment={"requirements": []},
        settings={"mini_batch_size": 2},
    )


def test_endpoint_lifecycle_and_name_rules(admin: Client) -> None:
    created = admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart", description="x"))
    assert created.invoke_url is not None
    assert created.invoke_url.endswith("/api/v1/workspaces/default/batch-endpoints/heart/jobs")
    assert created.default_deployment is None
    again = admin.batch_endpoints.create_or_update({"name": "heart", "description": "y"})
    assert again.description == "y", "create_or_update updates an existing endpoint"
    assert [e.name for e in admin.batch_endpoints.list()] == ["heart"]
    for bad in ("ab", "9heart", "heart_1", "h" * 33):
        with pytest.raises(InvalidRequestError):
            admin.batch_endpoints.create_or_update(BatchEndpoint(name=bad))
    admin.batch_endpoints.delete("heart")
    with pytest.raises(NotFoundError):
        admin.batch_endpoints.get("heart")


def test_deploy_invoke_stream_download(
    admin: Client, heart: Path, code: Path, tmp_path: Path
) -> None:
    admin.data.create_or_update(Data(name="heart", path=str(heart)))
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    deployment = admin.batch_deployments.create_or_update(scoring_deployment(code))
    assert deployment.kind == "scoring_script"
    assert deployment.is_default
    assert deployment.code is not None
    assert "/deployments/heart/score/code-" in deployment.code
    uploaded = admin.datastores.list_files("default", deployment.code.split("/paths/", 1)[1])
    assert sorted(f.path.rsplit("/", 1)[1] for f in uploaded) == [
        "report.py",
        "score.py",
        "slow.py",
    ], "hidden files and __pycache__ stay home"
    assert admin.batch_endpoints.get("heart").default_deployment == "score"

    job = admin.batch_endpoints.invoke(
        endpoint_name="heart",
        inputs={"heart": Input(type="uri_folder", path="data:heart@latest")},
        job_name="first-job",
    )
    assert (job.name, job.status, job.deployment) == ("first-job", "Queued", "score")
    lines: list[str] = []
    updates: list[str] = []
    final = admin.jobs.stream(
        job.name, on_line=lines.append, on_update=lambda j: updates.append(j.status)
    )
    assert final.status == "Completed", final.error
    assert updates[-1] == "Completed"
    assert final.progress.mini_batches_total == 2
    assert final.progress.rows_written == 8
    saved = admin.jobs.download(job.name, output_name="score", download_path=tmp_path / "out")
    assert saved == tmp_path / "out" / "predictions.csv"
    rows = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == ["id", "double"]
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 10, 11, 20, 21, 30, 31]
    assert [j.name for j in admin.jobs.list(endpoint_name="heart")] == ["first-job"]
    with pytest.raises(NotFoundError, match="has no output 'nope'"):
        admin.jobs.download(job.name, output_name="nope", download_path=tmp_path)


def test_a_local_input_is_uploaded_and_settings_overridden(
    admin: Client, heart: Path, code: Path
) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    admin.batch_deployments.create_or_update(scoring_deployment(code))
    job = admin.batch_endpoints.invoke(
        "heart", input=str(heart), params_override={"mini_batch_size": 1}
    )
    assert job.inputs["input"].path is not None
    assert job.inputs["input"].path.startswith("wharf://datastores/default/paths/LocalUpload/")
    assert job.settings["mini_batch_size"] == 1
    final = admin.jobs.wait(job.name, timeout=120)
    assert final.status == "Completed", final.error
    assert final.progress.mini_batches_total == 4


def test_idempotency_key_returns_the_first_job(admin: Client, heart: Path, code: Path) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    admin.batch_deployments.create_or_update(scoring_deployment(code))
    path = admin.datastores.upload(heart)
    first = admin.batch_endpoints.invoke("heart", input=path, idempotency_key="retry-1")
    second = admin.batch_endpoints.invoke("heart", input=path, idempotency_key="retry-1")
    assert first.name == second.name
    third = admin.batch_endpoints.invoke("heart", input=path, idempotency_key="retry-2")
    assert third.name != first.name


def test_invoke_errors_name_the_problem(admin: Client, heart: Path, code: Path) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    admin.batch_deployments.create_or_update(scoring_deployment(code))
    with pytest.raises(NotFoundError, match="nope"):
        admin.batch_endpoints.invoke("heart", deployment_name="nope", input="data:heart@latest")
    with pytest.raises((NotFoundError, InvalidRequestError), match=r"input .heart.*missing"):
        admin.batch_endpoints.invoke("heart", inputs={"heart": Input(path="data:missing@latest")})
    with pytest.raises(InvalidRequestError, match="mode"):
        admin.batch_endpoints.invoke("heart", input=str(heart), inputs={"mode": "append"})
    with pytest.raises(ConflictError):
        admin.batch_deployments.create(scoring_deployment(code))


def test_component_with_literals_and_an_output(
    admin: Client, heart: Path, code: Path, tmp_path: Path
) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="tools"))
    admin.batch_deployments.create_or_update(
        BatchDeployment(
            name="report",
            endpoint_name="tools",
            type="component",
            code_configuration={"code": str(code)},
            entry="report:main",
            inputs={
                "data": {"type": "uri_folder"},
                "label": {"type": "string"},
                "count": {"type": "integer"},
            },
            outputs={"report": {"type": "uri_file"}},
        )
    )
    job = admin.batch_endpoints.invoke(
        "tools",
        inputs={
            "data": Input(type="uri_folder", path=str(heart)),
            "label": "hearts",
            "count": Input(type="integer", default=3),
        },
        outputs={"report": Output(type="uri_file")},
    )
    final = admin.jobs.wait(job.name, timeout=120)
    assert final.status == "Completed", final.error
    saved = admin.jobs.download(job.name, output_name="report", download_path=tmp_path)
    assert saved.read_text() == "hearts x3 (int)"
    with pytest.raises(InvalidRequestError, match="input 'count' must be an integer, got 'x'"):
        admin.batch_endpoints.invoke(
            "tools", inputs={"data": Input(path=str(heart)), "label": "a", "count": "x"}
        )


def test_update_changes_one_setting_and_keeps_the_rest(admin: Client, code: Path) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    first = admin.batch_deployments.create_or_update(scoring_deployment(code))
    updated = admin.batch_deployments.update(
        "score", "heart", settings={"retry_settings": {"timeout": 90}}
    )
    assert updated.revision == (first.revision or 0) + 1
    assert updated.settings["mini_batch_size"] == 2
    assert updated.settings["retry_settings"] == {"max_retries": 3, "timeout": 90.0}
    assert updated.code == first.code
    second = admin.batch_deployments.create(scoring_deployment(code, "other"), set_default=True)
    assert second.is_default
    assert [d.name for d in admin.batch_deployments.list("heart")] == ["other", "score"]
    admin.batch_deployments.delete("score", "heart")
    assert [d.name for d in admin.batch_deployments.list("heart")] == ["other"]


def test_cancel_a_running_job(admin: Client, heart: Path, code: Path) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    admin.batch_deployments.create_or_update(scoring_deployment(code, "slow", "slow.py"))
    job = admin.batch_endpoints.invoke("heart", input=str(heart))
    canceled = admin.jobs.cancel(job.name)
    assert canceled.status in ("CancelRequested", "Canceled")
    assert admin.jobs.wait(job.name, timeout=60).status == "Canceled"


def test_a_reader_cannot_invoke_but_a_data_scientist_can(
    server: Server, admin: Client, heart: Path, code: Path
) -> None:
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    admin.batch_deployments.create_or_update(scoring_deployment(code))
    path = admin.datastores.upload(heart)
    with server.client(server.user_with_role("rita", "reader")) as reader:
        assert [e.name for e in reader.batch_endpoints.list()] == ["heart"]
        with pytest.raises(PermissionDeniedError, match="batch-endpoints/jobs/write"):
            reader.batch_endpoints.invoke("heart", input=path)
    with server.client(server.user_with_role("sam", "data-scientist")) as scientist:
        job = scientist.batch_endpoints.invoke("heart", input=path)
        assert job.created_by == "sam"
        assert scientist.jobs.wait(job.name, timeout=120).status == "Completed"


def test_a_summary_only_script_writes_its_own_files(
    admin: Client, heart: Path, code: Path, tmp_path: Path
) -> None:
    (code / "own.py").write_text(
        "import os\n"
        "def run(mini_batch):\n"
        "    for path in mini_batch:\n"
        "        seen = os.path.join(os.environ['WHARF_OUTPUT_DIR'], 'seen')\n"
        "        os.makedirs(seen, exist_ok=True)\n"
        "        open(os.path.join(seen, os.path.basename(path)), 'w').close()\n"
    )
    admin.batch_endpoints.create_or_update(BatchEndpoint(name="heart"))
    deployment = scoring_deployment(code, "own", "own.py")
    deployment.settings["output_action"] = "summary_only"
    admin.batch_deployments.create_or_update(deployment)
    job = admin.batch_endpoints.invoke("heart", input=str(heart))
    final = admin.jobs.wait(job.name, timeout=60)
    assert final.status == "Completed", final.error
    assert final.outputs["score"].type == "uri_folder"
    folder = admin.jobs.download(job.name, download_path=tmp_path)
    assert folder == tmp_path / "score"
    assert sorted(p.name for p in (folder / "seen").iterdir()) == [
        f"heart-{n}.csv" for n in range(4)
    ]
