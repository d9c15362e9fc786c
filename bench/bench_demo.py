"""``wharf up --demo`` on a fresh data dir until its app answers and its job is Completed
(goal: under 60 s with a warm package cache).

Each run starts a real ``wharf up --demo`` with an empty data dir (so an empty environment
cache) while uv's download cache stays warm, as on any machine that installed Flask once, and
times from the start of the process until the demo's summary is printed, then checks that the
app answers on its route and that the job is Completed.
"""

from __future__ import annotations

import statistics
import time

import httpx

from bench.server import running_wharf

RUNS = 3
GOAL_SECONDS = 60.0
SUMMARY_END = "  wharf batch-endpoint invoke --name heart-risk"


def _one_run() -> float:
    started = time.perf_counter()
    with running_wharf("--demo") as server:
        log = server.tmp / "up.log"
        while SUMMARY_END not in log.read_text():
            if time.perf_counter() - started > 600:
                raise TimeoutError(f"no demo summary after 600 s:\n{log.read_text()}")
            time.sleep(0.05)
        took = time.perf_counter() - started
        text = log.read_text()
        if "Demo ready" not in text:
            raise RuntimeError(f"the demo did not get ready:\n{text}")
        app = httpx.get(f"{server.url}/apps/default/heart-risk/")
        app.raise_for_status()
        jobs = httpx.get(
            f"{server.url}/api/v1/workspaces/default/jobs",
            headers={"Authorization": f"Bearer {server.token}"},
        ).json()
        if [job["status"] for job in jobs] != ["Completed"]:
            raise RuntimeError(f"the demo job is not Completed: {jobs}")
    return took


def main() -> None:
    times = [_one_run() for _ in range(RUNS)]
    for number, took in enumerate(times, start=1):
        print(f"run {number}: demo ready in {took:.1f} s")
    median = statistics.median(times)
    verdict = "meets" if max(times) <= GOAL_SECONDS else "MISSES"
    print(
        f"median {median:.1f} s, worst {max(times):.1f} s: {verdict} the {GOAL_SECONDS:.0f} s goal"
    )
