"""Route resolution, route options, response-head parsing and the small runtime value types."""

from __future__ import annotations

from pathlib import Path

import pytest

from wharf.errors import Conflict, Invalid
from wharf.runtime.limits import rlimit_support
from wharf.runtime.registry import AppRegistry
from wharf.runtime.routes import AppKey, RouteOptions
from wharf.runtime.specs import Backoff, ProcessSpec, as_command_factory
from wharf.runtime.upstream import UpstreamError, parse_response_head

HELLO = AppKey("default", "hello")


@pytest.fixture
def registry(tmp_path: Path) -> AppRegistry:
    return AppRegistry(
        apps_domain="apps.localhost", logs_dir=tmp_path, limit_support=rlimit_support("test")
    )


def test_path_and_host_routes_resolve_to_the_app(registry: AppRegistry) -> None:
    registry.set_route(HELLO, RouteOptions())
    by_path = registry.resolve("127.0.0.1:8080", "/apps/default/hello/predict")
    assert by_path is not None
    assert by_path.target is not None
    assert by_path.prefix == "/apps/default/hello"
    assert by_path.target.key == HELLO
    bare = registry.resolve("localhost", "/apps/default/hello")
    assert bare is not None
    assert bare.target is not None
    by_host = registry.resolve("Hello-Default.apps.localhost:8080", "/api/v1/anything")
    assert by_host is not None
    assert by_host.target is not None
    assert by_host.prefix == ""


def test_requests_for_the_platform_are_not_claimed(registry: AppRegistry) -> None:
    registry.set_route(HELLO, RouteOptions())
    assert registry.resolve("127.0.0.1:8080", "/api/v1/health") is None
    assert registry.resolve("127.0.0.1:8080", "/applications") is None
    assert registry.resolve("127.0.0.1:8080", "/") is None


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("127.0.0.1", "/apps/default/other/x"),
        ("127.0.0.1", "/apps/default"),
        ("127.0.0.1", "/apps"),
        ("other-default.apps.localhost", "/"),
    ],
)
def test_unknown_apps_are_a_404_match(registry: AppRegistry, host: str, path: str) -> None:
    registry.set_route(HELLO, RouteOptions())
    match = registry.resolve(host, path)
    assert match is not None
    assert match.target is None


def test_custom_hostname_and_path(registry: AppRegistry) -> None:
    registry.set_route(HELLO, RouteOptions(hostname="Models.Example.com.", path="/api/"))
    match = registry.resolve("models.example.com", "/api/predict")
    assert match is not None
    assert match.target is not None
    assert match.prefix == "/api", "the app sees paths below the prefix (strip, the default)"
    outside = registry.resolve("models.example.com", "/other")
    assert outside is not None
    assert outside.target is None
    status = registry.status(HELLO)
    assert status is not None
    assert status.hostnames == ("hello-default.apps.localhost", "models.example.com")


def test_path_mode_keep_passes_the_path_whole(registry: AppRegistry) -> None:
    registry.set_route(HELLO, RouteOptions(path="/api", path_mode="keep"))
    match = registry.resolve("hello-default.apps.localhost", "/api/predict")
    assert match is not None
    assert match.target is not None
    assert match.prefix == ""


@pytest.mark.parametrize("path", ["/../x", "/a/./b", "/a/..", "/."])
def test_dot_segments_in_a_route_path_are_refused(registry: AppRegistry, path: str) -> None:
    with pytest.raises(Invalid, match="segment"):
        registry.set_route(HELLO, RouteOptions(path=path))


def test_no_route_hides_the_app_everywhere(registry: AppRegistry) -> None:
    registry.set_route(HELLO, None)
    for host, path in [
        ("127.0.0.1", "/apps/default/hello/"),
        ("hello-default.apps.localhost", "/"),
    ]:
        match = registry.resolve(host, path)
        assert match is not None
        assert match.target is None


def test_hostname_taken_by_another_app_is_a_conflict(registry: AppRegistry) -> None:
    registry.set_route(HELLO, RouteOptions(hostname="models.example.com"))
    with pytest.raises(Conflict, match="already routed to app default/hello"):
        registry.set_route(AppKey("default", "other"), RouteOptions(hostname="models.example.com"))
    registry.set_route(AppKey("c", "a-b"), RouteOptions())
    with pytest.raises(Conflict):  # generated names can collide too: a-b in c, a in b-c
        registry.set_route(AppKey("b-c", "a"), RouteOptions())
    registry.set_route(HELLO, RouteOptions(hostname="models2.example.com"))


@pytest.mark.parametrize(
    "route",
    [
        RouteOptions(hostname="bad_name.example.com"),
        RouteOptions(hostname="127.0.0.1"),
        RouteOptions(hostname="localhost"),
        RouteOptions(path="no-slash"),
        RouteOptions(path="/a?b"),
    ],
)
def test_bad_route_options_are_invalid(registry: AppRegistry, route: RouteOptions) -> None:
    with pytest.raises(Invalid):
        registry.set_route(HELLO, route)


def test_response_heads_are_parsed_with_their_framing() -> None:
    head = parse_response_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\n", head_request=False
    )
    assert (head.status, head.length, head.chunked, head.keep_alive) == (200, 5, False, True)
    assert head.headers == [(b"content-length", b"5"), (b"server", b"x")]
    chunked = parse_response_head(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head_request=False
    )
    assert (chunked.length, chunked.chunked) == (None, True)
    until_close = parse_response_head(b"HTTP/1.0 200 OK\r\n\r\n", head_request=False)
    assert (until_close.length, until_close.keep_alive) == (None, False)
    closing = parse_response_head(
        b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n", head_request=False
    )
    assert (closing.length, closing.keep_alive) == (0, False)
    head_only = parse_response_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", head_request=True
    )
    assert head_only.length == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 OK\r\n\r\n",
        b"SPDY/3 200 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n",
        b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    ],
)
def test_malformed_response_heads_are_refused(raw: bytes) -> None:
    with pytest.raises(UpstreamError):
        parse_response_head(raw, head_request=False)


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(initial=1, factor=2, cap=5)
    assert [backoff.delay(n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_process_spec_port_placeholder(tmp_path: Path) -> None:
    spec = ProcessSpec(
        ["gunicorn", "--bind", "127.0.0.1:{port}", "{not-a-port}"], {"PORT": "{port}"}, tmp_path
    )
    started = as_command_factory(spec)(8123)
    assert list(started.argv) == ["gunicorn", "--bind", "127.0.0.1:8123", "{not-a-port}"]
    assert started.env == {"PORT": "8123"}
    assert as_command_factory(spec.with_port)(1).env == {"PORT": "1"}
