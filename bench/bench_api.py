"""API overhead: Wharf's routes side by side with a bare FastAPI app, in one run.

Starts a real ``wharf up`` (SQLite, a temporary data dir) and ``bench.bare_app`` (the same
health route, the same uvicorn settings), then drives: health on both (no auth),
``GET /api/v1/users/me`` (token), ``GET /api/v1/workspaces/default/members`` (token + role
check + a query) and ``GET /api/v1/workspaces/default/jobs`` with 50 clients. Goals (issue #12):
health at least 0.7x the bare app; an authenticated read at least 0.8x health; jobs at 50
clients p99 at most 250 ms.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from bench.load import LoadResult, print_table, run_load
from bench.server import running_wharf

TOTAL = 2000
CONCURRENCY = 16
MANY = 50


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_bare_app() -> Iterator[str]:
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
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{url}/api/v1/health").status_code == 200:
                        break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)


def _goal(label: str, value: float, target: float, *, at_most: bool = False) -> str:
    met = value <= target if at_most else value >= target
    sign = "≤" if at_most else "≥"
    return f"  {'met ' if met else 'MISS'}  {label}: {value:.2f} (goal {sign} {target})"


def main() -> None:
    with running_wharf() as server, running_bare_app() as bare_url:
        base = f"{server.url}/api/v1"
        auth = {"headers": {"Authorization": f"Bearer {server.token}"}}
        load = {"total": TOTAL, "concurrency": CONCURRENCY}
        bare = run_load("bare FastAPI health", "GET", f"{bare_url}/api/v1/health", **load)
        health = run_load("health (no auth)", "GET", f"{base}/health", **load)
        me = run_load("users/me (token)", "GET", f"{base}/users/me", **load, **auth)
        members = run_load(
            "members (token + role check)",
            "GET",
            f"{base}/workspaces/default/members",
            **load,
            **auth,
        )
        jobs: LoadResult = run_load(
            f"jobs list, {MANY} clients",
            "GET",
            f"{base}/workspaces/default/jobs",
            total=TOTAL,
            concurrency=MANY,
            **auth,
        )
    print(f"{TOTAL} requests each, {CONCURRENCY} concurrent clients unless said, one process each")
    print_table([bare, health, me, members, jobs], baseline=health)
    print("goals:")
    print(_goal("health / bare app", health.rps / bare.rps, 0.7))
    print(_goal("users/me / health", me.rps / health.rps, 0.8))
    print(_goal("members / health", members.rps / health.rps, 0.8))
    print(_goal(f"jobs p99 ms at {MANY} clients", jobs.percentile(99), 250, at_most=True))


if __name__ == "__main__":
    main()
