"""Replicas in the sandbox keep their runtime contract: limits and OOM detection (launcher, then
bubblewrap, then the app), a graceful stop that reaches the app, restarts, an unprivileged uid."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.runtime_support import HELLO, open_registry, replica_spec, wait_until
from tests.sandboxing import require_bubblewrap
from wharf.runtime.limits import ResourceLimits, detect_limit_support, rlimit_support
from wharf.runtime.replica import Replica, ReplicaState
from wharf.runtime.specs import Backoff, ProcessSpec, RevisionSpec
from wharf.sandbox import Sandbox, SandboxProfile, detect_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

APP = r"""
import http.server, json, os, signal, sys, time

def drain(signum, frame):
    print("SIGTERM received: draining", flush=True)
    time.sleep(0.3)
    print("drained", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, drain)

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"uid": os.getuid(), "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


@pytest.fixture
def sandbox() -> Sandbox:
    require_bubblewrap()
    found = detect_sandbox("auto", "bwrap", 64500, 64500)
    assert found.active, found.detail
    return found


def sandboxed(sandbox: Sandbox, spec: ProcessSpec) -> Callable[[int], ProcessSpec]:
    profile = SandboxProfile(cwd=spec.cwd, read_only=(spec.cwd, Path(sys.prefix)))

    def command(port: int) -> ProcessSpec:
        plain = spec.with_port(port)
        return ProcessSpec(sandbox.command(profile, plain.argv), plain.env, plain.cwd)

    return command


@pytest.mark.parametrize("mechanism", ["detected", "rlimit"])
def test_a_sandboxed_replica_over_its_memory_limit_is_reported_oom_killed(
    tmp_path: Path, sandbox: Sandbox, mechanism: str
) -> None:
    support = detect_limit_support() if mechanism == "detected" else rlimit_support("test")
    if support.memory is None:
        pytest.skip(f"memory limits cannot be enforced here: {support.detail}")
    (tmp_path / "app").mkdir()
    spec = RevisionSpec(
        "1",
        sandboxed(sandbox, replica_spec(tmp_path / "app", HOG_MB_EACH="400")),
        limits=ResourceLimits.parse(memory="128Mi"),
        backoff=Backoff(initial=5, cap=5),
    )
    with open_registry(tmp_path, limit_support=support) as registry:
        result = registry.deploy(HELLO, spec, ready_timeout=10)
        assert not result.succeeded
        status = registry.status(HELLO)
        assert status is not None
        assert status.last_rollout is not None
        assert "exceeded its memory limit of 128Mi" in status.last_rollout.message


def test_a_sandboxed_replica_serves_as_non_root_drains_on_stop_and_restarts(
    tmp_path: Path, sandbox: Sandbox
) -> None:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "app.py").write_text(APP)
    plain = ProcessSpec([sys.executable, "app.py", "{port}"], {"PATH": os.defpath}, folder)
    replica = Replica(
        index=0,
        name="sandboxed",
        command=sandboxed(sandbox, plain),
        limits=ResourceLimits(),
        support=rlimit_support("test"),
        log_path=tmp_path / "replica.log",
        backoff=Backoff(initial=0.2, cap=0.5),
    )
    replica.start()
    try:
        wait_until(lambda: replica.status().state is ReplicaState.READY, 30, "the replica")
        port = replica.status().port
        answer = httpx.get(f"http://127.0.0.1:{port}/").json()
        if os.geteuid() == 0:
            assert answer["uid"] == 64500
        assert answer["pid"] != replica.status().pid, "the app runs in a pid namespace of its own"
        # An app killed from inside comes back: a restart goes through the sandbox again.
        os.kill(_app_pid(replica.status().pid), 9)  # type: ignore[arg-type]
        wait_until(lambda: replica.status().restarts == 1, 30, "the restart")
        wait_until(lambda: replica.status().state is ReplicaState.READY, 30, "the replica again")
    finally:
        began = time.monotonic()
        replica.request_stop(grace=10)
        assert replica.join(30)
    assert time.monotonic() - began < 5, "the app drained and exited: no SIGKILL after 10 s"
    log = (tmp_path / "replica.log").read_text()
    assert "SIGTERM received: draining" in log
    assert "drained" in log


def _app_pid(outer: int | None) -> int:
    """The app's host pid: the deepest process below the replica's (bwrap's) pid."""
    assert outer is not None
    pid = outer
    while True:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if not children:
            return pid
        pid = int(children[0])
