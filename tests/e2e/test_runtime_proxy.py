"""The route proxy under a real uvicorn, in front of real replica processes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.runtime_support import (
    HELLO,
    open_registry,
    revision,
    serve_proxy,
)
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import RouteOptions
from wharf.runtime.specs import RevisionSpec

pytestmark = pytest.mark.e2e


@pytest.fixture
def routed(tmp_path: Path) -> Iterator[tuple[AppRegistry, str]]:
    """default/hello deployed with 2 replicas, behind the proxy: (registry, proxy URL)."""
    with open_registry(tmp_path) as registry:
        result = registry.deploy(HELLO, revision(tmp_path, "1", replicas=2), ready_timeout=20)
        assert result.succeeded, result.message
        with serve_proxy(registry) as url:
            yield registry, url


def test_requests_are_spread_over_ready_replicas(routed: tuple[AppRegistry, str]) -> None:
    _, url = routed
    with httpx.Client() as client:
        pids = {client.get(f"{url}/apps/default/hello/").text.split()[3] for _ in range(6)}
    assert len(pids) == 2


def test_platform_paths_pass_through(routed: tuple[AppRegistry, str]) -> None:
    _, url = routed
    assert httpx.get(f"{url}/api/v1/health").json() == {"status": "ok"}


def test_mounted_as_starlette_middleware_it_works_the_same(
    routed: tuple[AppRegistry, str],
) -> None:
    registry, _ = routed
    with serve_proxy(registry, as_middleware=True) as url:
        assert httpx.get(f"{url}/api/v1/health").json() == {"status": "ok"}
        assert httpx.get(f"{url}/apps/default/hello/x").text.endswith("/apps/default/hello/x")
        assert httpx.get(f"{url}/apps/default/nope/").status_code == 404


def test_forwarded_headers_and_no_hop_by_hop(routed: tuple[AppRegistry, str]) -> None:
    _, url = routed
    response = httpx.get(
        f"{url}/apps/default/hello/headers?q=1",
        headers={
            "Connection": "keep-alive, X-Secret-Hop",
            "X-Secret-Hop": "1",
            "Keep-Alive": "timeout=5",
            "X-Forwarded-For": "10.1.2.3",
            "X-Forwarded-Prefix": "/spoofed",
            "SCRIPT_NAME": "/spoofed",
            "X-App-Header": "kept",
        },
    )
    seen = response.json()
    headers = {k.lower(): v for k, v in seen["headers"].items()}
    assert seen["path"] == "/apps/default/hello/headers?q=1"
    # uvicorn trusts X-Forwarded-For from loopback, so the client is already 10.1.2.3
    assert headers["x-forwarded-for"] == "10.1.2.3"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == url.removeprefix("http://")
    assert headers["x-forwarded-prefix"] == "/apps/default/hello"
    assert headers["script_name"] == "/apps/default/hello"
    assert headers["x-app-header"] == "kept"
    assert "x-secret-hop" not in headers
    assert "keep-alive" not in headers
    direct = httpx.get(f"{url}/apps/default/hello/headers").json()["headers"]
    assert direct["x-forwarded-for"] == "127.0.0.1"
    assert len(response.headers.get_list("date")) == 1, "one Date, not the replica's as well"
    assert response.headers.get_list("server") == ["uvicorn"]


def test_host_based_route_and_custom_hostname(routed: tuple[AppRegistry, str]) -> None:
    registry, url = routed
    generated = httpx.get(f"{url}/x", headers={"Host": "hello-default.apps.localhost:1234"})
    assert generated.text.endswith("path /x")
    keep = RouteOptions(hostname="models.example.com", path="/api", path_mode="keep")
    registry.set_route(HELLO, keep)
    custom = httpx.get(f"{url}/api/predict", headers={"Host": "models.example.com"})
    assert custom.text.endswith("path /api/predict")
    outside = httpx.get(f"{url}/other", headers={"Host": "models.example.com"})
    assert outside.status_code == 404
    seen = httpx.get(f"{url}/api/headers", headers={"Host": "models.example.com"}).json()
    assert "script_name" not in {k.lower() for k in seen["headers"]}
    assert "x-forwarded-prefix" not in {k.lower() for k in seen["headers"]}
    registry.set_route(HELLO, RouteOptions(hostname="models.example.com", path="/api"))
    seen = httpx.get(f"{url}/api/headers", headers={"Host": "models.example.com"}).json()
    prefixes = {k.lower(): v for k, v in seen["headers"].items()}
    assert (prefixes["script_name"], prefixes["x-forwarded-prefix"]) == ("/api", "/api")


def test_strip_prefix_style(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        base = revision(tmp_path, "1")
        spec = RevisionSpec("1", base.command, prefix_style="strip", backoff=base.backoff)
        assert registry.deploy(HELLO, spec, ready_timeout=20).succeeded
        with serve_proxy(registry) as url:
            assert httpx.get(f"{url}/apps/default/hello/x?y=1").text.endswith("path /x?y=1")
            assert httpx.get(f"{url}/apps/default/hello").text.endswith("path /")
            seen = httpx.get(f"{url}/apps/default/hello/headers").json()["headers"]
            assert seen["x-forwarded-prefix"] == "/apps/default/hello"
            assert "script_name" not in {k.lower() for k in seen}


def test_unknown_route_is_404_and_no_replica_is_503(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        registry.set_route(HELLO, RouteOptions())
        with serve_proxy(registry) as url:
            unknown = httpx.get(f"{url}/apps/default/nope/x")
            assert unknown.status_code == 404
            assert unknown.headers["content-type"] == "application/problem+json"
            assert unknown.json()["code"] == "no-such-route"
            waiting = httpx.get(f"{url}/apps/default/hello/")
            assert waiting.status_code == 503
            assert waiting.headers["retry-after"] == "1"
            problem = waiting.json()
            assert problem["code"] == "no-ready-replica"
            assert problem["type"] == "urn:wharf:problem:no-ready-replica"
            assert problem["detail"] == (
                "app default/hello has no serving revision yet: its first build has not completed"
            )
            assert problem["title"] == "Service unavailable"


def test_response_is_streamed_not_buffered(routed: tuple[AppRegistry, str], tmp_path: Path) -> None:
    _, url = routed
    release = tmp_path / "release-last-chunk"
    with httpx.stream("GET", f"{url}/apps/default/hello/stream?{release}", timeout=20) as response:
        pieces = response.iter_raw()
        received = b""
        while b"second " not in received:
            received += next(pieces)
        assert received == b"first second ", "both arrived while the replica still held the last"
        release.write_text("go")
        received += b"".join(pieces)
    assert received == b"first second last."
    assert "content-length" not in response.headers


def test_large_bodies_both_ways(routed: tuple[AppRegistry, str]) -> None:
    _, url = routed
    size = 20 * 2**20
    with httpx.stream("GET", f"{url}/apps/default/hello/big?{size}", timeout=30) as response:
        assert response.headers["content-length"] == str(size)
        total = sum(len(piece) for piece in response.iter_raw())
    assert total == size
    body = b"y" * (3 * 2**20)
    echoed = httpx.post(f"{url}/apps/default/hello/echo", content=body, timeout=30)
    assert echoed.content == b"echo:" + body

    def upload() -> Iterator[bytes]:
        yield b"chunked "
        yield b"upload"

    chunked = httpx.post(f"{url}/apps/default/hello/echo", content=upload(), timeout=30)
    assert chunked.content == b"echo:chunked upload"


def test_head_and_empty_post(routed: tuple[AppRegistry, str]) -> None:
    _, url = routed
    head = httpx.head(f"{url}/apps/default/hello/big?1000")
    assert head.status_code == 200
    assert head.headers["content-length"] == "1000"
    assert head.content == b""
    assert httpx.post(f"{url}/apps/default/hello/echo").content == b"echo:"
    after = httpx.get(f"{url}/apps/default/hello/headers")
    assert json.loads(after.text)["path"] == "/apps/default/hello/headers"


def test_replay_buffer_is_bounded_bigger_bodies_are_not_retried(tmp_path: Path) -> None:
    with open_registry(tmp_path) as registry:
        result = registry.deploy(HELLO, revision(tmp_path, "1", replicas=2), ready_timeout=20)
        assert result.succeeded, result.message
        with serve_proxy(registry, replay_limit=4096) as url, httpx.Client() as client:
            # Under the limit: the replica hung up without answering, another one answers.
            small = client.put(
                f"{url}/apps/default/hello/drop-once?{tmp_path / 'a'}", content=b"x" * 4000
            )
            assert (small.status_code, small.text) == (200, "put 4000 bytes")
            # Over it: streamed without a copy, so not retried: 502, and nothing half-done.
            big = client.put(
                f"{url}/apps/default/hello/drop-once?{tmp_path / 'b'}", content=b"x" * 5000
            )
            assert big.status_code == 502
            assert big.json()["code"] == "replica-failed"
            assert (tmp_path / "b").exists()
            again = client.put(
                f"{url}/apps/default/hello/drop-once?{tmp_path / 'b'}", content=b"x" * 5000
            )
            assert (again.status_code, again.text) == (200, "put 5000 bytes")
