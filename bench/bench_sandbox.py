"""The sandbox's cost: a replica's start and a 100-file batch job, in bubblewrap vs off.

In one run and alternating, ``ROUNDS`` times each: (1) a replica (Wharf's own supervisor, an
HTTP server in Python) from launch to its first HTTP answer, with its command wrapped by the
sandbox and not; (2) a batch job of 100 CSV files (``run_job``, a scoring script, two worker
processes) with ``WHARF_SANDBOX`` as found here and ``off``. Reports the medians and their ratio
(goal <= 1.10). Without a working bubblewrap it says so and measures nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from wharf.batch.engine import BatchJob, run_job
from wharf.batch.launch import ScoringScript
from wharf.batch.settings import BatchSettings
from wharf.batch.state import MemoryStateStore
from wharf.runtime.limits import ResourceLimits, rlimit_support
from wharf.runtime.replica import Replica, ReplicaState
from wharf.runtime.specs import Backoff, ProcessSpec
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxProfile, detect_sandbox

ROUNDS = int(os.environ.get("WHARF_BENCH_SANDBOX_ROUNDS", "5"))
FILES = 100
GOAL = 1.10

APP = """
import http.server, os
class Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello")
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Hello).serve_forever()
"""

SCORE = """
import csv

def init():
    pass

def run(mini_batch):
    rows = []
    for path in mini_batch:
        with open(path, newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append({"id": row["id"], "score": float(row["x"]) * 2})
    return rows
"""


def time_replica(root: Path, sandbox: Sandbox, label: str) -> float:
    venv = Path(sys.prefix)
    profile = SandboxProfile(cwd=root / "app", read_only=(root / "app", venv))

    def command(port: int) -> ProcessSpec:
        argv = sandbox.command(profile, [sys.executable, "app.py"])
        env = {"PATH": os.defpath, "PORT": str(port)}
        return ProcessSpec(argv=argv, env=env, cwd=root / "app")

    replica = Replica(
        index=0,
        name=f"bench-{label}",
        command=command,
        limits=ResourceLimits(),
        support=rlimit_support("bench"),
        log_path=root / f"{label}.log",
        backoff=Backoff(),
    )
    started = time.perf_counter()
    replica.start()
    try:
        while replica.status().state is not ReplicaState.READY:
            if time.perf_counter() - started > 30:
                raise RuntimeError(f"the replica did not start: see {root / f'{label}.log'}")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        replica.request_stop(5)
        replica.join(20)


def time_job(root: Path, sandbox: Sandbox, label: str) -> float:
    job = BatchJob(
        job_id=label,
        scorer=ScoringScript(root / "code", "score.py"),
        settings=BatchSettings(mini_batch_size=10, max_concurrency_per_instance=2),
        input_path=root / "data",
        interpreter=Path(sys.executable),
        job_dir=root / label,
        output_dir=root / label / "out",
        sandbox=sandbox,
    )
    started = time.perf_counter()
    result = run_job(job, MemoryStateStore())
    if result.status != "completed":
        raise RuntimeError(f"the job {label} {result.status}: {result.error}")
    return time.perf_counter() - started


def compare(name: str, measure: Callable[[Sandbox, str], float], sandbox: Sandbox) -> None:
    timings: dict[str, list[float]] = {"sandbox": [], "off": []}
    for round_number in range(ROUNDS):
        for label, chosen in (("sandbox", sandbox), ("off", NO_SANDBOX)):
            timings[label].append(measure(chosen, f"{label}-{round_number}"))
    on, off = statistics.median(timings["sandbox"]), statistics.median(timings["off"])
    ratio = on / off
    verdict = "ok" if ratio <= GOAL else f"over the goal of {GOAL:.2f}"
    print(
        f"{name:<26} sandbox {on * 1000:8.1f} ms   off {off * 1000:8.1f} ms   "
        f"ratio {ratio:.3f} ({verdict}; medians of {ROUNDS})",
        flush=True,
    )


def main() -> None:
    sandbox = detect_sandbox("auto", "bwrap", 64500, 64500)
    print(f"sandbox: {sandbox.state.value}: {sandbox.detail}", flush=True)
    if not sandbox.active:
        print("nothing to compare: no working bubblewrap here")
        return
    with tempfile.TemporaryDirectory(prefix="wharf-bench-sandbox-") as folder:
        root = Path(folder)
        (root / "app").mkdir()
        (root / "app" / "app.py").write_text(APP)
        (root / "code").mkdir()
        (root / "code" / "score.py").write_text(SCORE)
        (root / "data").mkdir()
        for n in range(FILES):
            rows = "".join(f"{n * 10 + r},{r}.5\n" for r in range(10))
            (root / "data" / f"part-{n:03d}.csv").write_text("id,x\n" + rows)
        root.chmod(0o755)  # the sandbox's uid reads the inputs from here
        compare("replica start to ready", lambda s, label: time_replica(root, s, label), sandbox)
        compare(f"batch job of {FILES} files", lambda s, label: time_job(root, s, label), sandbox)


if __name__ == "__main__":
    main()
