"""Route errors say which app and why, as problem+json with Wharf's ``urn:wharf:problem:``
types; and scaling a serving revision adds or stops replicas without touching the others."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.runtime_support import (
    HELLO,
    open_registry,
    revision,
    serve_proxy,
    serving_pids,
    wait_until,
)
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import RouteOptions
from wharf.runtime.specs import Backoff

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def test_a_crashed_replica_is_named_in_the_503(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        registry.set_route(HELLO, RouteOptions())
        slow_restart = replace(revision(tmp_path, "1"), backoff=Backoff(initial=60, cap=60))
        assert registry.deploy(HELLO, slow_restart, ready_timeout=20).succeeded
        with serve_proxy(registry) as url:
            (pid,) = serving_pids(registry)
            os.kill(pid, signal.SIGKILL)  # our own child: the replica we just started
            wait_until(lambda: _ready(registry) == 0, 10, "the replica to be seen gone")
            answer = httpx.get(f"{url}/apps/default/hello/")
            assert answer.status_code == 503
            assert answer.headers["content-type"] == "application/problem+json"
            problem = answer.json()
            assert problem["type"] == "urn:wharf:problem:no-ready-replica"
            assert problem["app"] == "default/hello"
            assert problem["detail"] == (
                "app default/hello has no ready replica: 0/1 ready, "
                "last exit: replica 0 killed by SIGKILL"
            )
            unknown = httpx.get(f"{url}/apps/default/nope/")
            assert unknown.json()["type"] == "urn:wharf:problem:no-such-route"


def _ready(registry: AppRegistry) -> int:
    status = registry.status(HELLO)
    assert status is not None
    assert status.serving is not None
    return status.serving.ready


def test_scaling_keeps_the_running_replicas(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        registry.set_route(HELLO, RouteOptions())
        assert registry.deploy(HELLO, revision(tmp_path, "1"), ready_timeout=20).succeeded
        first = serving_pids(registry)
        assert registry.scale(HELLO, 3, ready_timeout=20) == (True, "1 runs 3 replicas (was 1)")
        three = serving_pids(registry)
        assert len(three) == 3
        assert three[0] == first[0]
        assert registry.scale(HELLO, 1)[0]  # type: ignore[index]
        assert serving_pids(registry) == first
        wait_until(lambda: not any(os.path.exists(f"/proc/{p}") for p in three[1:]), 10, "exit")
        status = registry.status(HELLO)
        assert status is not None
        assert status.serving is not None
        assert (status.serving.desired, status.serving.restarts) == (1, 0)


@pytest.mark.parametrize(
    ("policy", "status"), [("Redirect", 308), ("None", 403), ("Allow", 200), (None, 200)]
)
def test_a_tls_route_answers_plain_http_by_its_policy(
    tmp_path: Path, policy: str | None, status: int
) -> None:
    with open_registry(tmp_path) as registry:
        registry.set_route(HELLO, RouteOptions(insecure_policy=policy))  # type: ignore[arg-type]
        assert registry.deploy(HELLO, revision(tmp_path, "1"), ready_timeout=20).succeeded
        with serve_proxy(registry) as url:
            answer = httpx.get(f"{url}/apps/default/hello/x?y=1")
            assert answer.status_code == status, answer.text
            port = url.rsplit(":", 1)[1]
            if status == 308:
                location = f"https://127.0.0.1:{port}/apps/default/hello/x?y=1"
                assert answer.headers["location"] == location
            if status == 403:
                assert answer.json()["type"] == "urn:wharf:problem:insecure-request-refused"
            # A request that came in over https (a TLS terminator in front) always passes.
            forwarded = httpx.get(
                f"{url}/apps/default/hello/x", headers={"X-Forwarded-Proto": "https"}
            )
            assert forwarded.status_code == 200
