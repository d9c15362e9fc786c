"""API overhead: Wharf's routes side by side with a bare FastAPI app, in one run.

Starts a real ``wharf up`` (SQLite, a temporary data dir) and ``bench.bare_app`` (the same
health route, the same uvicorn settings), seeds ``JOBS`` finished jobs into the Wharf store (as
invoking a batch endpoint stores them, with their inputs, outputs, settings and progress), then
drives, in ``ROUNDS`` interleaved rounds: health on both (no auth), ``GET /api/v1/users/me``
(token), ``GET /api/v1/workspaces/default/members`` (token + role check + a query) and
``GET /api/v1/workspaces/default/jobs`` with 50 clients (the default page, 20 jobs; and 100,
as the CLI asks, for reference). Ratios are
taken within each round (the machine may be shared) and their median reported. Goals (issue
#12): health at least 0.7x the bare app; an authenticated read and members at least 0.8x
health; jobs at 50 clients p99 at most 250 ms.

``WHARF_BENCH_BASELINE_SRC=/path/to/other/checkout/src`` adds a second ``wharf up`` running
that tree's code, driven in the same rounds: before/after, side by side.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bench.load import LoadResult, print_table, run_load
from bench.server import BenchServer, running_wharf, wait_until_healthy
from wharf.batch.settings import BatchSettings
from wharf.store.database import create_session_factory, create_store_engine, transaction
from wharf.store.models import Job, Workspace
from wharf.store.types import utcnow

TOTAL = 2000
CONCURRENCY = 16
MANY = 50
JOBS = 150
ROUNDS = int(os.environ.get("WHARF_BENCH_ROUNDS", "3"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_bare_app() -> Iterator[tuple[str, int]]:
    """The bare app's URL and process id."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "bench.bare_app", str(port), f"{tmp}/bare.db"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_healthy(url)
            yield url, process.pid
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def seed_jobs(server: BenchServer, count: int) -> None:
    """``count`` Completed jobs in the default workspace, shaped as ``job_invoke`` stores them
    and the runner finishes them (written straight to the store: running that many real jobs
    would take the bench minutes)."""
    engine = create_store_engine(f"sqlite:///{server.tmp / 'data' / 'wharf.db'}")
    settings = BatchSettings().model_dump(mode="json")
    try:
        with transaction(create_session_factory(engine)) as session:
            workspace = session.scalar(select(Workspace).where(Workspace.name == "default"))
            assert workspace is not None
            for number in range(count):
                started = utcnow() - timedelta(minutes=count - number)
                name = f"heart-score-{number:04d}"
                reference = f"wharf://default/workspaceblobstore/jobs/{name}/score/predictions.csv"
                inputs = {"data": {"type": "uri_folder", "path": "data:heart:1"}}
                inputs["data"]["reference"] = "data:heart:1"
                outputs = {"score": {"type": "uri_file", "reference": reference}}
                session.add(
                    Job(
                        workspace_id=workspace.id,
                        name=name,
                        endpoint="heart",
                        deployment="d1",
                        kind="scoring_script",
                        status="Completed",
                        experiment_name="heart",
                        spec={
                            "folder": "batch/deployments/default/heart/d1/3",
                            "revision": 3,
                            "scoring_script": "score.py",
                            "entry": None,
                            "component": None,
                            "environment_source": "requirements.txt",
                            "model": "model:heart-model:2",
                            "inputs": {"data": {"type": "uri_folder", "reference": "data:heart:1"}},
                            "outputs": outputs,
                        },
                        inputs=inputs,
                        outputs={"score": {"type": "uri_file", "path": reference}},
                        settings=settings,
                        progress={
                            "mini_batches_total": 20,
                            "mini_batches_done": 20,
                            "items_total": 200,
                            "items_done": 200,
                            "rows_written": 600,
                        },
                        created_by="admin",
                        created_at=started,
                        started_at=started + timedelta(seconds=1),
                        first_mini_batch_at=started + timedelta(seconds=2),
                        first_run_at=started + timedelta(seconds=3),
                        finished_at=started + timedelta(seconds=9),
                    )
                )
    finally:
        engine.dispose()


@contextmanager
def running_baseline(source: str) -> Iterator[BenchServer]:
    """``wharf up`` running the code of another checkout's ``src`` (its dependencies as here)."""
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = source
    try:
        with running_wharf() as server:
            _restore("PYTHONPATH", before)
            yield server
    finally:
        _restore("PYTHONPATH", before)


def _restore(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _goal(label: str, values: list[float], target: float, *, at_most: bool = False) -> str:
    value = statistics.median(values)
    met = value <= target if at_most else value >= target
    sign = "≤" if at_most else "≥"
    rounds = ", ".join(f"{v:.2f}" for v in values)
    state = "met " if met else "MISS"
    return f"  {state}  {label}: {value:.2f} (goal {sign} {target}; rounds {rounds})"


def _drive(label: str, server: BenchServer) -> dict[str, LoadResult]:
    base = f"{server.url}/api/v1"
    auth: dict[str, Any] = {"headers": {"Authorization": f"Bearer {server.token}"}}
    load = {"total": TOTAL, "concurrency": CONCURRENCY, "server_pid": server.process.pid}
    members = f"{base}/workspaces/default/members"
    jobs = f"{base}/workspaces/default/jobs"
    return {
        "health": run_load(f"{label}health (no auth)", "GET", f"{base}/health", **load),
        "me": run_load(f"{label}users/me (token)", "GET", f"{base}/users/me", **load, **auth),
        "members": run_load(f"{label}members (token + role)", "GET", members, **load, **auth),
        "jobs": run_load(
            f"{label}jobs list, {MANY} clients",
            "GET",
            jobs,
            total=TOTAL,
            concurrency=MANY,
            server_pid=server.process.pid,
            **auth,
        ),
        "jobs100": run_load(
            f"{label}jobs ?limit=100, {MANY} clients",
            "GET",
            f"{jobs}?limit=100",
            total=TOTAL // 4,
            concurrency=MANY,
            server_pid=server.process.pid,
            **auth,
        ),
    }


def _report(label: str, rounds: list[dict[str, LoadResult]]) -> None:
    print(f"goals{label}:")
    print(_goal("health / bare app", [r["health"].rps / r["bare"].rps for r in rounds], 0.7))
    print(_goal("users/me / health", [r["me"].rps / r["health"].rps for r in rounds], 0.8))
    print(_goal("members / health", [r["members"].rps / r["health"].rps for r in rounds], 0.8))
    p99 = [r["jobs"].percentile(99) for r in rounds]
    print(_goal(f"jobs p99 ms at {MANY} clients", p99, 250, at_most=True))
    p99 = [r["jobs100"].percentile(99) for r in rounds]
    print(f"  (jobs ?limit=100 p99 ms at {MANY} clients: {statistics.median(p99):.0f})")


def main() -> None:
    baseline_src = os.environ.get("WHARF_BENCH_BASELINE_SRC")
    with ExitStack() as stack:
        server = stack.enter_context(running_wharf())
        bare_url, bare_pid = stack.enter_context(running_bare_app())
        servers = {"": server}
        if baseline_src:
            servers["baseline "] = stack.enter_context(running_baseline(baseline_src))
        for each in servers.values():
            seed_jobs(each, JOBS)
        print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        results: dict[str, list[dict[str, LoadResult]]] = {label: [] for label in servers}
        for number in range(ROUNDS):
            bare = run_load(
                "bare FastAPI health",
                "GET",
                f"{bare_url}/api/v1/health",
                total=TOTAL,
                concurrency=CONCURRENCY,
                server_pid=bare_pid,
            )
            for label, each in servers.items():
                round_results = _drive(label, each)
                round_results["bare"] = bare
                results[label].append(round_results)
                print(f"\nround {number + 1}{', ' + label.strip() if label else ''}:")
                print_table([bare, *_drive_order(round_results)], baseline=round_results["health"])
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"\n{TOTAL} requests a case, {CONCURRENCY} concurrent clients unless said, {ROUNDS} rounds"
    )
    print(f"({JOBS} jobs in each store; ratios within each round, their median)")
    for label, rounds in results.items():
        _report(f" ({label.strip()})" if label else "", rounds)


def _drive_order(results: dict[str, LoadResult]) -> list[LoadResult]:
    return [results[key] for key in ("health", "me", "members", "jobs", "jobs100")]


if __name__ == "__main__":
    main()
