"""Replicas as the S2I builder runs them: real gunicorn serving a Flask app, behind the route."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.runtime_support import (
    HELLO,
    Hammer,
    assert_all_gone,
    open_registry,
    serve_proxy,
    serving_pids,
    wait_until,
)
from wharf.runtime.limits import ResourceLimits, detect_limit_support
from wharf.runtime.registry import AppRegistry
from wharf.runtime.specs import Backoff, ProcessSpec, RevisionSpec
from wharf.states import ReplicaState

pytestmark = pytest.mark.e2e

FLASK_APP = """
import os
import time

from flask import Flask, Response, jsonify, request, url_for

application = Flask(__name__)
REVISION = os.environ.get("REVISION", "?")


@application.get("/")
def index():
    return jsonify(status="ok", revision=REVISION, pid=os.getpid())


@application.get("/link")
def link():
    return jsonify(link=url_for("index"), script_root=request.script_root, path=request.path)


@application.get("/hog")
def hog():
    held = b"\\x01" * (int(request.args["mb"]) * 2**20)
    return f"survived {len(held)}"


@application.post("/echo")
def echo():
    return request.get_data()


@application.get("/slow")
def slow():
    time.sleep(float(request.args.get("s", "1")))
    return "slow " + REVISION
"""


@pytest.fixture(scope="session")
def gunicorn_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway environment with gunicorn and Flask, made once per test session."""
    venv = tmp_path_factory.mktemp("gunicorn-env") / "venv"
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "-q", str(venv)], check=True, timeout=120)
    install = [*uv, "pip", "install", "-q", "--python", str(venv / "bin" / "python")]
    subprocess.run([*install, "gunicorn", "flask"], check=True, timeout=300)
    return venv


@pytest.fixture
def flask_app(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "wsgi.py").write_text(FLASK_APP)
    return folder


def gunicorn_revision(
    venv: Path,
    app: Path,
    name: str,
    *,
    replicas: int = 2,
    limits: ResourceLimits | None = None,
) -> RevisionSpec:
    """What the S2I run command yields for a wsgi.py project, with Wharf's port."""
    argv = [
        str(venv / "bin" / "gunicorn"),
        "--bind=127.0.0.1:{port}",
        "--workers=1",
        "--threads=4",
        "--graceful-timeout=5",
        "wsgi:application",
    ]
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "REVISION": name, "HOME": str(app)}
    backoff = Backoff(initial=0.2, factor=2.0, cap=1.0)
    return RevisionSpec(
        name,
        ProcessSpec(argv, env, app),
        replicas=replicas,
        limits=limits or ResourceLimits(),
        backoff=backoff,
    )


@pytest.fixture
def deployed(
    gunicorn_venv: Path, flask_app: Path, tmp_path: Path
) -> Iterator[tuple[AppRegistry, str]]:
    with open_registry(tmp_path) as registry:
        spec = gunicorn_revision(gunicorn_venv, flask_app, "1")
        result = registry.deploy(HELLO, spec, ready_timeout=60)
        assert result.succeeded, result.message
        with serve_proxy(registry) as url:
            yield registry, url


def test_kill_9_of_a_replica_the_route_keeps_answering_and_it_comes_back(
    deployed: tuple[AppRegistry, str],
) -> None:
    registry, url = deployed
    victim, survivor = serving_pids(registry)
    workers = [int(p) for p in Path(f"/proc/{victim}/task/{victim}/children").read_text().split()]
    with Hammer(f"{url}/apps/default/hello/") as load:
        load.wait_for(30)
        os.kill(victim, signal.SIGKILL)

        def replaced() -> bool:
            status = registry.status(HELLO)
            assert status is not None
            assert status.serving is not None
            first = status.serving.replicas[0]
            return first.state is ReplicaState.READY and first.pid not in (None, victim)

        wait_until(replaced, 30, "the killed replica to come back")
        served = len(load.outcomes)
        load.wait_for(served + 30)
    assert load.failures == []
    status = registry.status(HELLO)
    assert status is not None
    assert status.serving is not None
    first, second = status.serving.replicas
    assert first.restarts == 1
    assert first.last_exit is not None
    assert (first.last_exit.reason, first.last_exit.signal) == ("Killed", "SIGKILL")
    assert second.pid == survivor
    assert second.restarts == 0
    assert_all_gone([victim, *workers])
    assert status.serving.phase == "Ready"


class PostLoop:
    """``clients`` threads POSTing in a loop, each on its own keep-alive connection, until
    stopped (or ``cap`` requests in all); every answer must echo its own body."""

    def __init__(self, url: str, *, clients: int = 10, cap: int = 5000) -> None:
        self.url = url
        self.cap = cap
        self.answered = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,)) for i in range(clients)]

    def _run(self, index: int) -> None:
        with httpx.Client(timeout=20) as client:
            turn = 0
            while not self._stop.is_set() and self.answered + len(self.failures) < self.cap:
                body = f"client {index} post {turn}".encode()
                turn += 1
                try:
                    response = client.post(self.url, content=body)
                    if (response.status_code, response.content) == (200, body):
                        self.answered += 1
                    else:
                        self.failures.append(f"{response.status_code} {response.text[:200]}")
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))

    def __enter__(self) -> PostLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        wait_until(lambda: self.answered >= count, timeout, f"{count} answered POSTs")


def test_a_dying_replica_costs_no_post_it_did_not_hold(
    deployed: tuple[AppRegistry, str],
) -> None:
    """SIGTERM to one of two replicas (its pid from the registry) under 10 concurrent POST
    clients: it finishes what it holds; nothing else may fail, including POSTs that would
    have gone to its pooled connections."""
    registry, url = deployed
    victim, _ = serving_pids(registry)
    with PostLoop(f"{url}/apps/default/hello/echo") as load:
        load.wait_for(100)
        os.kill(victim, signal.SIGTERM)

        def replaced() -> bool:
            status = registry.status(HELLO)
            assert status is not None
            assert status.serving is not None
            first = status.serving.replicas[0]
            return first.state is ReplicaState.READY and first.pid not in (None, victim)

        wait_until(replaced, 30, "the stopped replica to come back")
        load.wait_for(load.answered + 100)
    assert load.failures == []
    status = registry.status(HELLO)
    assert status is not None
    assert status.serving is not None
    assert status.serving.replicas[0].restarts == 1


def test_path_route_prefix_reaches_flask_as_script_name(deployed: tuple[AppRegistry, str]) -> None:
    _, url = deployed
    by_path = httpx.get(f"{url}/apps/default/hello/link").json()
    assert by_path == {
        "link": "/apps/default/hello/",
        "script_root": "/apps/default/hello",
        "path": "/link",
    }
    by_host = httpx.get(
        f"{url}/link", headers={"Host": "hello-default.apps.localhost", "SCRIPT_NAME": "/evil"}
    ).json()
    assert by_host == {"link": "/", "script_root": "", "path": "/link"}


def test_rolling_switch_between_gunicorn_revisions_under_load(
    deployed: tuple[AppRegistry, str], gunicorn_venv: Path, flask_app: Path
) -> None:
    registry, url = deployed
    old = serving_pids(registry)
    with Hammer(f"{url}/apps/default/hello/") as load:
        load.wait_for(20)
        result = registry.deploy(
            HELLO, gunicorn_revision(gunicorn_venv, flask_app, "2"), ready_timeout=60
        )
        assert result.succeeded, result.message
        served = len(load.outcomes)
        load.wait_for(served + 20)
    assert load.failures == []
    revisions = [httpx.Response(200, content=text).json()["revision"] for text in load.outcomes]
    assert revisions[0] == "1"
    assert revisions[-1] == "2"
    assert_all_gone(old)


def test_gunicorn_app_over_its_memory_limit_is_oomkilled(
    gunicorn_venv: Path, flask_app: Path, tmp_path: Path
) -> None:
    support = detect_limit_support()
    if support.mechanism not in ("cgroup1", "cgroup2") or support.memory is None:
        pytest.skip(f"needs a cgroup memory controller: {support.detail}")
    spec = gunicorn_revision(
        gunicorn_venv,
        flask_app,
        "1",
        replicas=1,
        limits=ResourceLimits.parse(memory="128Mi", cpu="500m"),
    )
    with open_registry(tmp_path, limit_support=support) as registry:
        assert registry.deploy(HELLO, spec, ready_timeout=60).succeeded
        before = serving_pids(registry)
        with serve_proxy(registry) as url, httpx.Client(timeout=30) as client:
            assert client.get(f"{url}/apps/default/hello/hog?mb=10").status_code == 200
            assert client.get(f"{url}/apps/default/hello/hog?mb=400").status_code == 502

            def reported() -> bool:
                status = registry.status(HELLO)
                assert status is not None
                assert status.serving is not None
                last = status.serving.replicas[0].last_exit
                return last is not None and last.reason == "OOMKilled"

            wait_until(reported, 10, "OOMKilled to be reported")
            status = registry.status(HELLO)
            assert status is not None
            assert status.serving is not None
            replica = status.serving.replicas[0]
            assert replica.last_exit is not None
            assert replica.last_exit.message == "exceeded its memory limit of 128Mi"
            assert replica.limits.memory is not None
            assert replica.limits.memory.enforced
            assert replica.limits.cpu is not None
            assert replica.limits.cpu.enforced
            wait_until(
                lambda: client.get(f"{url}/apps/default/hello/").status_code == 200,
                30,
                "the replica to come back",
            )
            assert serving_pids(registry) != before
        assert_all_gone(before)
