"""The batch worker in a deployment environment that is not Wharf's: a throwaway venv holding
only pandas and pyarrow (no Wharf, no pydantic). DataFrames in and out, Parquet in and out."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from wharf.batch.engine import BatchJob, run_job
from wharf.batch.launch import ModelProject, Scorer, ScoringScript
from wharf.batch.settings import BatchSettings
from wharf.batch.state import MemoryStateStore

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def env_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with pandas and pyarrow only, made with uv (from its cache when warm)."""
    venv = tmp_path_factory.mktemp("deployment-env") / "venv"
    uv = [sys.executable, "-m", "uv"]
    made = subprocess.run([*uv, "venv", "--python", sys.executable, str(venv)], capture_output=True)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [*uv, "pip", "install", "--python", str(python), "pandas", "pyarrow"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if made.returncode or installed.returncode:
        pytest.skip(f"cannot build a pandas environment with uv: {installed.stderr[-300:]}")
    return python


def in_env(python: Path, source: str) -> str:
    """Run code in the deployment environment; its stdout."""
    done = subprocess.run(
        [str(python), "-c", textwrap.dedent(source)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def make_job(tmp_path: Path, env_python: Path) -> Callable[..., BatchJob]:
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(3):
        rows = "".join(f"{n * 10 + r},{30 + r}\n" for r in range(4))
        (folder / f"part-{n}.csv").write_text("id,age\n" + rows)

    def make(source: str = "", scorer: Scorer | None = None, **settings: object) -> BatchJob:
        if scorer is None:
            (tmp_path / "code").mkdir(exist_ok=True)
            (tmp_path / "code" / "score.py").write_text(textwrap.dedent(source))
            scorer = ScoringScript(tmp_path / "code", "score.py")
        return BatchJob(
            job_id="job-env",
            scorer=scorer,
            settings=BatchSettings.model_validate(settings),
            input_path=folder,
            interpreter=env_python,
            job_dir=tmp_path / "job",
            output_dir=tmp_path / "out",
        )

    return make


def test_the_environment_has_no_wharf(env_python: Path) -> None:
    out = in_env(env_python, "import importlib.util as u; print(u.find_spec('wharf'))")
    assert out.strip() == "None"


FRAMES = """
import pandas as pd

def run(mini_batch):
    frame = pd.concat(pd.read_csv(path) for path in mini_batch)
    return frame.assign(risk=frame.age / 100.0)
"""

READ_BACK = """
import pandas as pd, sys, json
path = sys.argv[1] if len(sys.argv) > 1 else {path!r}
frame = pd.read_parquet(path) if path.endswith(".parquet") else (
    pd.read_json(path, lines=True) if path.endswith(".jsonl") else pd.read_csv(path))
print(json.dumps({{"columns": list(frame.columns), "ids": frame["id"].tolist(),
                  "risk": frame["risk"].tolist()[:2]}}))
"""


@pytest.mark.parametrize("name", ["predictions.csv", "predictions.parquet", "predictions.jsonl"])
def test_dataframes_are_written_in_each_format(
    make_job: Callable[..., BatchJob], env_python: Path, name: str
) -> None:
    job = make_job(FRAMES, output_file_name=name, mini_batch_size=1, max_concurrency_per_instance=2)
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    assert result.progress.rows_written == 12
    written = json.loads(in_env(env_python, READ_BACK.format(path=str(job.output_dir / name))))
    assert written["columns"] == ["id", "age", "risk"]
    assert written["ids"] == [n * 10 + r for n in range(3) for r in range(4)]
    assert written["risk"] == pytest.approx([0.3, 0.31])


ROWS = """
def run(mini_batch):
    return mini_batch.assign(n=len(mini_batch))
"""


def test_split_by_rows_run_gets_a_dataframe_of_its_rows(
    make_job: Callable[..., BatchJob], env_python: Path
) -> None:
    job = make_job(ROWS, mini_batch_rows=5)
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    assert result.progress.mini_batches_total == 3
    lines = (job.output_dir / "predictions.csv").read_text().splitlines()
    assert lines[0] == "id,age,n"
    assert [line.split(",")[0] for line in lines[1:]] == [
        str(n * 10 + r) for n in range(3) for r in range(4)
    ]
    assert [line.split(",")[2] for line in lines[1:]] == ["5"] * 10 + ["2"] * 2


PREDICTION = """
def predict(args):
    return {"id": args["id"], "double": args["value"] * 2, "kind": type(args["value"]).__name__}
"""


def test_a_model_project_scores_parquet_rows_read_by_row_group(
    make_job: Callable[..., BatchJob], env_python: Path, tmp_path: Path
) -> None:
    parquet_in = tmp_path / "parquet-in"
    parquet_in.mkdir()
    in_env(
        env_python,
        f"""
        import pyarrow as pa, pyarrow.parquet as pq
        for n in range(2):
            table = pa.table({{"id": list(range(n * 100, n * 100 + 10)), "value": [1.5] * 10}})
            pq.write_table(table, {str(parquet_in)!r} + f"/p{{n}}.parquet", row_group_size=4)
        """,
    )
    project = tmp_path / "project"
    project.mkdir()
    (project / "prediction.py").write_text(PREDICTION)
    job = make_job(scorer=ModelProject(project), mini_batch_rows=3, output_file_name="o.jsonl")
    job = BatchJob(**{**job.__dict__, "input_path": parquet_in})
    result = run_job(job, MemoryStateStore())
    assert result.status == "completed", result.error
    assert result.progress.mini_batches_total == 7  # 20 rows, 3 at a time
    rows = [json.loads(line) for line in (job.output_dir / "o.jsonl").read_text().splitlines()]
    assert [row["id"] for row in rows] == [*range(10), *range(100, 110)]
    assert rows[0] == {"id": 0, "double": 3.0, "kind": "float"}


def test_parquet_output_without_pyarrow_fails_before_any_work(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.csv").write_text("x\n1\n")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text("def run(b):\n    return b\n")
    job = BatchJob(
        job_id="job-no-pyarrow",
        scorer=ScoringScript(tmp_path / "code", "score.py"),
        settings=BatchSettings(output_file_name="p.parquet"),
        input_path=tmp_path / "in",
        interpreter=Path(sys.executable),  # Wharf's own venv: no pyarrow
        job_dir=tmp_path / "job",
        output_dir=tmp_path / "out",
    )
    result = run_job(job, MemoryStateStore())
    assert result.status == "failed"
    assert result.error == (
        "starting the worker raised RuntimeError: "
        "writing Parquet output needs pyarrow in the deployment's requirements"
    )
