"""A private git server for tests: git's own smart-HTTP backend behind HTTP basic auth.

``git http-backend`` (the CGI program git ships for serving repositories over HTTP) runs for
each request; a small WSGI front checks the ``Authorization`` header first, as a git host
does for a private repository. Started and stopped by the test that uses it.
"""

from __future__ import annotations

import base64
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class GitServer:
    url: str
    """Base URL; a repository ``name`` is at ``{url}/{name}``."""
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every request, to show what the client did."""


def _backend(environ: dict[str, Any], root: Path) -> tuple[str, list[tuple[str, str]], bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    cgi_env = {
        "GIT_PROJECT_ROOT": str(root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "REQUEST_METHOD": environ["REQUEST_METHOD"],
        "PATH_INFO": environ.get("PATH_INFO", ""),
        "QUERY_STRING": environ.get("QUERY_STRING", ""),
        "CONTENT_TYPE": environ.get("CONTENT_TYPE", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "tester",
        "REMOTE_ADDR": "127.0.0.1",
        "GATEWAY_INTERFACE": "CGI/1.1",
    }
    if environ.get("HTTP_CONTENT_ENCODING"):
        cgi_env["HTTP_CONTENT_ENCODING"] = environ["HTTP_CONTENT_ENCODING"]
    if environ.get("HTTP_GIT_PROTOCOL"):
        cgi_env["GIT_PROTOCOL"] = environ["HTTP_GIT_PROTOCOL"]
    done = subprocess.run(
        ["git", "http-backend"], input=body, env=cgi_env, capture_output=True, check=False
    )
    head, _, payload = done.stdout.partition(b"\r\n\r\n")
    status = "200 OK"
    headers = []
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = value.strip()
        elif name:
            headers.append((name, value.strip()))
    return status, headers, payload


@contextmanager
def private_git_server(
    root: Path, username: str, password: str, *, on_request: Callable[[], None] | None = None
) -> Iterator[GitServer]:
    """Serve the bare repositories under ``root`` to callers with these credentials only.

    ``on_request`` runs as each request arrives, while the git client that sent it waits.
    """
    expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
    server_info = GitServer(url="")

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if on_request is not None:
            on_request()
        if environ.get("HTTP_AUTHORIZATION") != expected:
            server_info.requests.append((environ["REQUEST_METHOD"], path, 401))
            start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="private git"')])
            return [b"authentication required\n"]
        status, headers, payload = _backend(environ, root)
        server_info.requests.append((environ["REQUEST_METHOD"], path, int(status.split()[0])))
        start_response(status, headers)
        return [payload]

    httpd = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingServer, handler_class=_QuietHandler
    )
    server_info.url = f"http://127.0.0.1:{httpd.server_port}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_info
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
