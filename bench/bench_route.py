"""Route overhead: the route vs straight to the replicas vs Flask's dev server, side by side.

Builds a throwaway environment with gunicorn and Flask (uv; cached by uv between runs), then:

- *route*: ``uvicorn`` serving a FastAPI app wrapped in ``RouteProxy``, the app deployed
  by ``AppRegistry`` as 2 gunicorn replicas (1 worker, 4 threads each), driven at
  ``/apps/bench/hello/``;
- *direct*: the same 2 replicas, the load generator spreading requests over them itself;
- *flask dev*: ``flask run`` (werkzeug, threaded) on the same app.

Each side gets a fixed number of GETs over N concurrent keep-alive connections (throughput, and
latency under load), then requests one at a time (latency without queueing: what the route
itself adds). The load generator is Wharf's own small HTTP/1.1 client, so its cost stays small
next to what is measured. Rounds are interleaved and the median round is reported: on a busy
machine, drift hits every side alike. Everything is on 127.0.0.1.
Goals: the route keeps >= 80 % of direct throughput and adds <= 1 ms at p50.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TOTAL = 4000
CONCURRENCY = 8
SEQUENTIAL = 1000
REPLICAS = 2
ROUNDS = 3

WSGI_APP = """
from flask import Flask, jsonify

application = Flask(__name__)


@application.get("/")
def index():
    return jsonify(status="ok")
"""


@dataclass
class Result:
    name: str
    requests: int
    failures: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def p99(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


async def _drive(name: str, targets: list[tuple[int, str]], total: int, concurrency: int) -> Result:
    """``total`` GETs over ``concurrency`` keep-alive connections, spread over ``targets``."""
    from wharf.runtime.specs import Endpoint
    from wharf.runtime.upstream import ConnectionPool, UpstreamError

    pool = ConnectionPool(max_idle=30.0)
    latencies: list[float] = []
    failures = 0
    remaining = total

    async def client(offset: int) -> None:
        nonlocal remaining, failures
        turn = offset
        while remaining > 0:
            remaining -= 1
            port, path = targets[turn % len(targets)]
            turn += 1
            endpoint = Endpoint("127.0.0.1", port)
            started = time.perf_counter()
            reusable = False
            connection = None
            try:
                connection = await pool.acquire(endpoint)
                connection.write(b"GET %s HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n" % path.encode())
                head = await connection.read_head(head_request=False)
                async for _ in connection.iter_body(head):
                    pass
                reusable = head.keep_alive
                if head.status != 200:
                    failures += 1
            except (UpstreamError, OSError):
                failures += 1
            if connection is not None:
                pool.release(connection, reusable=reusable)
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    await pool.aclose()
    return Result(name, total, failures, elapsed, latencies)


def drive(name: str, targets: list[tuple[int, str]], total: int, concurrency: int) -> Result:
    asyncio.run(_drive(name, targets, 200, concurrency))  # warm up
    return asyncio.run(_drive(name, targets, total, concurrency))


@dataclass
class Case:
    """One side of the comparison, measured twice: loaded, and one request at a time."""

    name: str
    loaded: Result
    alone: Result


def _median_case(name: str, cases: list[Case]) -> Case:
    """The round with the median throughput, so one noisy round does not decide."""
    ordered = sorted(cases, key=lambda c: c.loaded.rps)
    middle = ordered[len(ordered) // 2]
    alone = sorted(cases, key=lambda c: c.alone.p50)[len(cases) // 2].alone
    return Case(name, middle.loaded, alone)


def serve_route(port: int, venv: Path, app_dir: Path, logs: Path) -> None:
    """The route side, in its own process: registry + replicas + proxy under uvicorn."""
    import uvicorn
    from fastapi import FastAPI

    from wharf.runtime.proxy import RouteProxy
    from wharf.runtime.registry import AppRegistry
    from wharf.runtime.routes import AppKey
    from wharf.runtime.specs import ProcessSpec, RevisionSpec

    registry = AppRegistry(apps_domain="apps.localhost", logs_dir=logs)
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(app_dir)}
    argv = [
        str(venv / "bin" / "gunicorn"),
        "--bind=127.0.0.1:{port}",
        "--workers=1",
        "--threads=4",
        "wsgi:application",
    ]
    spec = RevisionSpec("1", ProcessSpec(argv, env, app_dir), replicas=REPLICAS)
    result = registry.deploy(AppKey("bench", "hello"), spec, ready_timeout=60)
    if not result.succeeded:
        raise RuntimeError(result.message)
    status = registry.status(AppKey("bench", "hello"))
    assert status is not None
    assert status.serving is not None
    ports = [replica.port for replica in status.serving.replicas]
    print(json.dumps({"replica_ports": ports}), flush=True)
    # Outermost, as the server should mount it: FastAPI's own wrappers never see app traffic.
    app = RouteProxy(FastAPI(), registry=registry)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    try:
        uvicorn.Server(config).run()
    finally:
        registry.close()


def _make_venv(folder: Path) -> Path:
    venv = folder / "venv"
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", str(venv)], check=True)
    install = [*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    subprocess.run([*install, "gunicorn", "flask"], check=True)
    return venv


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def print_table(cases: list[Case], direct: Case) -> None:
    print(
        f"{'case':<22}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'fail':>6}{'vs direct':>11}"
        f"{'| 1-at-a-time p50':>18}{'p99':>7}"
    )
    for c in cases:
        print(
            f"{c.name:<22}{c.loaded.rps:>8.0f}{c.loaded.p50:>8.2f}{c.loaded.p99:>8.2f}"
            f"{c.loaded.failures + c.alone.failures:>6}{c.loaded.rps / direct.loaded.rps:>10.2f}x"
            f"{'| ':>5}{c.alone.p50:>10.2f} ms{c.alone.p99:>7.2f}"
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wharf-bench-route-") as tmp:
        folder = Path(tmp)
        venv = _make_venv(folder)
        app_dir = folder / "app"
        app_dir.mkdir()
        (app_dir / "wsgi.py").write_text(WSGI_APP)
        route_port, flask_port = _free_port(), _free_port()
        route = subprocess.Popen(
            [sys.executable, __file__, "--serve-route", str(route_port), str(venv), str(app_dir)],
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        flask = subprocess.Popen(
            [str(venv / "bin" / "flask"), "--app", "wsgi", "run", "--port", str(flask_port)],
            cwd=app_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            assert route.stdout is not None
            ports = json.loads(route.stdout.readline())["replica_ports"]
            _wait_for(route_port)
            _wait_for(flask_port)
            sides = {
                "route (proxy)": [(route_port, "/apps/bench/hello/")],
                "direct to replicas": [(p, "/") for p in ports],
                "flask dev server": [(flask_port, "/")],
            }
            rounds: dict[str, list[Case]] = {name: [] for name in sides}
            for _ in range(ROUNDS):  # interleaved, so drift on a busy machine hits all alike
                for name, targets in sides.items():
                    loaded = drive(name, targets, TOTAL, CONCURRENCY)
                    alone = drive(name, targets, SEQUENTIAL, 1)
                    rounds[name].append(Case(name, loaded, alone))
            cases = [_median_case(name, measured) for name, measured in rounds.items()]
            route_case, direct, _ = cases
            print(
                f"{TOTAL} GETs per case over {CONCURRENCY} concurrent keep-alive connections, "
                f"then {SEQUENTIAL} one at a time; {REPLICAS} gunicorn replicas (1 worker x 4 "
                f"threads); median of {ROUNDS} interleaved rounds; {os.cpu_count()} CPUs"
            )
            print_table(cases, direct)
            ratio = route_case.loaded.rps / direct.loaded.rps
            added = route_case.alone.p50 - direct.alone.p50
            print(
                f"route keeps {ratio:.0%} of direct throughput (goal >= 80%); adds "
                f"{added:.2f} ms at p50 one request at a time (goal <= 1 ms), "
                f"{route_case.loaded.p50 - direct.loaded.p50:.2f} ms at p50 under load"
            )
        finally:
            _stop(route)
            _stop(flask)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve-route", nargs=3, metavar=("PORT", "VENV", "APP_DIR"))
    args = parser.parse_args()
    if args.serve_route:
        port, venv, app_dir = args.serve_route
        serve_route(int(port), Path(venv), Path(app_dir), Path(app_dir).parent / "logs")
    else:
        main()
