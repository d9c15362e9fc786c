"""Request smuggling and response framing through the route proxy: a real uvicorn with the
proxy in front of a real replica process; the bad bytes go over raw sockets.

Every bad message must get a clean 400 (from the client side) or 502 (from the replica side),
and never leave a pooled replica connection out of step: after each one, a good request on a
fresh client gets its own answer — on the very same pooled replica connection when the bad
request never reached the replica."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from tests.runtime_support import HELLO, open_registry, revision, serve_proxy
from wharf.runtime.registry import AppRegistry

pytestmark = pytest.mark.e2e

APP = "/apps/default/hello"


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppRegistry, str]]:
    """default/hello with ONE replica, so every request shares its pooled connection."""
    tmp_path = tmp_path_factory.mktemp("framing")
    with open_registry(tmp_path) as registry:
        result = registry.deploy(HELLO, revision(tmp_path, "1", replicas=1), ready_timeout=20)
        assert result.succeeded, result.message
        with serve_proxy(registry) as url:
            yield registry, url


def exchange(url: str, raw: bytes) -> bytes:
    """Send raw bytes on a new connection; everything the proxy answers until it closes."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(raw)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def upstream_port(client: httpx.Client, url: str) -> str:
    """The proxy's source port on the replica connection that carried this request."""
    response = client.get(f"{url}{APP}/peer")
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(
            b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /apps/default/hello/smuggled "
            b"HTTP/1.1\r\nHost: x\r\n\r\n",
            id="content-length-and-transfer-encoding",
        ),
        pytest.param(
            b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Content-Length: 5\r\n\r\nhello",
            id="duplicate-content-length",
        ),
        pytest.param(
            b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Content-Length: 40\r\n\r\nhello",
            id="conflicting-content-length",
        ),
        pytest.param(
            b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
            id="signed-content-length",
        ),
        pytest.param(
            b"GET /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
            id="obs-fold",
        ),
        pytest.param(b"GET /apps/default/hello/ HTTP/1.1\nHost: x\n\n", id="bare-lf"),
        pytest.param(
            b"GET /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nX-A: 1\n\r\n", id="bare-lf-header"
        ),
        pytest.param(
            b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, "
            b"identity\r\n\r\n0\r\n\r\n",
            id="chunked-not-last",
        ),
        pytest.param(
            b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n"
            b"\r\n0\r\n\r\n",
            id="space-before-colon",
        ),
    ],
)
def test_malformed_requests_get_400_and_the_pooled_connection_stays_in_step(
    routed: tuple[AppRegistry, str], raw: bytes
) -> None:
    _, url = routed
    with httpx.Client() as client:
        before = upstream_port(client, url)
    answer = exchange(url, raw)
    assert status_of(answer) == 400, answer[:200]
    assert b"smuggled" not in answer
    with httpx.Client() as client:
        # The bad request never reached the replica: the same pooled connection serves on.
        assert upstream_port(client, url) == before
        response = client.post(f"{url}{APP}/", content=b"good")
        assert (response.status_code, response.text) == (200, "echo:good")


@pytest.mark.parametrize(
    "chunk", [b"zz\r\nhello\r\n0\r\n\r\n", b"5 5\r\nhello\r\n0\r\n\r\n", b"-5\r\nhello\r\n"]
)
def test_invalid_chunk_sizes_in_a_request_body_are_refused(
    routed: tuple[AppRegistry, str], chunk: bytes
) -> None:
    _, url = routed
    raw = (
        b"POST /apps/default/hello/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunk
    )
    answer = exchange(url, raw)
    # The head was good, so the request was on its way; the body's framing then failed:
    # the client gets a 400, and the half-sent replica connection is closed, never pooled.
    assert status_of(answer) == 400, answer[:200]
    with httpx.Client() as client:
        response = client.post(f"{url}{APP}/", content=b"good")
        assert (response.status_code, response.text) == (200, "echo:good")
        port = upstream_port(client, url)
        assert upstream_port(client, url) == port  # pooled and reused again


@pytest.mark.parametrize(
    "name",
    ["bad-status", "cl-and-te", "two-lengths", "obs-fold", "bare-lf", "bad-chunk", "huge-head"],
)
def test_a_replica_that_answers_a_malformed_head_gets_502(
    routed: tuple[AppRegistry, str], name: str
) -> None:
    _, url = routed
    with httpx.Client() as client:
        response = client.get(f"{url}{APP}/raw?{name}")
        assert response.status_code == 502, response.text
        problem = response.json()
        assert problem["code"] == "replica-failed"
        assert "malformed" in problem["detail"] or "64 KiB" in problem["detail"]
        # The broken connection was dropped: the next request gets its own answer.
        after = client.get(f"{url}{APP}/headers")
        assert after.status_code == 200
        assert json.loads(after.text)["path"] == f"{APP}/headers"


def test_bytes_after_a_response_are_never_read_as_the_next_answer(
    routed: tuple[AppRegistry, str],
) -> None:
    _, url = routed
    with httpx.Client() as client:
        for _ in range(5):
            first = client.get(f"{url}{APP}/raw?extra")
            # Arriving with the response, the extra bytes make it a broken exchange (502);
            # arriving later, they are found on the idle connection, which is dropped.
            assert first.status_code in (200, 502)
            assert "smuggled" not in first.text
            after = client.get(f"{url}{APP}/peer")
            assert after.status_code == 200
            assert after.text.isdigit()
