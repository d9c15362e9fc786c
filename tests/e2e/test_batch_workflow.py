"""Batch endpoints as a new user runs them, with real processes: ``wharf up``, the CLI, the SDK
and plain HTTP, uv environments and batch worker processes.

One server for the module: a data asset of 20 CSV files, an endpoint with a scoring-script
deployment (the default), a model project's ``predict`` deployment and a scoring script that
fails on one file; a second endpoint with a component deployment. Jobs are invoked every way
there is and their outputs checked row by row.
"""

from __future__ import annotations

import csv
import json
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.filemodes import find_open_modes
from tests.processes import RunningWharf, run_wharf_up
from wharf import Client, Input
from wharf.sdk import FINAL_STATES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

FILES = 20
ROWS_PER_FILE = 3
JOB_TIMEOUT = 180

SCORE = """\
import csv, os

def init():
    global factor
    with open(os.path.join(os.environ["WHARF_MODEL_DIR"], "factor.txt")) as handle:
        factor = int(handle.read())

def run(mini_batch):
    rows = []
    for path in mini_batch:
        name = os.path.basename(path)
        if name == os.environ.get("FAIL_ON"):
            raise ValueError("cannot score " + name)
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({"file": name, "id": row["id"], "risk": int(row["age"]) * factor})
    return rows
"""

PREDICT = '''\
"""The heart model: risk from age."""


def predict(args: dict) -> dict:
    return {"id": args["id"], "risk": args["age"] * 2}
'''

COMPONENT = """\
import os, shutil

def main(data, label, repeat, summary, copies):
    files = sorted(name for name in os.listdir(data) if name.endswith(".csv"))
    with open(summary, "w") as handle:
        handle.write(f"{label}: {len(files)} files\\n" * repeat)
    for name in files[:repeat]:
        shutil.copy(os.path.join(data, name), os.path.join(copies, name))
"""

SCORE_DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: score
endpoint_name: heart
type: model
description: risk from a scoring script
model: azureml:heart-factor@latest
code_configuration:
  code: ./score
  scoring_script: score.py
environment:
  requirements: ./score/requirements.txt
settings:
  mini_batch_size: 3
  max_concurrency_per_instance: 2
  output_file_name: predictions.csv
resources:
  instance_count: 1
"""

PREDICT_DEPLOYMENT = """\
name: predict
endpoint_name: heart
type: model
code_configuration:
  code: ./my_model
settings:
  mini_batch_size: 5
"""

FLAKY_DEPLOYMENT = """\
name: flaky
endpoint_name: heart
type: model
model: model:heart-factor@latest
code_configuration:
  code: ./score
  scoring_script: score.py
environment:
  requirements: []
settings:
  mini_batch_size: 1
  retry_settings: {max_retries: 0, timeout: 60}
  environment_variables: {FAIL_ON: heart-007.csv}
"""

COMPONENT_DEPLOYMENT = """\
name: summarize
endpoint_name: heart-tools
type: component
code_configuration:
  code: ./component
entry: summary:main
inputs:
  data: {type: uri_folder}
  label: {type: string}
  repeat: {type: integer}
outputs:
  summary: {type: uri_file}
  copies: {type: uri_folder}
"""


@dataclass
class Batch:
    wharf: RunningWharf
    work: Path
    token: str

    def cli_json(self, *args: str, token: str | None = None) -> dict[str, object]:
        done = self.wharf.cli(*args, "--output", "json", token=token)
        assert done.returncode == 0, done.stdout + done.stderr
        found = json.loads(done.stdout)
        assert isinstance(found, dict)
        return found

    def client(self, token: str | None = None) -> Client:
        return Client(self.wharf.url, token=token or self.token)

    @property
    def api(self) -> str:
        return f"{self.wharf.url}/api/v1/workspaces/default"


def write_project(work: Path) -> None:
    heart = work / "heart"
    heart.mkdir(parents=True)
    for n in range(FILES):
        rows = "".join(f"{n * 100 + r},{30 + r},{200 + n}\n" for r in range(ROWS_PER_FILE))
        (heart / f"heart-{n:03d}.csv").write_text("id,age,chol\n" + rows)
    (work / "factor").mkdir()
    (work / "factor" / "factor.txt").write_text("3\n")
    (work / "score").mkdir()
    (work / "score" / "score.py").write_text(SCORE)
    (work / "score" / "requirements.txt").write_text("# the standard library is enough\n")
    (work / "component").mkdir()
    (work / "component" / "summary.py").write_text(COMPONENT)
    for name, text in (
        ("score.yml", SCORE_DEPLOYMENT),
        ("predict.yml", PREDICT_DEPLOYMENT),
        ("flaky.yml", FLAKY_DEPLOYMENT),
        ("component.yml", COMPONENT_DEPLOYMENT),
    ):
        (work / name).write_text(text)
    (work / "endpoint.yml").write_text(
        "$schema: https://azuremlschemas.azureedge.net/latest/batchEndpoint.schema.json\n"
        "name: heart\ndescription: heart disease risk\nauth_mode: aad_token\n"
    )


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Batch]:
    """A server with the data, the model, both endpoints and every deployment, made with the
    CLI as a new user would."""
    root = tmp_path_factory.mktemp("batch")
    work = root / "work"
    write_project(work)
    with run_wharf_up(root) as wharf:
        config = tomllib.loads((root / "config" / "config.toml").read_text())
        batch = Batch(wharf=wharf, work=work, token=config["token"])

        def ok(*args: str) -> str:
            done = wharf.cli(*args)
            assert done.returncode == 0, f"wharf {' '.join(args)}:\n{done.stdout}{done.stderr}"
            return done.stdout

        ok(
            "data",
            "create",
            "--name",
            "heart",
            "--type",
            "uri_folder",
            "--path",
            str(work / "heart"),
        )
        ok("model", "create", "--name", "heart-factor", "--path", str(work / "factor"))
        ok("batch-endpoint", "create", "-f", str(work / "endpoint.yml"))
        ok("batch-endpoint", "create", "--name", "heart-tools")
        ok("init", "--no-input", "-o", str(work))
        (work / "my_model" / "prediction.py").write_text(PREDICT)
        ok("batch-deployment", "create", "-f", str(work / "score.yml"))
        ok("batch-deployment", "create", "-f", str(work / "predict.yml"))
        ok("batch-deployment", "create", "-f", str(work / "flaky.yml"))
        ok("batch-deployment", "create", "-f", str(work / "component.yml"), "--set-default")
        yield batch


def wait_for_job(batch: Batch, name: str) -> dict[str, object]:
    """``wharf job stream`` until the job ends (plain lines: not a terminal); the final job."""
    streamed = batch.wharf.cli("job", "stream", name)
    shown = batch.cli_json("job", "show", name)
    assert shown["status"] in FINAL_STATES
    assert (streamed.returncode == 0) == (shown["status"] == "Completed"), streamed.stderr
    assert "Traceback (most recent call last)" not in streamed.stderr
    return shown


def expected_rows(skip_file: int | None = None) -> list[tuple[int, int]]:
    return [
        (n * 100 + r, 30 + r) for n in range(FILES) if n != skip_file for r in range(ROWS_PER_FILE)
    ]


def check_predictions(path: Path, header: list[str], factor: int, skip: int | None = None) -> None:
    """One row per input row, in input order, under one header row."""
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == header
    ids = [int(row[header.index("id")]) for row in rows[1:]]
    risks = [int(row[header.index("risk")]) for row in rows[1:]]
    expected = expected_rows(skip)
    assert ids == [i for i, _ in expected]
    assert risks == [age * factor for _, age in expected]


def download(batch: Batch, job: str, output: str, into: Path) -> Path:
    done = batch.wharf.cli("job", "download", job, "--output-name", output, "--path", str(into))
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def test_endpoint_shows_its_default_deployment_and_invoke_url(batch: Batch) -> None:
    shown = batch.cli_json("batch-endpoint", "show", "heart")
    assert shown["default_deployment"] == "score", "the first deployment is the default"
    assert sorted(shown["deployments"]) == ["flaky", "predict", "score"]  # type: ignore[call-overload]
    assert shown["invoke_url"] == f"{batch.api}/batch-endpoints/heart/jobs"
    listed = batch.wharf.cli("batch-deployment", "list", "--endpoint-name", "heart")
    assert listed.returncode == 0, listed.stderr
    assert "scoring_script" in listed.stdout
    assert "model_project" in listed.stdout
    deployment = batch.cli_json("batch-deployment", "show", "score", "--endpoint-name", "heart")
    assert deployment["model"] == "model:heart-factor:1", "pinned at create"
    assert deployment["settings"]["mini_batch_size"] == 3  # type: ignore[index]

    bad = batch.wharf.cli("batch-endpoint", "create", "--name", "9lives")
    assert bad.returncode == 1
    assert bad.stderr.startswith("Error:")
    assert "Traceback" not in bad.stderr


def test_cli_invoke_on_the_default_deployment_then_stream_and_download(
    batch: Batch, tmp_path: Path
) -> None:
    job = batch.cli_json(
        "batch-endpoint", "invoke", "--name", "heart",
        "--input", "data:heart@latest", "--input-type", "uri_folder",
        "--experiment-name", "nightly",
    )  # fmt: skip
    assert job["deployment"] == "score"
    assert job["status"] == "Queued"
    final = wait_for_job(batch, str(job["name"]))
    assert final["status"] == "Completed", final["error"]
    assert final["experiment_name"] == "nightly"
    assert final["created_by"] == "admin"
    progress = final["progress"]
    assert progress["mini_batches_total"] == 7  # type: ignore[index]
    assert progress["items_done"] == FILES  # type: ignore[index]
    saved = download(batch, str(job["name"]), "score", tmp_path)
    assert saved.name == "predictions.csv"
    check_predictions(saved, ["file", "id", "risk"], factor=3)

    listed = batch.wharf.cli("job", "list", "--endpoint-name", "heart")
    assert str(job["name"]) in listed.stdout


def test_cli_invoke_uploads_a_local_folder_for_the_predict_deployment(
    batch: Batch, tmp_path: Path
) -> None:
    job = batch.cli_json(
        "batch-endpoint", "invoke", "--name", "heart", "--deployment-name", "predict",
        "--input", str(batch.work / "heart"), "--mini-batch-size", "4",
    )  # fmt: skip
    assert job["deployment"] == "predict"
    assert str(job["inputs"]["input"]["path"]).startswith(  # type: ignore[index]
        "wharf://datastores/default/paths/LocalUpload/"
    )
    final = wait_for_job(batch, str(job["name"]))
    assert final["status"] == "Completed", final["error"]
    assert final["progress"]["mini_batches_total"] == 5  # type: ignore[index]
    check_predictions(download(batch, str(job["name"]), "score", tmp_path), ["id", "risk"], 2)


def test_sdk_invoke_stream_and_download(batch: Batch, tmp_path: Path) -> None:
    with batch.client() as client:
        job = client.batch_endpoints.invoke(
            endpoint_name="heart",
            deployment_name="predict",
            inputs={"heart": Input(type="uri_folder", path="data:heart@latest")},
            experiment_name="from-a-notebook",
        )
        lines: list[str] = []
        final = client.jobs.stream(job.name, on_line=lines.append, on_update=lambda j: None)
        assert final.status == "Completed", final.error
        assert final.experiment_name == "from-a-notebook"
        assert final.inputs["heart"].reference == "data:heart:1"
        saved = client.jobs.download(job.name, output_name="score", download_path=tmp_path)
    check_predictions(saved, ["id", "risk"], factor=2)


def test_rest_native_and_azure_bodies_with_idempotency(batch: Batch, tmp_path: Path) -> None:
    url = f"{batch.api}/batch-endpoints/heart/jobs"
    auth = {"Authorization": f"Bearer {batch.token}"}
    native = {
        "inputs": {"heart": {"type": "uri_folder", "path": "data:heart@latest"}},
        "experiment_name": "rest",
        "params_override": {"mini_batch_size": 10},
    }
    first = httpx.post(url, json=native, headers={**auth, "Idempotency-Key": "k-1"}, timeout=30)
    assert first.status_code == 201, first.text
    again = httpx.post(url, json=native, headers={**auth, "Idempotency-Key": "k-1"}, timeout=30)
    assert again.status_code == 200, again.text
    assert again.json()["name"] == first.json()["name"]

    azure = {
        "properties": {
            "InputData": {"heart": {"JobInputType": "UriFolder", "Uri": "azureml:heart@latest"}},
            "OutputData": {
                "score": {
                    "JobOutputType": "UriFile",
                    "Uri": "azureml://datastores/default/paths/runs/azure-body.csv",
                }
            },
            "properties": {"experimentName": "azure"},
        }
    }
    headers = {**auth, "azureml-model-deployment": "predict", "Repeatability-Request-ID": "r-1"}
    second = httpx.post(url, json=azure, headers=headers, timeout=30)
    assert second.status_code == 201, second.text
    assert second.json()["deployment"] == "predict"
    retried = httpx.post(url, json=azure, headers=headers, timeout=30)
    assert retried.json()["name"] == second.json()["name"]

    for created, header, factor in (
        (first.json(), ["file", "id", "risk"], 3),
        (second.json(), ["id", "risk"], 2),
    ):
        final = wait_for_job(batch, created["name"])
        assert final["status"] == "Completed", final["error"]
        saved = download(batch, created["name"], "score", tmp_path / created["name"])
        check_predictions(saved, header, factor)
    assert saved.name == "azure-body.csv", "a uri_file output path names the file"
    shown = batch.cli_json("job", "show", second.json()["name"])
    assert shown["outputs"]["score"]["path"] == (  # type: ignore[index]
        "wharf://datastores/default/paths/runs/azure-body.csv"
    )


def test_component_with_a_string_and_an_integer_literal_and_two_outputs(
    batch: Batch, tmp_path: Path
) -> None:
    job = batch.cli_json(
        "batch-endpoint", "invoke", "--name", "heart-tools",
        "--set", "inputs.data.type=uri_folder", "inputs.data.path=data:heart@latest",
        "inputs.label=clinics", "inputs.repeat=2",
    )  # fmt: skip
    assert job["deployment"] == "summarize"
    final = wait_for_job(batch, str(job["name"]))
    assert final["status"] == "Completed", final["error"]
    summary = download(batch, str(job["name"]), "summary", tmp_path)
    assert summary.read_text() == "clinics: 20 files\n" * 2
    copies = download(batch, str(job["name"]), "copies", tmp_path)
    assert sorted(p.name for p in copies.iterdir()) == ["heart-000.csv", "heart-001.csv"]

    bad = batch.wharf.cli(
        "batch-endpoint", "invoke", "--name", "heart-tools",
        "--set", "inputs.data.path=data:heart@latest", "inputs.label=x", "inputs.repeat=two",
    )  # fmt: skip
    assert bad.returncode == 1
    assert "input 'repeat' must be an integer, got 'two'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_error_threshold_minus_one_completes_and_zero_fails_with_the_root_cause(
    batch: Batch, tmp_path: Path
) -> None:
    tolerant = batch.cli_json(
        "batch-endpoint", "invoke", "--name", "heart", "-d", "flaky",
        "--input", "data:heart@latest", "--set", "settings.error_threshold=-1",
    )  # fmt: skip
    strict = batch.cli_json(
        "batch-endpoint", "invoke", "--name", "heart", "-d", "flaky",
        "--input", "data:heart@latest", "--set", "settings.error_threshold=0",
    )  # fmt: skip

    completed = wait_for_job(batch, str(tolerant["name"]))
    assert completed["status"] == "Completed", completed["error"]
    assert completed["progress"]["mini_batches_failed"] == 1  # type: ignore[index]
    assert completed["progress"]["items_failed"] == 1  # type: ignore[index]
    (failure,) = completed["failures"]  # type: ignore[misc]
    assert failure["items"] == ["heart-007.csv"]
    assert "ValueError: cannot score heart-007.csv" in failure["root_cause"]
    saved = download(batch, str(tolerant["name"]), "score", tmp_path)
    check_predictions(saved, ["file", "id", "risk"], factor=3, skip=7)

    streamed = batch.wharf.cli("job", "stream", str(strict["name"]))
    assert streamed.returncode == 1
    failed = batch.cli_json("job", "show", str(strict["name"]))
    assert failed["status"] == "Failed"
    error = str(failed["error"])
    assert "run() raised ValueError: cannot score heart-007.csv" in error
    assert error in streamed.stderr
    assert "Traceback" not in streamed.stderr


def test_a_reader_gets_403_and_a_data_scientist_can_invoke(batch: Batch) -> None:
    with batch.client() as admin:
        tokens = {}
        for user, role in (("rita", "reader"), ("sam", "data-scientist")):
            admin.users.create(user)
            admin.members.assign(user, role)
            tokens[user] = admin.tokens.create(user=user).token

    refused = batch.wharf.cli(
        "batch-endpoint", "invoke", "--name", "heart", "--input", "data:heart@latest",
        token=tokens["rita"],
    )  # fmt: skip
    assert refused.returncode == 1
    assert "batch-endpoints/jobs/write" in refused.stderr
    url = f"{batch.api}/batch-endpoints/heart/jobs"
    body = {"inputs": {"heart": {"type": "uri_folder", "path": "data:heart@latest"}}}
    as_reader = httpx.post(url, json=body, headers={"Authorization": f"Bearer {tokens['rita']}"})
    assert as_reader.status_code == 403

    with batch.client(tokens["sam"]) as sam:
        job = sam.batch_endpoints.invoke("heart", input="data:heart@latest")
        assert job.created_by == "sam"
        final = sam.jobs.wait(job.name, timeout=JOB_TIMEOUT)
    assert final.status == "Completed", final.error


def test_every_file_the_server_made_under_the_data_dir_is_private(batch: Batch) -> None:
    # After environments were built and a job ran (one more here, whatever ran before).
    with batch.client() as admin:
        job = admin.batch_endpoints.invoke("heart", input="data:heart@latest")
        final = admin.jobs.wait(job.name, timeout=JOB_TIMEOUT)
    assert final.status == "Completed", final.error
    data_dir = Path(batch.wharf.env["WHARF_DATA_DIR"])
    assert (data_dir / "wharf.db").exists()
    assert any((data_dir / "envs").iterdir())
    assert find_open_modes(data_dir) == []
