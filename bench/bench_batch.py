"""Batch engine overhead: scikit-learn scoring CSV files, Wharf job vs a bare multiprocessing pool.

Builds a throwaway environment with uv (pandas, scikit-learn), writes ``WHARF_BENCH_BATCH_ROWS``
rows (default 1,000,000) into 100 CSV files, then, in one run and alternating, scores them with
``run_job`` (a scoring script, the default ``mini_batch_size`` of 10, one worker per core) and
with a bare ``multiprocessing.Pool`` of as many processes doing the same work on the same groups
of files and writing the same CSV. Reports the best of three rounds of each, their ratio (goal
<= 1.3x), whether the outputs are byte-identical, and the time from ``run_job`` to the first
mini-batch handed to a worker (goal <= 1 s) and to the first ``run()`` call (after the worker's
imports and ``init()``, and for a script that imports nothing: the engine's own start-up cost).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from wharf.batch.engine import BatchJob, JobResult, run_job
from wharf.batch.launch import ScoringScript, build_worker_env
from wharf.batch.settings import BatchSettings
from wharf.batch.state import MemoryStateStore

ROWS = int(os.environ.get("WHARF_BENCH_BATCH_ROWS", "1000000"))
FILES = 100
MINI_BATCH_SIZE = 10
PROCESSES = os.cpu_count() or 2
ROUNDS = 3

PREPARE = """
import pickle, sys
import numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression

rows, files, data, model_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(7)
x = rng.normal(size=(5000, 4))
model = LogisticRegression().fit(x, (x.sum(axis=1) + rng.normal(size=5000)) > 0)
with open(f"{model_dir}/model.pkl", "wb") as handle:
    pickle.dump(model, handle)
per_file = rows // files
for n in range(files):
    frame = pd.DataFrame(rng.normal(size=(per_file, 4)).round(4), columns=["f0", "f1", "f2", "f3"])
    frame.insert(0, "id", range(n * per_file, (n + 1) * per_file))
    frame.to_csv(f"{data}/part-{n:03d}.csv", index=False)
"""

SCORE = """
import os, pickle
import pandas as pd

FEATURES = ["f0", "f1", "f2", "f3"]

def init():
    global model
    with open(os.path.join(os.environ["WHARF_MODEL_DIR"], "model.pkl"), "rb") as handle:
        model = pickle.load(handle)

def run(mini_batch):
    frame = pd.concat([pd.read_csv(path) for path in mini_batch], ignore_index=True)
    scores = model.predict_proba(frame[FEATURES])[:, 1]
    return pd.DataFrame({"id": frame["id"], "prediction": scores})
"""

POOL = """
import time
started = time.perf_counter()
import glob, multiprocessing, os, pickle, sys
import pandas as pd

FEATURES = ["f0", "f1", "f2", "f3"]
data, model_dir, out, processes, size = sys.argv[1:6]

def init():
    global model
    with open(os.path.join(model_dir, "model.pkl"), "rb") as handle:
        model = pickle.load(handle)

def score(paths):
    frame = pd.concat([pd.read_csv(path) for path in paths], ignore_index=True)
    scores = model.predict_proba(frame[FEATURES])[:, 1]
    return pd.DataFrame({"id": frame["id"], "prediction": scores})

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
    packages = ["pandas", "scikit-learn"]
    subprocess.run([*uv, "pip", "install", "-q", "--python", str(python), *packages], check=True)
    return python


def run_engine(root: Path, python: Path, round_number: int) -> tuple[float, JobResult]:
    job = BatchJob(
        job_id=f"bench-{round_number}",
        scorer=ScoringScript(root / "code", "score.py"),
        settings=BatchSettings(
            mini_batch_size=MINI_BATCH_SIZE,
            max_concurrency_per_instance=PROCESSES,
            # One mini-batch of 100,000 rows takes seconds on a slow machine: not a hang.
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


def measure_bare_start(root: Path, python: Path) -> float:
    """Time to the first run() call with a script that imports nothing: the engine's own cost."""
    (root / "bare").mkdir()
    (root / "bare" / "score.py").write_text("def run(mini_batch):\n    return []\n")
    job = BatchJob(
        job_id="bench-bare",
        scorer=ScoringScript(root / "bare", "score.py"),
        settings=BatchSettings(output_action="summary_only"),
        input_path=root / "data" / "part-000.csv",
        interpreter=python,
        job_dir=root / "job-bare",
        output_dir=root / "out-bare",
    )
    return run_job(job, MemoryStateStore()).seconds_to_first_run or 0.0


def run_pool(root: Path, python: Path, round_number: int) -> float:
    """The bare pool, in the environment Wharf gives its workers: the same variables too, so
    that BLAS picks the same kernels (a machine may set OPENBLAS_CORETYPE, which workers do not
    inherit) and the outputs can be compared byte for byte."""
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
    return float(done.stdout.strip())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wharf-bench-batch-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        python = build_environment(root / "env")
        for folder in ("data", "model", "code"):
            (root / folder).mkdir()
        (root / "code" / "score.py").write_text(textwrap.dedent(SCORE))
        (root / "pool.py").write_text(textwrap.dedent(POOL))
        subprocess.run(
            [
                str(python),
                "-c",
                PREPARE,
                str(ROWS),
                str(FILES),
                str(root / "data"),
                str(root / "model"),
            ],
            check=True,
        )
        setup = time.perf_counter() - began
        print(f"setup (environment, {ROWS:,} rows in {FILES} files): {setup:.1f} s")
        engine_times: list[float] = []
        pool_times: list[float] = []
        results: list[JobResult] = []
        for round_number in range(ROUNDS):
            elapsed, result = run_engine(root, python, round_number)
            engine_times.append(elapsed)
            results.append(result)
            pool_times.append(run_pool(root, python, round_number))
        engine, pool = min(engine_times), min(pool_times)
        best = results[engine_times.index(engine)]
        same = digest(root / "out-0" / "predictions.csv") == digest(root / "pool-0.csv")
        print(f"{'':30} {'best':>8}   all rounds")
        for name, times in (("wharf job (run_job)", engine_times), ("bare Pool", pool_times)):
            print(f"{name:30} {min(times):>7.2f}s   {', '.join(f'{t:.2f}' for t in times)}")
        progress = best.progress
        print(
            f"ratio job / pool: {engine / pool:.2f}x (goal <= 1.3x); processes: {PROCESSES}; "
            f"mini-batches: {progress.mini_batches_total}; rows: {progress.rows_written:,}"
        )
        print(f"outputs byte-identical: {'yes' if same else 'NO'}")
        dispatch, first_run = best.seconds_to_first_dispatch or 0, best.seconds_to_first_run or 0
        print(f"run_job to first mini-batch dispatched: {dispatch:.3f} s (goal <= 1 s)")
        print(
            f"run_job to first run() call, after the worker's imports and init(): {first_run:.3f} s"
        )
        bare = measure_bare_start(root, python)
        print(f"run_job to first run() call, for a script that imports nothing: {bare:.3f} s")
