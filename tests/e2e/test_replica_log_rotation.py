"""A chatty replica's log rotates by size while the replica runs on and keeps writing."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from wharf.logfiles import LogRotation, generation
from wharf.runtime.limits import rlimit_support
from wharf.runtime.replica import ReplicaState
from wharf.runtime.replicas import ReplicaSet
from wharf.runtime.specs import ProcessSpec, RevisionSpec

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

CHATTY = """
import http.server, sys, threading, time

def chatter():
    n = 0
    while True:
        n += 1
        print(f"line {n:06d} " + "x" * 80, flush=True)
        time.sleep(0.001)

class Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass

threading.Thread(target=chatter, daemon=True).start()
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Quiet).serve_forever()
"""


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def test_a_replica_log_rotates_keeps_its_generations_and_the_replica_writes_on(
    tmp_path: Path,
) -> None:
    script = tmp_path / "chatty.py"
    script.write_text(CHATTY)
    spec = RevisionSpec(
        "1",
        ProcessSpec(
            [sys.executable, str(script), "{port}"], {"PATH": os.environ["PATH"]}, tmp_path
        ),
    )
    rotation = LogRotation(max_bytes=8192, backups=2)
    replicas = ReplicaSet(
        name="chatty",
        spec=spec,
        support=rlimit_support("test"),
        logs_dir=tmp_path / "logs",
        log_rotation=rotation,
    )
    log = tmp_path / "logs" / "replica-0.log"
    replicas.start()
    try:
        assert replicas.wait_ready(20)
        wait_until(lambda: generation(log, 2).exists(), 30, "a second rotation")
        older = generation(log, 2).read_text().splitlines()[-1]
        newer = generation(log, 1).read_text().splitlines()[0]
        # Generations follow each other: the newer one starts after the older one ends.
        assert int(newer.split()[1]) > int(older.split()[1])
        size_then = log.stat().st_size
        wait_until(lambda: log.stat().st_size != size_then, 10, "new lines")
        assert replicas.status().replicas[0].state is ReplicaState.READY
        assert not generation(log, 3).exists()
        for kept in (generation(log, 1), generation(log, 2)):
            # Rotated soon after passing the limit (checked ten times a second).
            assert kept.stat().st_size < rotation.max_bytes * 20
    finally:
        replicas.stop(5)
