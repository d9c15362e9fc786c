"""An MLflow model deployed without a scoring script, end to end, as an Azure ML user does it.

The model is trained and saved in the test, with ``mlflow.sklearn.save_model`` and a signature,
in an environment built for the test (uv, from the machine's cache, into a temporary folder):
MLflow is never installed in Wharf's own environment. It is registered with
``--type mlflow_model`` and deployed by a YAML with no code and no environment.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from uv import find_uv_bin

from tests.processes import RunningWharf, run_wharf_up

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

# What the test's training environment installs: a small MLflow, and what the model needs.
TRAINING_PACKAGES = ("mlflow-skinny>=3.1,<4", "scikit-learn>=1.5,<2", "pandas>=2.2,<4")
ROWS = (76, 76, 76, 75)  # 303 rows, as the heart-disease data set has, in four files
JOB_TIMEOUT = 300

TRAIN = """\
import csv, glob, json, os, sys
import importlib.metadata as metadata

import cloudpickle, mlflow, numpy, pandas, sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

model_dir, data_dir = sys.argv[1], sys.argv[2]
generator = numpy.random.default_rng(7)
train = pandas.DataFrame({
    "age": generator.integers(29, 78, 500).astype("int64"),
    "chol": generator.normal(240.0, 50.0, 500),
})
target = ((train.age > 55) & (train.chol > 220)).astype("int64")
model = LogisticRegression(max_iter=1000).fit(train, target)
requirements = [
    f"mlflow-skinny=={metadata.version('mlflow-skinny')}",
    f"scikit-learn=={sklearn.__version__}",
    f"cloudpickle=={cloudpickle.__version__}",
    f"pandas=={pandas.__version__}",
    f"numpy=={numpy.__version__}",
]
mlflow.sklearn.save_model(
    model,
    model_dir,
    signature=infer_signature(train, model.predict(train)),
    serialization_format="cloudpickle",
    pip_requirements=requirements,
)
expected = []
for path in sorted(glob.glob(os.path.join(data_dir, "*.csv"))):
    frame = pandas.read_csv(path)
    expected += [int(p) for p in model.predict(frame)]
print(json.dumps(expected))
"""

DEPLOYMENT = """\
$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json
endpoint_name: heart-mlflow
name: {name}
description: A heart condition classifier, an MLflow model without a scoring script
type: model
model: azureml:heart-classifier@latest
compute: azureml:batch-cluster
resources:
  instance_count: 1
settings:
  max_concurrency_per_instance: 2
  mini_batch_size: 2
  output_action: append_row
  output_file_name: predictions.csv
  retry_settings:
    max_retries: 1
    timeout: 300
  error_threshold: -1
  logging_level: info
"""


@dataclass
class Deployed:
    wharf: RunningWharf
    work: Path
    expected: list[int]

    def cli(self, *args: str) -> str:
        done = self.wharf.cli(*args)
        assert done.returncode == 0, f"wharf {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout


def build_training_environment(folder: Path) -> Path:
    """A virtual environment with MLflow and scikit-learn, from the machine's uv cache."""
    uv = find_uv_bin()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    subprocess.run(
        [uv, "venv", "--quiet", "--python", sys.executable, str(folder)],
        check=True,
        env=env,
        timeout=300,
    )
    python = folder / "bin" / "python"
    subprocess.run(
        [uv, "pip", "install", "--quiet", "--python", str(python), *TRAINING_PACKAGES],
        check=True,
        env=env,
        timeout=600,
    )
    return python


def write_data(folder: Path) -> None:
    folder.mkdir(parents=True)
    number = 0
    for index, count in enumerate(ROWS):
        lines = []
        for _ in range(count):
            lines.append(f"{29 + (number * 7) % 49},{150.0 + (number * 37) % 200:.1f}")
            number += 1
        (folder / f"heart-unlabeled-{index}.csv").write_text("age,chol\n" + "\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("mlflow")
    work = root / "work"
    write_data(work / "data")
    python = build_training_environment(root / "training-env")
    trained = subprocess.run(
        [str(python), "-c", TRAIN, str(work / "model"), str(work / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert trained.returncode == 0, trained.stderr
    expected = json.loads(trained.stdout.strip().splitlines()[-1])
    with run_wharf_up(root) as wharf:
        deployed = Deployed(wharf, work, expected)
        deployed.cli(
            "model", "create", "--name", "heart-classifier", "--type", "mlflow_model",
            "--path", str(work / "model"),
        )  # fmt: skip
        deployed.cli("batch-endpoint", "create", "--name", "heart-mlflow")
        for name, extra in (("per-file", ""), ("rows", "  mini_batch_rows: 50\n")):
            (work / f"{name}.yml").write_text(DEPLOYMENT.format(name=name) + extra)
            deployed.cli("batch-deployment", "create", "-f", str(work / f"{name}.yml"))
        yield deployed


def run_and_read(deployed: Deployed, deployment: str, into: str) -> list[dict[str, str]]:
    job = deployed.cli(
        "batch-endpoint", "invoke", "--name", "heart-mlflow", "--deployment-name", deployment,
        "--input", str(deployed.work / "data"), "--query", "name", "-o", "tsv",
    ).strip()  # fmt: skip
    streamed = deployed.wharf.cli("job", "stream", job)
    assert streamed.returncode == 0, streamed.stdout + streamed.stderr
    out = deployed.cli(
        "job", "download", job, "--output-name", "score", "--path", str(deployed.work / into)
    )
    path = Path(out.strip().splitlines()[-1])
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def expected_places() -> list[tuple[str, str]]:
    return [
        (f"heart-unlabeled-{index}.csv", str(row))
        for index, count in enumerate(ROWS)
        for row in range(1, count + 1)
    ]


def test_model_show_lists_flavours_signature_and_requirements(deployed: Deployed) -> None:
    shown = deployed.cli("model", "show", "-n", "heart-classifier", "--label", "latest")
    assert "flavors: python_function, sklearn" in shown
    assert "signature inputs: age: long, chol: double" in shown
    assert "requirements (requirements.txt): mlflow-skinny==" in shown
    found = json.loads(deployed.cli("model", "show", "heart-classifier", "-o", "json"))
    assert found["flavor"] == "mlflow"
    assert found["properties"]["mlflow"]["signature"]["inputs"][0]["name"] == "age"
    deployment = json.loads(
        deployed.cli(
            "batch-deployment", "show", "-n", "per-file", "--endpoint-name", "heart-mlflow",
            "-o", "json",
        )
    )  # fmt: skip
    assert deployment["kind"] == "mlflow_model"
    assert deployment["environment"]["source"] == "model"


@pytest.mark.parametrize(("deployment", "into"), [("per-file", "out-files"), ("rows", "out-rows")])
def test_predictions_in_input_order_with_file_and_row(
    deployed: Deployed, deployment: str, into: str
) -> None:
    rows = run_and_read(deployed, deployment, into)
    assert len(rows) == sum(ROWS) == 303
    assert list(rows[0]) == ["prediction", "file", "row"]
    assert [(r["file"], r["row"]) for r in rows] == expected_places()
    assert [int(r["prediction"]) for r in rows] == deployed.expected


def test_a_file_the_model_cannot_read_fails_its_mini_batch(deployed: Deployed) -> None:
    mixed = deployed.work / "mixed"
    mixed.mkdir()
    (mixed / "heart.csv").write_text("age,chol\n60,250.0\n")
    (mixed / "scan.png").write_bytes(b"\x89PNG\r\n")
    job = json.loads(
        deployed.cli(
            "batch-endpoint", "invoke", "--name", "heart-mlflow", "--deployment-name",
            "per-file", "--input", str(mixed), "--set", "settings.mini_batch_size=1",
            "--set", "settings.error_threshold=0", "-o", "json",
        )
    )  # fmt: skip
    deployed.wharf.cli("job", "stream", job["name"])
    shown = json.loads(deployed.cli("job", "show", job["name"], "-o", "json"))
    assert shown["status"] == "Failed"
    assert "scan.png" in shown["error"]
    assert "reads CSV and Parquet files, not .png files" in shown["error"]
