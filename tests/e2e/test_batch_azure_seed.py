"""The Azure batch-endpoint page, typed as written: its CLI lines, ``inputs.yml`` files, SDK
calls and REST bodies, with Wharf's names in place of the placeholders.

One server for the module (``wharf up`` with an HTTPS file site on loopback that it trusts),
one data asset ``heart-dataset-unlabeled`` registered from the page's YAML, an endpoint whose
deployment registers its model inline and scores with a script that finds the model the way
Azure's scripts do (``glob`` under ``AZUREML_MODEL_DIR``), and a component deployment.
"""

from __future__ import annotations

import csv
import datetime
import functools
import ipaddress
import json
import ssl
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.batchfiles import wait_for_job
from tests.processes import RunningWharf, run_wharf_up
from wharf import Client, Input
from wharf.sdk import Output

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

FILES = 3
ROWS = 4
JOB_TIMEOUT = 180
LOCATION_FORM = "azureml://locations/chinaeast2/workspaces/default/data/heart-dataset-unlabeled/versions/labels/"

SCORE = """\
import csv, glob, os

def init():
    global factor
    # As Azure's scoring scripts do: the model's folder is the one inside AZUREML_MODEL_DIR.
    (model_path,) = glob.glob(os.path.join(os.environ["AZUREML_MODEL_DIR"], "*"))
    with open(os.path.join(model_path, "factor.txt")) as handle:
        factor = int(handle.read())
    assert os.path.isfile(os.path.join(os.environ["WHARF_MODEL_DIR"], "factor.txt"))

def run(mini_batch):
    rows = []
    for path in mini_batch:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({"file": os.path.basename(path), "risk": int(row["age"]) * factor})
    return rows
"""

DATA_YAML = """\
$schema: https://azuremlschemas.azureedge.net/latest/data.schema.json
name: heart-dataset-unlabeled
description: An unlabeled dataset for heart classification.
type: uri_folder
path: heart-classifier-mlflow/data
"""

DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
name: classifier-script
endpoint_name: heart-seed
type: model
model:
  name: heart-classifier-factor
  path: ./model
code_configuration:
  code: ./code
  scoring_script: score.py
environment:
  name: batch-env
  version: 1
  conda_file: ./conda.yml
settings:
  mini_batch_size: 2
  output_file_name: predictions.csv
"""

CONDA = """\
name: model-env
channels:
  - conda-forge
dependencies:
  - python=3.4
  - numpy=1.26
  - pip
  - pip: []
"""

COMPONENT = """\
import os

def main(data, summary):
    with open(summary, "w") as handle:
        handle.write("%d files\\n" % len(os.listdir(data)))
"""

COMPONENT_DEPLOYMENT = """\
name: summarize
endpoint_name: heart-tools-seed
type: component
code_configuration:
  code: ./component
component:
  name: summarize
  version: 1
  entry: summary:main
  inputs:
    data:
      type: uri_folder
      default: azureml:heart-dataset-unlabeled@latest
  outputs:
    summary: {type: uri_file}
"""


PREPARE = """\
import argparse, csv, glob, os

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--out")
args = parser.parse_args()
ages = []
for path in sorted(glob.glob(os.path.join(args.data, "*.csv"))):
    with open(path, newline="") as handle:
        ages += [row["age"] for row in csv.DictReader(handle)]
with open(os.path.join(args.out, "prepared.csv"), "w") as handle:
    handle.write("age\\n" + "".join(age + "\\n" for age in ages))
print("prepared", len(ages), "rows")
"""

SCORE_STEP = """\
import argparse, csv, os

parser = argparse.ArgumentParser()
parser.add_argument("--data")
parser.add_argument("--mode")
parser.add_argument("--out")
args = parser.parse_args()
if args.mode not in ("append", "overwrite"):
    raise SystemExit(f"unknown score mode {args.mode!r}")
with open(os.path.join(args.data, "prepared.csv"), newline="") as handle:
    ages = [int(row["age"]) for row in csv.DictReader(handle)]
with open(os.path.join(args.out, "scores.csv"), "w") as handle:
    handle.write("age,risk,mode\\n")
    handle.writelines(f"{age},{age * 2},{args.mode}\\n" for age in ages)
"""

PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponent.schema.json
type: pipeline
name: heart-pipeline
version: 1
inputs:
  heart_dataset:
    type: uri_folder
  score_mode:
    type: string
    default: append
outputs:
  scores:
    type: uri_folder
jobs:
  prepare:
    type: command
    component:
      code: ./prepare
      command: python prep.py --data ${{inputs.data}} --out ${{outputs.prepared}}
      environment:
        conda_file: ../conda.yml
    inputs:
      data: ${{parent.inputs.heart_dataset}}
    outputs:
      prepared:
        type: uri_folder
  score:
    type: command
    code: ./score
    command: >-
      python score.py --data ${{inputs.prepared}} --mode ${{inputs.mode}}
      --out ${{outputs.scores}}
    environment:
      requirements: []
    inputs:
      prepared: ${{parent.jobs.prepare.outputs.prepared}}
      mode: ${{parent.inputs.score_mode}}
    outputs:
      scores: ${{parent.outputs.scores}}
"""

PIPELINE_DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json
name: hello-batch-dpl
endpoint_name: heart-pipeline
type: pipeline
component: ./pipeline/pipeline.yml
settings:
  default_compute: batch-cluster
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Tests read results, not access logs."""


@dataclass
class Seed:
    wharf: RunningWharf
    work: Path
    token: str
    site: str

    def cli(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = self.wharf.cli(*args) if env is None else self._cli_env(args, env)
        assert done.returncode == 0, f"wharf {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout

    def _cli_env(self, args: tuple[str, ...], env: dict[str, str]) -> Any:
        import subprocess

        from tests.processes import WHARF

        return subprocess.run(
            [WHARF, *args],
            env={**self.wharf.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=self.work,
        )

    def sh(self, *args: str) -> str:
        """A line as the page types it: az's JSON output (WHARF_OUTPUT=json), run in the
        project folder so that relative paths are the page's."""
        done = self._cli_env(args, {"WHARF_OUTPUT": "json"})
        assert done.returncode == 0, f"wharf {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return str(done.stdout)

    def fails(self, *args: str) -> str:
        done = self._cli_env(args, {})
        assert done.returncode != 0, done.stdout
        assert "Traceback" not in done.stderr, done.stderr
        return str(done.stderr)

    @property
    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.wharf.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=60
        )

    @property
    def api(self) -> str:
        return "/api/v1/workspaces/default"

    def wait(self, job: str) -> dict[str, Any]:
        with self.http as http:
            return wait_for_job(http, self.token, job, timeout=JOB_TIMEOUT)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the server trusts it through SSL_CERT_FILE)."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="module")
def https_site(
    tmp_path_factory: pytest.TempPathFactory, tls_files: tuple[Path, Path]
) -> Iterator[str]:
    site = tmp_path_factory.mktemp("site")
    (site / "heart.csv").write_text("age\n40\n50\n")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*tls_files)
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site))
    )
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def write_project(work: Path) -> None:
    data = work / "heart-classifier-mlflow" / "data"
    data.mkdir(parents=True)
    for n in range(FILES):
        rows = "".join(f"{30 + n * 10 + r}\n" for r in range(ROWS))
        (data / f"heart-{n}.csv").write_text("age\n" + rows)
    (work / "heart.csv").write_text("age\n20\n21\n")
    (work / "model").mkdir()
    (work / "model" / "factor.txt").write_text("3\n")
    (work / "code").mkdir()
    (work / "code" / "score.py").write_text(SCORE)
    (work / "component").mkdir()
    (work / "component" / "summary.py").write_text(COMPONENT)
    (work / "conda.yml").write_text(CONDA)
    (work / "heart-dataset-unlabeled.yml").write_text(DATA_YAML)
    (work / "deployment.yml").write_text(DEPLOYMENT)
    (work / "component.yml").write_text(COMPONENT_DEPLOYMENT)
    (work / "pipeline" / "prepare").mkdir(parents=True)
    (work / "pipeline" / "score").mkdir()
    (work / "pipeline" / "prepare" / "prep.py").write_text(PREPARE)
    (work / "pipeline" / "score" / "score.py").write_text(SCORE_STEP)
    (work / "pipeline" / "pipeline.yml").write_text(PIPELINE)
    (work / "pipeline-deployment.yml").write_text(PIPELINE_DEPLOYMENT)


@pytest.fixture(scope="module")
def seed(
    tmp_path_factory: pytest.TempPathFactory, https_site: str, tls_files: tuple[Path, Path]
) -> Iterator[Seed]:
    root = tmp_path_factory.mktemp("seed")
    work = root / "work"
    write_project(work)
    env = {
        "WHARF_ALLOW_PRIVATE_URLS": "true",  # the HTTPS site is on loopback
        "SSL_CERT_FILE": str(tls_files[0]),
    }
    with run_wharf_up(root, env=env) as wharf:
        config = tomllib.loads((root / "config" / "config.toml").read_text())
        seed = Seed(wharf=wharf, work=work, token=config["token"], site=https_site)
        seed.sh("data", "create", "-f", "heart-dataset-unlabeled.yml")
        seed.sh("batch-endpoint", "create", "--name", "heart-seed")
        seed.sh("batch-deployment", "create", "-f", "deployment.yml")
        seed.sh("batch-endpoint", "create", "--name", "heart-tools-seed")
        seed.sh("batch-deployment", "create", "-f", "component.yml")
        seed.sh("batch-endpoint", "create", "--name", "heart-pipeline")
        seed.sh("batch-deployment", "create", "-f", "pipeline-deployment.yml")
        yield seed


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def download(seed: Seed, job: str, into: Path) -> Path:
    out = seed.cli("job", "download", job, "--output-name", "score", "--path", str(into))
    return Path(out.strip().splitlines()[-1])


def test_ids_as_the_page_reads_them_resolve_back(seed: Seed) -> None:
    # DATASET_ID=$(az ml data show -n heart-dataset-unlabeled --label latest | jq -r .id)
    dataset_id = json.loads(
        seed.sh("data", "show", "-n", "heart-dataset-unlabeled", "--label", "latest")
    )["id"]
    assert dataset_id == (
        "/subscriptions/wharf/resourceGroups/wharf/providers/Microsoft.MachineLearningServices"
        "/workspaces/default/data/heart-dataset-unlabeled/versions/1"
    )
    # DATASTORE_ID=$(az ml datastore show -n workspaceblobstore | jq -r '.id')
    datastore = json.loads(seed.sh("datastore", "show", "-n", "workspaceblobstore"))
    assert datastore["id"].endswith("/workspaces/default/datastores/default")
    assert datastore["is_default"]
    # --query and -o tsv, as az users script them
    assert (
        seed.cli(
            "datastore", "show", "-n", "workspaceblobstore", "--query", "id", "-o", "tsv"
        ).strip()
        == datastore["id"]
    )
    model = json.loads(
        seed.sh("model", "show", "-n", "heart-classifier-factor", "--label", "latest")
    )
    assert model["id"].endswith("/workspaces/default/models/heart-classifier-factor/versions/1")
    listed = seed.cli("data", "list", "-o", "yaml", "--query", "[].name")
    assert listed.strip() == "- heart-dataset-unlabeled"

    # az ml batch-endpoint invoke --name $ENDPOINT_NAME \
    #   --set inputs.heart_dataset.type="uri_folder" inputs.heart_dataset.path=$DATASET_ID
    first = json.loads(
        seed.sh(
            "batch-endpoint",
            "invoke",
            "--name",
            "heart-seed",
            "--set",
            "inputs.heart_dataset.type=uri_folder",
            f"inputs.heart_dataset.path={dataset_id}",
        )
    )
    assert first["inputs"]["heart_dataset"]["reference"] == "data:heart-dataset-unlabeled:1"
    # az ml batch-endpoint invoke --name $ENDPOINT_NAME --input $DATASET_ID
    second = seed.sh(
        "batch-endpoint",
        "invoke",
        "--name",
        "heart-seed",
        "--input",
        dataset_id,
        "--query",
        "name",
        "-o",
        "tsv",
    )
    # INPUT_PATH="$DATASTORE_ID/paths/$DATA_PATH"; --input $INPUT_PATH --input-type uri_folder
    upload = model["path"].split("/paths/", 1)[1].rstrip("/")
    input_path = f"{datastore['id']}/paths/{upload}"
    third = json.loads(
        seed.sh(
            "batch-endpoint",
            "invoke",
            "--name",
            "heart-seed",
            "--input",
            input_path,
            "--input-type",
            "uri_folder",
        )
    )
    assert third["inputs"]["input"]["reference"] == f"wharf://datastores/default/paths/{upload}"

    done = seed.wait(second.strip())
    assert done["status"] == "Completed", done
    rows = read_rows(download(seed, second.strip(), seed.work / "out-second"))
    # The model registered inline (factor 3) was found under AZUREML_MODEL_DIR.
    assert [int(r["risk"]) for r in rows] == [
        3 * (30 + n * 10 + r) for n in range(FILES) for r in range(ROWS)
    ]
    assert seed.wait(first["name"])["status"] == "Completed"


def test_inputs_yml_with_a_plain_string_is_a_data_input(seed: Seed) -> None:
    # inputs.yml: heart_dataset: azureml:/<datasset_name>@latest (one slash, as the page has it)
    for text in (
        "azureml:/heart-dataset-unlabeled@latest",
        "azureml:heart-dataset-unlabeled@latest",
    ):
        (seed.work / "inputs.yml").write_text(f"inputs:\n  heart_dataset: {text}\n")
        job = json.loads(
            seed.sh("batch-endpoint", "invoke", "--name", "heart-seed", "--file", "inputs.yml")
        )
        assert job["inputs"]["heart_dataset"]["type"] == "uri_folder"
        assert job["inputs"]["heart_dataset"]["reference"] == "data:heart-dataset-unlabeled:1"
    (seed.work / "inputs.yml").write_text(
        "inputs:\n  heart_dataset: azureml:/heart-dataset-missing@latest\n"
    )
    error = seed.fails("batch-endpoint", "invoke", "--name", "heart-seed", "--file", "inputs.yml")
    assert "'azureml:/heart-dataset-missing@latest'" in error
    error = seed.fails(
        "batch-endpoint", "invoke", "--name", "heart-seed", "--input", LOCATION_FORM + "oldest"
    )
    assert LOCATION_FORM + "oldest" in error


def test_rest_bodies_with_azure_uris_and_a_uri_file_output_without_extension(seed: Seed) -> None:
    datastore_id = json.loads(seed.sh("datastore", "show", "-n", "workspaceblobstore"))["id"]
    body = {
        "properties": {
            "InputData": {
                "heart_dataset": {
                    "JobInputType": "UriFolder",
                    "Uri": LOCATION_FORM + "latest",
                }
            },
            "OutputData": {
                "score": {
                    "JobOutputType": "UriFile",
                    "Uri": f"azureml:{datastore_id}/paths/batch-jobs/my-unique-path",
                }
            },
        }
    }
    with seed.http as http:
        answer = http.post(f"{seed.api}/batch-endpoints/heart-seed/jobs", json=body)
        assert answer.status_code in (200, 201, 202), answer.text
        job = answer.json()
        written_to = job["outputs"]["score"]["path"]
        assert written_to == "wharf://datastores/default/paths/batch-jobs/my-unique-path"
        assert seed.wait(job["name"])["status"] == "Completed"
        written = http.get(f"{seed.api}/datastores/default/files/batch-jobs/my-unique-path")
        assert written.status_code == 200, written.text
        rows = list(csv.DictReader(written.text.splitlines()))
        assert len(rows) == FILES * ROWS
        assert set(rows[0]) == {"file", "risk"}


def test_sdk_calls_as_written(seed: Seed) -> None:
    with Client(seed.wharf.url, token=seed.token) as ml_client:
        heart_dataset_unlabeled = ml_client.data.get(name="heart-dataset-unlabeled", label="latest")
        input = Input(path=heart_dataset_unlabeled.id)
        job = ml_client.batch_endpoints.invoke(endpoint_name="heart-seed", input=input)
        assert job.inputs["input"].reference == "data:heart-dataset-unlabeled:1"
        default_ds = ml_client.datastores.get_default()
        data_path = "batch-jobs/sdk-unique-path"
        output = Output(type="uri_file", path=f"{default_ds.id}/paths/{data_path}")
        job = ml_client.batch_endpoints.invoke(
            endpoint_name="heart-seed",
            inputs={"heart_dataset": f"{seed.site}/heart.csv"},
            outputs={"score": output},
        )
    assert job.inputs["heart_dataset"].type == "uri_file"
    assert seed.wait(job.name)["status"] == "Completed"
    with seed.http as http:
        written = http.get(f"{seed.api}/datastores/default/files/{data_path}")
    assert [row["risk"] for row in csv.DictReader(written.text.splitlines())] == ["120", "150"]


def test_a_local_file_input_and_a_missing_https_file(seed: Seed) -> None:
    # --input ./heart.csv with no --input-type: one file, as az reads it
    job = json.loads(
        seed.sh(
            "batch-endpoint",
            "invoke",
            "--endpoint-name",
            "heart-seed",
            "--input",
            "./heart.csv",
            "--set",
            "output_file_name=scored.csv",
        )
    )
    assert job["inputs"]["input"]["type"] == "uri_file"
    assert job["settings"]["output_file_name"] == "scored.csv"
    assert seed.wait(job["name"])["status"] == "Completed"
    error = seed.fails(
        "batch-endpoint",
        "invoke",
        "--name",
        "heart-seed",
        "--input",
        f"{seed.site}/missing.csv",
        "--input-type",
        "uri_file",
    )
    assert "missing.csv does not exist" in error
    with seed.http as http:
        assert (
            http.get(f"{seed.api}/jobs", params={"endpoint": "heart-seed"}).json()[0]["name"]
            == job["name"]
        )


def test_jobs_by_experiment_and_unknown_filters(seed: Seed) -> None:
    # az ml batch-endpoint invoke --name $ENDPOINT_NAME \
    #   --experiment-name "my-batch-job-experiment" --input ...
    job = json.loads(
        seed.sh(
            "batch-endpoint",
            "invoke",
            "--name",
            "heart-seed",
            "--experiment-name",
            "my-batch-job-experiment",
            "--input",
            "azureml:heart-dataset-unlabeled@latest",
        )
    )
    listed = seed.cli(
        "job",
        "list",
        "--experiment-name",
        "my-batch-job-experiment",
        "--query",
        "[].name",
        "-o",
        "tsv",
    )
    assert listed.split() == [job["name"]]
    with seed.http as http:
        found = http.get(f"{seed.api}/jobs", params={"experiment_name": "my-batch-job-experiment"})
        assert [j["name"] for j in found.json()] == [job["name"]]
        unknown = http.get(f"{seed.api}/jobs", params={"experimentName": "my-batch-job-experiment"})
        assert unknown.status_code == 422
        assert "experimentName" in unknown.json()["detail"]


def test_conda_dependencies_are_reported_not_dropped(seed: Seed) -> None:
    shown = json.loads(
        seed.sh(
            "batch-deployment",
            "show",
            "--name",
            "classifier-script",
            "--endpoint-name",
            "heart-seed",
        )
    )
    environment = shown["environment"]
    assert environment["ignored"] == ["numpy=1.26"]
    assert any("python 3.4" in note and "instead" in note for note in environment["notes"])
    table = seed.cli(
        "batch-deployment", "show", "--name", "classifier-script", "--endpoint-name", "heart-seed"
    )
    assert "ignored conda packages: numpy=1.26" in table


def test_a_component_folder_default_and_a_numeric_version(seed: Seed) -> None:
    job = json.loads(seed.sh("batch-endpoint", "invoke", "--name", "heart-tools-seed"))
    assert job["inputs"]["data"]["reference"] == "data:heart-dataset-unlabeled:1"
    assert seed.wait(job["name"])["status"] == "Completed"
    out = seed.cli(
        "job",
        "download",
        job["name"],
        "--output-name",
        "summary",
        "--path",
        str(seed.work / "summary"),
    )
    assert Path(out.strip().splitlines()[-1]).read_text() == f"{FILES} files\n"


def read_scores(seed: Seed, job: str, into: str) -> list[dict[str, str]]:
    out = seed.cli(
        "job", "download", job, "--output-name", "scores", "--path", str(seed.work / into)
    )
    folder = Path(out.strip().splitlines()[-1])
    return read_rows(folder / "scores.csv" if folder.is_dir() else folder)


ALL_AGES = [30 + n * 10 + r for n in range(FILES) for r in range(ROWS)]


def test_a_pipeline_with_a_literal_through_the_cli(seed: Seed) -> None:
    # inputs.yml with the page's literal, and the data input
    (seed.work / "pipeline-inputs.yml").write_text(
        "inputs:\n"
        "  heart_dataset: azureml:heart-dataset-unlabeled@latest\n"
        "  score_mode:\n"
        "    type: string\n"
        "    default: append\n"
    )
    job = json.loads(
        seed.sh(
            "batch-endpoint", "invoke", "--name", "heart-pipeline", "--file", "pipeline-inputs.yml"
        )
    )
    assert job["inputs"]["score_mode"]["value"] == "append"
    # --set inputs.score_mode.type="string" inputs.score_mode.default="overwrite", and no file
    other = json.loads(
        seed.sh(
            "batch-endpoint", "invoke", "--name", "heart-pipeline", "--set",
            "inputs.score_mode.type=string", "inputs.score_mode.default=overwrite",
            "inputs.heart_dataset.path=azureml:heart-dataset-unlabeled@latest",
        )
    )  # fmt: skip
    assert seed.wait(job["name"])["status"] == "Completed"
    rows = read_scores(seed, job["name"], "pipeline-cli")
    assert [int(r["age"]) for r in rows] == ALL_AGES
    assert {r["mode"] for r in rows} == {"append"}
    shown = seed.cli("job", "show", job["name"])
    assert "step prepare: Completed" in shown
    assert "step score: Completed" in shown
    # the prepare step's own output is kept for download
    kept = seed.cli(
        "job", "download", job["name"], "--output-name", "prepare.prepared",
        "--path", str(seed.work / "prepared"),
    )  # fmt: skip
    folder = Path(kept.strip().splitlines()[-1])
    prepared = folder / "prepared.csv" if folder.is_dir() else folder
    assert prepared.read_text().splitlines()[1:] == [str(a) for a in ALL_AGES]
    assert seed.wait(other["name"])["status"] == "Completed"
    assert {r["mode"] for r in read_scores(seed, other["name"], "pipeline-set")} == {"overwrite"}


def test_a_pipeline_through_the_sdk_and_rest(seed: Seed) -> None:
    with Client(seed.wharf.url, token=seed.token) as ml_client:
        job = ml_client.batch_endpoints.invoke(
            endpoint_name="heart-pipeline",
            inputs={
                "heart_dataset": Input(path="azureml:heart-dataset-unlabeled@latest"),
                "score_mode": Input(type="string", default="append"),
            },
        )
    body = {
        "properties": {
            "InputData": {
                "heart_dataset": {
                    "JobInputType": "UriFolder",
                    "Uri": "azureml:heart-dataset-unlabeled@latest",
                },
                "score_mode": {"JobInputType": "Literal", "Value": "overwrite"},
            }
        }
    }
    with seed.http as http:
        answer = http.post(f"{seed.api}/batch-endpoints/heart-pipeline/jobs", json=body)
        assert answer.status_code in (200, 201, 202), answer.text
    rest = answer.json()
    for name, mode in ((job.name, "append"), (rest["name"], "overwrite")):
        finished = seed.wait(name)
        assert finished["status"] == "Completed", finished
        assert [s["status"] for s in finished["steps"]] == ["Completed", "Completed"]
        assert {r["mode"] for r in read_scores(seed, name, f"pipeline-{mode}")} == {mode}


def test_a_failing_step_fails_the_job_naming_it(seed: Seed) -> None:
    job = json.loads(
        seed.sh(
            "batch-endpoint", "invoke", "--name", "heart-pipeline",
            "--set", "inputs.score_mode=sideways",
            "inputs.heart_dataset.path=azureml:heart-dataset-unlabeled@latest",
        )
    )  # fmt: skip
    finished = seed.wait(job["name"])
    assert finished["status"] == "Failed"
    assert finished["error"] == "step 'score' failed: exit code 1: unknown score mode 'sideways'"
    assert [(s["name"], s["status"]) for s in finished["steps"]] == [
        ("prepare", "Completed"),
        ("score", "Failed"),
    ]
