"""Batch jobs end to end: a real ``wharf up`` scoring CSV files vs a bare multiprocessing pool.

Starts ``wharf up`` (SQLite, a temporary data dir), uploads ``WHARF_BENCH_BATCH_ROWS`` rows
(default 1,000,000) in 100 CSV files as a data asset and a scikit-learn model as a model, creates
an endpoint and a scoring-script deployment (pandas and scikit-learn installed by uv into the
deployment's environment, one worker per core), then reports side by side, in one run:

- job wall time (invoke until Completed is seen) vs a bare ``multiprocessing.Pool`` with as many
  processes, run by the deployment environment's interpreter, doing the same work on the same
  groups of files and writing the same CSV: best of ``ROUNDS`` each, alternating (goal <= 1.3x),
  and whether the outputs are the same;
- time from invoke to the first mini-batch handed to a worker (goal <= 1 s), and to the first
  ``run()`` call when the server reports it;
- invoke latency p50/p99 with 50 concurrent clients (each invoke creates a queued job).
"""

from __future__ import annotations

import csv
import hashlib
import subprocess
import tempfile
import textwrap
import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench.bench_batch import (
    FILES,
    MINI_BATCH_SIZE,
    POOL,
    PREPARE,
    PROCESSES,
    ROWS,
    SCORE,
    build_environment,
    run_pool,
)
from bench.load import run_load
from bench.server import running_wharf
from wharf import BatchDeployment, BatchEndpoint, Client, Data, Input, Job, Model, WharfError

ROUNDS = 3
CONCURRENCY = 50
INVOKES = 250
POLL = 0.02


def prepare(root: Path) -> Path:
    """The bench's own environment (to write the data and the model) and the files."""
    python = build_environment(root / "env")
    for folder in ("data", "model", "code", "one", "noop"):
        (root / folder).mkdir()
    (root / "code" / "score.py").write_text(textwrap.dedent(SCORE))
    (root / "noop" / "noop.py").write_text("def run(mini_batch):\n    return []\n")
    (root / "pool.py").write_text(textwrap.dedent(POOL))
    args = [str(ROWS), str(FILES), str(root / "data"), str(root / "model")]
    subprocess.run([str(python), "-c", PREPARE, *args], check=True)
    (root / "one" / "part.csv").write_text("id,f0,f1,f2,f3\n1,0.1,0.2,0.3,0.4\n")
    return python


@dataclass
class Timed:
    name: str
    first_dispatch: float
    """Invoke until the job showed a mini-batch running (polled), or the server's own figure."""
    first_run: float | None
    """Invoke until the first run() call began, when the server reports it."""
    total: float
    """Invoke until Completed was seen."""
    queued: float
    """Created until started, by the server's clock."""
    running: float
    """Started until finished, by the server's clock."""
    rows: int


def run_job(client: Client, data: str, deployment: str = "score") -> Timed:
    """Invoke, then poll the job every ``POLL`` seconds until it ends."""
    started = time.perf_counter()
    job = client.batch_endpoints.invoke(
        "bench", deployment_name=deployment, inputs={"data": Input(path=data)}
    )
    seen_running: float | None = None
    while True:
        job = client.jobs.get(job.name)
        now = time.perf_counter() - started
        progress = job.progress
        if seen_running is None and (
            progress.mini_batches_running or progress.mini_batches_done or job.status == "Completed"
        ):
            seen_running = now
        if job.status in ("Completed", "Failed", "Canceled"):
            break
        time.sleep(POLL)
    if job.status != "Completed":
        raise RuntimeError(f"the bench job {job.name} {job.status}: {job.error}")
    return Timed(
        name=job.name,
        first_dispatch=_since_created(job, "first_mini_batch_at") or seen_running or now,
        first_run=_since_created(job, "first_run_at"),
        total=now,
        queued=(job.started_at - job.created_at).total_seconds() if job.started_at else 0.0,
        running=job.duration_seconds or 0.0,
        rows=job.progress.rows_written,
    )


def _since_created(job: Job, field: str) -> float | None:
    """Seconds from the job's creation to one of its timestamps (None until it has one)."""
    value = getattr(job, field, None)
    if not isinstance(value, datetime):
        return None
    return (value - job.created_at).total_seconds()


def compare(job_output: Path, pool_output: Path) -> str:
    """ "yes", or how the two outputs differ: rows, ids, and the largest prediction difference."""
    if digest(job_output) == digest(pool_output):
        return "yes"
    with job_output.open(newline="") as ours, pool_output.open(newline="") as theirs:
        a, b = list(csv.reader(ours)), list(csv.reader(theirs))
    if len(a) != len(b) or a[0] != b[0] or [r[0] for r in a] != [r[0] for r in b]:
        return f"NO: {len(a)} lines from the job, {len(b)} from the pool, or other ids"
    largest = max(abs(float(x[1]) - float(y[1])) for x, y in zip(a[1:], b[1:], strict=True))
    return f"no, but the same rows and ids in order; predictions differ by <= {largest:.1e}"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def seconds(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values) + " s"


def deploy(client: Client, root: Path) -> BatchDeployment:
    """The endpoint, the scikit-learn deployment and a no-op one; the former."""
    client.batch_endpoints.create_or_update(BatchEndpoint(name="bench"))
    began = time.perf_counter()
    deployment = client.batch_deployments.create_or_update(
        BatchDeployment(
            name="score",
            endpoint_name="bench",
            model="model:bench-model@latest",
            code_configuration={"code": str(root / "code"), "scoring_script": "score.py"},
            environment={"requirements": ["pandas", "scikit-learn"]},
            settings={
                "mini_batch_size": MINI_BATCH_SIZE,
                "max_concurrency_per_instance": PROCESSES,
                "retry_settings": {"timeout": 300},
            },
        )
    )
    print(f"deployment create (uv environment): {time.perf_counter() - began:.1f} s")
    client.batch_deployments.create_or_update(
        BatchDeployment(
            name="noop",
            endpoint_name="bench",
            code_configuration={"code": str(root / "noop"), "scoring_script": "noop.py"},
            environment={"requirements": []},
            settings={"output_action": "summary_only"},
        )
    )
    return deployment


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wharf-bench-jobs-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        python = prepare(root)
        setup = time.perf_counter() - began
        print(f"setup (bench environment, {ROWS:,} rows in {FILES} files): {setup:.1f} s")
        with running_wharf() as server, Client(server.url, token=server.token) as client:
            began = time.perf_counter()
            data = client.data.create_or_update(Data(name="bench", path=str(root / "data")))
            one = client.data.create_or_update(Data(name="one", path=str(root / "one")))
            client.models.create_or_update(Model(name="bench-model", path=str(root / "model")))
            print(f"upload (data asset and model): {time.perf_counter() - began:.1f} s")
            deployment = deploy(client, root)
            # The bare pool runs in the deployment's own environment: same packages, same work.
            key = (deployment.environment or {}).get("key", "-")
            pool_python = server.tmp / "data" / "envs" / key / "bin" / "python"
            if not pool_python.exists():
                print(f"(no deployment environment {key}: the pool uses the bench's)")
                pool_python = python
            # A first, one-file job warms the environment's imports and the page cache.
            print(f"warm-up job (1 file): {run_job(client, f'data:one:{one.version}').total:.2f} s")

            jobs: list[Timed] = []
            pool_times: list[float] = []
            for round_number in range(ROUNDS):
                jobs.append(run_job(client, f"data:bench:{data.version}"))
                pool_times.append(run_pool(root, pool_python, round_number))
            saved = client.jobs.download(
                jobs[0].name, output_name="score", download_path=root / "job-out"
            )
            same = compare(saved, root / "pool-0.csv")
            noops = [run_job(client, f"data:one:{one.version}", "noop") for _ in range(5)]

            body = {
                "deployment": "noop",
                "inputs": {"data": {"type": "uri_folder", "path": f"data:one:{one.version}"}},
            }
            invoke = run_load(
                "invoke",
                "POST",
                f"{server.url}/api/v1/workspaces/default/batch-endpoints/bench/jobs",
                total=INVOKES,
                concurrency=CONCURRENCY,
                json=body,
                headers={"Authorization": f"Bearer {server.token}"},
            )
            _cancel_queued(client)

        job_times = [job.total for job in jobs]
        print(f"\n{'':34} {'best':>8}   all rounds")
        for label, times in (
            ("wharf job (invoke -> Completed)", job_times),
            ("bare multiprocessing.Pool", pool_times),
        ):
            print(f"{label:34} {min(times):>7.2f}s   {', '.join(f'{t:.2f}' for t in times)}")
        ratio = min(job_times) / min(pool_times)
        print(
            f"ratio job / pool: {ratio:.2f}x (goal <= 1.3x); processes: {PROCESSES}; "
            f"rows written: {jobs[0].rows:,}; files: {FILES}"
        )
        print(f"outputs byte-identical: {same}")
        best = min(jobs, key=lambda j: j.total)
        print(
            f"best job by the server's clock: {best.queued:.2f} s queued, {best.running:.2f} s "
            f"from start to end (workers' imports, init(), scoring, output)"
        )
        print("invoke -> first mini-batch handed to a worker (goal <= 1 s):")
        print(f"  scikit-learn job: {seconds([j.first_dispatch for j in jobs])}")
        print(f"  no-op script:     {seconds([j.first_dispatch for j in noops])}")
        runs = [j.first_run for j in jobs if j.first_run is not None]
        shown = seconds(runs) if runs else "not reported"
        print(f"invoke -> first run() call, after the worker's imports and init(): {shown}")
        print(f"(times by polling the job every {POLL * 1000:.0f} ms, unless the server has them)")
        print(
            f"invoke latency, {CONCURRENCY} concurrent clients, {INVOKES} invokes: "
            f"p50 {invoke.p50:.1f} ms, p99 {invoke.percentile(99):.1f} ms, "
            f"{invoke.rps:.0f} invokes/s, {invoke.failures} failed"
        )


def _cancel_queued(client: Client) -> None:
    """Stop the jobs the invoke load queued, so the server stops promptly."""
    for job in client.jobs.list(endpoint_name="bench", status="Queued", limit=1000):
        with suppress(WharfError):  # a job that started or ended meanwhile is fine
            client.jobs.cancel(job.name)


if __name__ == "__main__":
    main()
