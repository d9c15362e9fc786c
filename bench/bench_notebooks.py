"""Workbench start: `wharf notebook start` to JupyterLab answering through its route, warm cache.

Starts a real ``wharf up``, creates a workbench and starts it once (building the JupyterLab
environment, or reusing it from the uv cache), stops it, then times ROUNDS starts with the
environment cached: from running ``wharf notebook start`` (the CLI process included) until
``GET /api/status`` through the workbench's own route, with the owner's token, answers 200.
Everything is on 127.0.0.1. Goal: the median warm start takes <= 5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import time

import httpx

from bench.server import WHARF, BenchServer, running_wharf

ROUNDS = 5
GOAL_SECONDS = 5.0


def _cli(server: BenchServer, *args: str) -> None:
    done = subprocess.run(
        [WHARF, *args], env=server.env, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(f"wharf {' '.join(args)} failed: {done.stderr or done.stdout}")


def _answers(server: BenchServer, host: str) -> bool:
    try:
        answer = httpx.get(
            f"{server.url}/api/status",
            headers={"Host": host, "Authorization": f"Bearer {server.token}"},
            timeout=5,
        )
    except httpx.TransportError:
        return False
    return answer.status_code == 200


def _timed_start(server: BenchServer, host: str) -> float:
    started = time.perf_counter()
    _cli(server, "notebook", "start", "bench")
    while not _answers(server, host):
        if time.perf_counter() - started > 120:
            raise RuntimeError("JupyterLab did not answer within 120 s")
        time.sleep(0.05)
    return time.perf_counter() - started


def main() -> None:
    with running_wharf() as server:
        port = server.url.rsplit(":", 1)[1]
        host = f"nb-admin-bench-default.apps.localhost:{port}"
        _cli(server, "notebook", "create", "bench")
        cold = _timed_start(server, host)
        print(f"first start (environment built or taken from the uv cache): {cold:.1f} s")
        times = []
        for _ in range(ROUNDS):
            _cli(server, "notebook", "stop", "bench")
            times.append(_timed_start(server, host))
        median = statistics.median(times)
        print("warm starts: " + ", ".join(f"{t:.2f} s" for t in times))
        verdict = "meets" if median <= GOAL_SECONDS else "MISSES"
        print(f"median warm start {median:.2f} s: {verdict} the goal of <= {GOAL_SECONDS:.0f} s")
