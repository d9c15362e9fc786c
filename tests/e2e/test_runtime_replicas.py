"""Supervised replicas as real processes: readiness, restarts, memory limits, stops, rollouts.

Replicas here are a small ``http.server`` program (fast to start); the same paths with real
gunicorn are in ``test_runtime_gunicorn.py``. The proxy runs under a real uvicorn on loopback.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.runtime_support import (
    FAST,
    HELLO,
    Hammer,
    assert_all_gone,
    open_registry,
    pid_exists,
    replica_spec,
    revision,
    serve_proxy,
    serving_pids,
    wait_until,
    write_replica_app,
)
from wharf.errors import Conflict
from wharf.runtime.limits import (
    ResourceLimits,
    detect_limit_support,
    rlimit_support,
)
from wharf.runtime.registry import AppRegistry, RolloutResult
from wharf.runtime.replicas import ReplicaSet
from wharf.runtime.specs import Backoff, Endpoint, ProcessSpec, RevisionSpec
from wharf.states import ReplicaState

pytestmark = pytest.mark.e2e


# -- replicas ------------------------------------------------------------------------------


def test_replicas_become_ready_and_answer_on_their_own_ports(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        result = registry.deploy(HELLO, revision(tmp_path, "1", replicas=2), ready_timeout=20)
        assert result.succeeded, result.message
        status = registry.status(HELLO)
        assert status is not None
        assert status.serving is not None
        assert status.serving.phase == "Ready"
        ports = {r.port for r in status.serving.replicas}
        assert len(ports) == 2
        for replica in status.serving.replicas:
            assert replica.state is ReplicaState.READY
            assert os.getsid(replica.pid or 0) == replica.pid, "each replica leads its own session"
            reply = httpx.get(f"http://127.0.0.1:{replica.port}/x").text
            assert reply == f"revision 1 pid {replica.pid} path /x"
            assert replica.log_path.read_text().startswith("--- wharf ")


def test_a_crashing_replica_restarts_with_growing_backoff(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    spec = RevisionSpec(
        "1",
        replica_spec(tmp_path, EXIT_AFTER="0.1", STARTS_FILE=str(starts)),
        backoff=Backoff(initial=0.2, factor=2.0, cap=0.8, reset_after=30),
    )
    replica_set = ReplicaSet(
        name="crashy", spec=spec, support=rlimit_support("test"), logs_dir=tmp_path / "logs"
    )
    replica_set.start()
    try:

        def started_five_times() -> bool:
            return starts.exists() and len(starts.read_text().splitlines()) >= 5

        wait_until(started_five_times, 30, "4 restarts")
        wait_until(lambda: replica_set.status().replicas[0].last_exit is not None, 5, "an exit")
        status = replica_set.status()
        replica = status.replicas[0]
        assert replica.last_exit is not None
        assert replica.last_exit.reason == "Error"
        assert replica.last_exit.code == 3
        assert replica.last_exit.message == "exited with code 3: giving up on purpose"
        assert status.phase in ("Degraded", "Progressing")
        assert status.reason == "Error"
        times = [float(line.split()[0]) for line in starts.read_text().splitlines()]
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        # run 0.1 s + backoff 0.2, 0.4, 0.8, 0.8 (capped), plus start-up time
        assert gaps[1] > gaps[0] + 0.1
        assert gaps[2] > gaps[1] + 0.2
        assert abs(gaps[3] - gaps[2]) < 0.3, "the cap holds"
    finally:
        pids = [int(line.split()[1]) for line in starts.read_text().splitlines()]
        replica_set.stop(grace=2)
        assert replica_set.status().phase == "Stopped"
        assert_all_gone(pids)


def test_stop_kills_the_whole_session_even_what_ignores_sigterm(tmp_path: Path) -> None:
    child_file = tmp_path / "child.pid"
    spec = RevisionSpec("1", replica_spec(tmp_path, CHILD_IGNORING_TERM=str(child_file)))
    replica_set = ReplicaSet(
        name="stubborn", spec=spec, support=rlimit_support("test"), logs_dir=tmp_path / "logs"
    )
    replica_set.start()
    assert replica_set.wait_ready(20)
    main_pid = replica_set.status().replicas[0].pid
    assert main_pid is not None
    child_pid = int(child_file.read_text())
    assert pid_exists(child_pid)
    started = time.monotonic()
    replica_set.stop(grace=1)
    assert time.monotonic() - started < 5
    assert_all_gone([main_pid, child_pid], timeout=1)
    assert replica_set.status().replicas[0].state is ReplicaState.STOPPED


def test_replicas_die_with_a_killed_server(tmp_path: Path) -> None:
    """kill -9 of Wharf itself leaves no replica behind (parent-death signal)."""
    write_replica_app(tmp_path)
    pid_file = tmp_path / "replica.pid"
    program = f"""
import sys, time
from pathlib import Path
from wharf.runtime.limits import rlimit_support
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import AppKey
from wharf.runtime.specs import ProcessSpec, RevisionSpec
registry = AppRegistry(apps_domain="x", logs_dir=Path({str(tmp_path)!r}),
                       limit_support=rlimit_support("test"))
spec = ProcessSpec([sys.executable, {str(tmp_path / "replica_app.py")!r}, "{{port}}"],
                   {{"PATH": "/usr/bin:/bin"}}, Path({str(tmp_path)!r}))
registry.deploy(AppKey("w", "a"), RevisionSpec("1", spec, replicas=2), ready_timeout=20)
pids = [r.pid for r in registry.status(AppKey("w", "a")).serving.replicas]
Path({str(pid_file)!r}).write_text(" ".join(map(str, pids)))
time.sleep(3600)
"""
    import subprocess

    server = subprocess.Popen([sys.executable, "-c", program], start_new_session=True)
    try:
        wait_until(pid_file.exists, 30, "the replicas to start")
        pids = [int(pid) for pid in pid_file.read_text().split()]
        assert all(pid_exists(pid) for pid in pids)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        assert_all_gone(pids)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


# -- memory limits -----------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["detected", "rlimit"])
def test_a_replica_over_its_memory_limit_is_killed_and_reported(
    tmp_path: Path, mechanism: str
) -> None:
    support = detect_limit_support() if mechanism == "detected" else rlimit_support("test")
    if support.memory is None:
        pytest.skip(f"memory limits cannot be enforced here: {support.detail}")
    spec = RevisionSpec(
        "1",
        replica_spec(tmp_path, HOG_MB_EACH="400"),
        limits=ResourceLimits.parse(memory="128Mi"),
        backoff=Backoff(initial=5, cap=5),
    )
    with open_registry(tmp_path, limit_support=support) as registry:
        result = registry.deploy(HELLO, spec, ready_timeout=5)
        assert not result.succeeded
        status = registry.status(HELLO)
        assert status is not None
        assert status.last_rollout is not None
        assert "exceeded its memory limit of 128Mi" in status.last_rollout.message
        assert status.serving is None


def test_memory_is_counted_over_the_whole_replica_without_cgroups(tmp_path: Path) -> None:
    """Three processes of 60 MiB each fit a 128Mi limit alone, not together: the watch sees it."""
    spec = RevisionSpec(
        "1",
        replica_spec(tmp_path, FORK_HOGS="3", FORK_HOG_MB="60"),
        limits=ResourceLimits.parse(memory="128Mi"),
        backoff=Backoff(initial=5, cap=5),
    )
    replica_set = ReplicaSet(
        name="hogs", spec=spec, support=rlimit_support("test"), logs_dir=tmp_path / "logs"
    )
    replica_set.start()
    try:
        wait_until(
            lambda: replica_set.status().replicas[0].state is ReplicaState.OOM_KILLED,
            20,
            "the replica to be OOMKilled",
        )
        status = replica_set.status()
        assert status.reason == "OOMKilled"
        assert status.message is not None
        assert status.message.startswith("replica 0 exceeded its memory limit of 128Mi (it held ")
        assert status.limits.memory is not None
        assert status.limits.memory.enforced
    finally:
        replica_set.stop(grace=1)


def test_served_app_going_over_its_limit_is_reported_and_comes_back(tmp_path: Path) -> None:
    support = detect_limit_support()
    if support.memory is None:
        pytest.skip(f"memory limits cannot be enforced here: {support.detail}")
    spec = RevisionSpec(
        "1",
        replica_spec(tmp_path),
        replicas=1,
        limits=ResourceLimits.parse(memory="128Mi"),
        backoff=FAST,
    )
    with open_registry(tmp_path, limit_support=support) as registry:
        assert registry.deploy(HELLO, spec, ready_timeout=20).succeeded
        before = serving_pids(registry)
        with serve_proxy(registry) as url, httpx.Client(timeout=20) as client:
            hog = client.get(f"{url}/apps/default/hello/hog?300")
            assert hog.status_code in (500, 502), hog.text  # killed, or refused the allocation

            def reported() -> bool:
                status = registry.status(HELLO)
                assert status is not None
                assert status.serving is not None
                last = status.serving.replicas[0].last_exit
                return last is not None and last.reason == "OOMKilled"

            if support.mechanism != "rlimit":  # rlimits fail the allocation; nothing dies
                wait_until(reported, 10, "OOMKilled to be reported")
                status = registry.status(HELLO)
                assert status is not None
                assert status.serving is not None
                replica = status.serving.replicas[0]
                assert replica.last_exit is not None
                assert replica.last_exit.message == "exceeded its memory limit of 128Mi"
                wait_until(
                    lambda: client.get(f"{url}/apps/default/hello/").status_code == 200,
                    20,
                    "the replica to come back",
                )
                assert serving_pids(registry) != before


# -- rollouts ----------------------------------------------------------------------------


def test_rolling_switch_under_load_fails_no_request(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        assert registry.deploy(
            HELLO, revision(tmp_path, "1", replicas=2), ready_timeout=20
        ).succeeded
        old = serving_pids(registry)
        with serve_proxy(registry) as url, Hammer(f"{url}/apps/default/hello/") as load:
            load.wait_for(20)
            result = registry.deploy(HELLO, revision(tmp_path, "2", replicas=2), ready_timeout=20)
            assert result.succeeded, result.message
            assert (result.previous, result.serving) == ("1", "2")
            served = len(load.outcomes)
            load.wait_for(served + 20)
        assert load.failures == []
        revisions = [text.split()[1] for text in load.outcomes]
        assert revisions[0] == "1"
        assert revisions[-1] == "2"
        switch = revisions.index("2")
        assert set(revisions[switch:]) == {"2"}, "traffic moved at once, and only once"
        assert_all_gone(old)


def test_switch_waits_for_in_flight_requests_to_the_old_revision(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        assert registry.deploy(HELLO, revision(tmp_path, "1"), ready_timeout=20).succeeded
        with serve_proxy(registry) as url:
            slow: list[httpx.Response] = []
            request = threading.Thread(
                target=lambda: slow.append(
                    httpx.get(f"{url}/apps/default/hello/slow?2", timeout=20)
                )
            )
            match = registry.resolve("127.0.0.1", "/apps/default/hello/slow")
            assert match is not None
            assert match.target is not None
            old = match.target.current
            assert old is not None
            request.start()
            wait_until(lambda: old.in_flight > 0, 10, "the slow request to be in flight")
            result = registry.deploy(HELLO, revision(tmp_path, "2"), ready_timeout=20)
            request.join(20)
            assert result.succeeded
            assert result.seconds >= 1.0, "the old revision drained before it was stopped"
            assert slow[0].status_code == 200
            assert slow[0].text == "slow 1"


def test_a_revision_that_never_gets_ready_leaves_the_old_one_serving(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        assert registry.deploy(HELLO, revision(tmp_path, "1"), ready_timeout=20).succeeded
        serving = serving_pids(registry)
        never = revision(tmp_path, "2", replicas=2, NEVER_LISTEN="1")
        result = registry.deploy(HELLO, never, ready_timeout=1.5)
        assert not result.succeeded
        assert result.reason == "ReadinessTimeout"
        assert result.serving == "1"
        assert re.search(r"^revision 2: 0 of 2 replicas ready after [12] s", result.message)
        assert "does not answer HTTP on port" in result.message
        assert result.message.endswith("revision 1 keeps serving")
        crashing = registry.deploy(HELLO, revision(tmp_path, "3", EXIT_AFTER="0"), ready_timeout=1)
        assert not crashing.succeeded
        assert "replica 0 exited with code 3: giving up on purpose" in crashing.message
        assert serving_pids(registry) == serving
        with serve_proxy(registry) as url:
            assert httpx.get(f"{url}/apps/default/hello/").text.startswith("revision 1 ")
        status = registry.status(HELLO)
        assert status is not None
        assert status.rolling_out is None
        assert status.last_rollout == crashing


def test_rollback_is_just_a_deploy_of_an_earlier_revision(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        for name in ("1", "2", "1"):
            assert registry.deploy(HELLO, revision(tmp_path, name), ready_timeout=20).succeeded
        with serve_proxy(registry) as url:
            assert httpx.get(f"{url}/apps/default/hello/").text.startswith("revision 1 ")


def test_stop_app_takes_routes_away_and_stops_replicas(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        assert registry.deploy(
            HELLO, revision(tmp_path, "1", replicas=2), ready_timeout=20
        ).succeeded
        pids = serving_pids(registry)
        with serve_proxy(registry) as url:
            registry.stop_app(HELLO, drain_timeout=1, stop_grace=1)
            gone = httpx.get(f"{url}/apps/default/hello/")
            assert gone.status_code == 404
            assert gone.json()["code"] == "no-such-route"
        assert_all_gone(pids)
        assert registry.status(HELLO) is None


def test_close_interrupts_a_rollout_and_stops_every_replica(tmp_path: Path) -> None:
    registry = AppRegistry(
        apps_domain="apps.localhost", logs_dir=tmp_path / "logs", limit_support=None
    )
    assert registry.deploy(HELLO, revision(tmp_path, "1"), ready_timeout=20).succeeded
    results: list[RolloutResult] = []
    never = revision(tmp_path, "2", replicas=2, NEVER_LISTEN="1")
    rollout = threading.Thread(
        target=lambda: results.append(registry.deploy(HELLO, never, ready_timeout=60))
    )
    rollout.start()

    def new_replicas_running() -> bool:
        status = registry.status(HELLO)
        assert status is not None
        rolling = status.rolling_out
        return rolling is not None and all(r.pid is not None for r in rolling.replicas)

    wait_until(new_replicas_running, 20, "the new revision's processes")
    status = registry.status(HELLO)
    assert status is not None
    assert status.serving is not None
    assert status.rolling_out is not None
    pids = [r.pid for s in (status.serving, status.rolling_out) for r in s.replicas if r.pid]
    started = time.monotonic()
    registry.close(grace=1)
    assert time.monotonic() - started < 10
    rollout.join(10)
    assert results[0].reason == "Stopped"
    assert results[0].message == "the runtime is shutting down; revision 1 keeps serving"
    assert_all_gone(pids)
    with pytest.raises(Conflict):
        registry.deploy(HELLO, revision(tmp_path, "3"))


def test_a_replica_that_cannot_start_says_why_and_keeps_trying(tmp_path: Path) -> None:
    calls: list[int] = []

    def failing_command(port: int) -> ProcessSpec:
        calls.append(port)
        if len(calls) == 1:
            raise ValueError("APP_HOME names nowhere")
        return ProcessSpec(["true"], {"PATH": "/usr/bin:/bin"}, tmp_path / "missing")

    spec = RevisionSpec("1", failing_command, backoff=Backoff(initial=0.1, cap=0.1))
    replica_set = ReplicaSet(
        name="broken", spec=spec, support=rlimit_support("test"), logs_dir=tmp_path / "logs"
    )
    replica_set.start()
    try:
        wait_until(lambda: replica_set.status().restarts >= 2, 10, "two restarts")
        assert len(set(calls)) == len(calls), "a new port for every start"
        last = replica_set.status().replicas[0].last_exit
        assert last is not None
        assert last.reason == "StartFailed"
        assert last.message == f"cannot start in {tmp_path / 'missing'}: No such file or directory"
        assert not replica_set.wait_ready(0.2)
    finally:
        replica_set.stop(grace=1)
    assert replica_set.status().phase == "Stopped"


def test_the_registry_says_at_once_when_a_replicas_process_ends(tmp_path: Path) -> None:
    """What the proxy drops its pooled connections on: every exit is reported, with the
    endpoint it served on, before the replica is started again."""
    gone: list[Endpoint] = []
    with open_registry(tmp_path) as registry:
        registry.on_endpoint_gone(gone.append)
        result = registry.deploy(HELLO, revision(tmp_path, "1", replicas=2), ready_timeout=20)
        assert result.succeeded, result.message
        status = registry.status(HELLO)
        assert status is not None
        assert status.serving is not None
        victim, survivor = status.serving.replicas
        assert victim.pid is not None
        assert victim.port is not None
        os.kill(victim.pid, signal.SIGKILL)
        wait_until(lambda: bool(gone), 10, "the exit to be reported")
        assert gone == [Endpoint("127.0.0.1", victim.port)]
    # Stopping reports the others.
    assert Endpoint("127.0.0.1", survivor.port or 0) in gone[1:]
