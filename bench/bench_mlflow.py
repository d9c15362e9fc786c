"""MLflow model deployment without a scoring script vs a bare multiprocessing pool, same model.

Builds a throwaway environment with uv (mlflow-skinny, scikit-learn, pandas), trains and saves a
scikit-learn model with ``mlflow.sklearn.save_model`` and a signature, writes
``WHARF_BENCH_MLFLOW_ROWS`` rows (default 1,000,000) into 100 CSV files, then, in one run and
alternating, scores them with ``run_job`` and Wharf's MLflow driver (``mini_batch_size`` 10, one
worker per core) and with a bare ``multiprocessing.Pool`` of as many processes, each loading the
same model with ``mlflow.pyfunc.load_model`` once and writing the same columns (prediction, file,
row) to one CSV. Reports the best of three rounds of each and their ratio (goal <= 1.3x).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from wharf.batch.engine import BatchJob, JobResult, run_job
from wharf.batch.launch import MlflowModel, build_worker_env
from wharf.batch.settings import BatchSettings
from wharf.batch.state import MemoryStateStore

ROWS = int(os.environ.get("WHARF_BENCH_MLFLOW_ROWS", "1000000"))
FILES = 100
MINI_BATCH_SIZE = 10
PROCESSES = os.cpu_count() or 2
ROUNDS = 3
PACKAGES = ("mlflow-skinny>=3.1,<4", "scikit-learn>=1.5,<2", "pandas>=2.2,<4")

PREPARE = """
import sys
import importlib.metadata as metadata
import cloudpickle, mlflow, numpy as np, pandas as pd, sklearn
from mlflow.models import infer_signature
from sklearn.linear_model import LogisticRegression

rows, files, data, model_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(7)
x = pd.DataFrame(rng.normal(size=(5000, 4)), columns=["f0", "f1", "f2", "f3"])
model = LogisticRegression().fit(x, (x.sum(axis=1) + rng.normal(size=5000)) > 0)
requirements = [
    f"mlflow-skinny=={metadata.version('mlflow-skinny')}",
    f"scikit-learn=={sklearn.__version__}",
    f"cloudpickle=={cloudpickle.__version__}",
    f"pandas=={pd.__version__}",
]
mlflow.sklearn.save_model(
    model, model_dir, signature=infer_signature(x, model.predict(x)),
    serialization_format="cloudpickle", pip_requirements=requirements,
)
per_file = rows // files
for n in range(files):
    frame = pd.DataFrame(rng.normal(size=(per_file, 4)).round(4), columns=["f0", "f1", "f2", "f3"])
    frame.to_csv(f"{data}/part-{n:03d}.csv", index=False)
"""

POOL = """
import time
started = time.perf_counter()
import glob, multiprocessing, os, sys
import pandas as pd

data, model_dir, out, processes, size = sys.argv[1:6]
TYPES = {"f0": "float64", "f1": "float64", "f2": "float64", "f3": "float64"}

def init():
    global model
    import mlflow.pyfunc
    model = mlflow.pyfunc.load_model(model_dir)

def score(paths):
    frames = []
    for path in paths:
        frame = pd.read_csv(path, dtype=TYPES)
        out = pd.DataFrame({"prediction": model.predict(frame)})
        out["file"] = os.path.basename(path)
        out["row"] = range(1, len(out) + 1)
        frames.append(out)
    return pd.concat(frames, ignore_index=True)

if __name__ == "__main__":
    files = sorted(glob.glob(os.path.join(data, "*.csv")))
    groups = [files[i:i + int(size)] for i in range(0, len(files), int(size))]
    with multiprocessing.Pool(int(processes), initializer=init) as pool:
        frames = list(pool.imap(score, groups))
    pd.concat(frames, ignore_index=True).to_csv(out, index=False)
    print(time.perf_counter() - started)
"""


def build_environment(folder: Path) -> Path:
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", "--python", sys.executable, str(folder)], check=True)
    python = folder / "bin" / "python"
    subprocess.run([*uv, "pip", "install", "-q", "--python", str(python), *PACKAGES], check=True)
    return python


def run_engine(root: Path, python: Path, round_number: int) -> tuple[float, JobResult]:
    job = BatchJob(
        job_id=f"bench-{round_number}",
        scorer=MlflowModel(root / "code"),
        settings=BatchSettings(
            mini_batch_size=MINI_BATCH_SIZE,
            max_concurrency_per_instance=PROCESSES,
            retry_settings={"timeout": 300},
        ),
        input_path=root / "data",
        interpreter=python,
        job_dir=root / f"job-{round_number}",
        output_dir=root / f"out-{round_number}",
        model_dir=root / "model",
    )
    started = time.perf_counter()
    result = run_job(job, MemoryStateStore())
    elapsed = time.perf_counter() - started
    if result.status != "completed":
        raise RuntimeError(f"the bench job {result.status}: {result.error}")
    return elapsed, result


def run_pool(root: Path, python: Path, round_number: int) -> float:
    out = root / f"pool-{round_number}.csv"
    args = [str(root / "data"), str(root / "model"), str(out), str(PROCESSES), str(MINI_BATCH_SIZE)]
    env = build_worker_env(python, {}, model_dir=root / "model", output_dir=root)
    done = subprocess.run(
        [str(python), str(root / "pool.py"), *args],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wharf-bench-mlflow-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        python = build_environment(root / "env")
        for folder in ("data", "code"):
            (root / folder).mkdir()
        (root / "pool.py").write_text(textwrap.dedent(POOL))
        prepare = [str(python), "-c", PREPARE, str(ROWS), str(FILES)]
        subprocess.run([*prepare, str(root / "data"), str(root / "model")], check=True)
        print(f"setup (environment, model, {ROWS:,} rows in {FILES} files): ", end="")
        print(f"{time.perf_counter() - began:.1f} s")
        engine_times: list[float] = []
        pool_times: list[float] = []
        rows = 0
        for round_number in range(ROUNDS):
            elapsed, result = run_engine(root, python, round_number)
            engine_times.append(elapsed)
            rows = result.progress.rows_written
            pool_times.append(run_pool(root, python, round_number))
        engine, pool = min(engine_times), min(pool_times)
        same = (root / "out-0" / "predictions.csv").read_bytes() == (
            root / "pool-0.csv"
        ).read_bytes()
        print(f"{'':30} {'best':>8}   all rounds")
        for name, times in (("wharf MLflow job", engine_times), ("bare Pool + pyfunc", pool_times)):
            print(f"{name:30} {min(times):>7.2f}s   {', '.join(f'{t:.2f}' for t in times)}")
        print(
            f"ratio job / pool: {engine / pool:.2f}x (goal <= 1.3x); processes: {PROCESSES}; "
            f"rows: {rows:,}; outputs byte-identical: {'yes' if same else 'NO'}"
        )
