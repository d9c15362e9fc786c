"""What the route proxy answers when it cannot reach an app: problem+json, like every other
Wharf error, naming the app and why (kept apart from the proxy's HTTP handling)."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Message, Scope

from wharf.runtime.registry import AppRegistry
from wharf.runtime.replicas import ReplicaSetStatus
from wharf.runtime.routes import AppKey, RouteMatch, strip_port

PROBLEM_TYPE = "urn:wharf:problem:"
_TITLES = {
    403: "Forbidden",
    404: "Not found",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def render_problem(
    status: int,
    code: str,
    detail: str,
    *,
    app: str | None = None,
    request_id: str | None = None,
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers of a route error: ``urn:wharf:problem:<code>`` typed, with the
    app it is about (``ws/app``) and the request's id when known."""
    problem: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if app is not None:
        problem["app"] = app
    if request_id is not None:
        problem["request_id"] = request_id
    body = json.dumps(problem).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    return body, headers


def _replicas(status: ReplicaSetStatus) -> str:
    text = f"{status.ready}/{status.desired} ready"
    if status.message:
        text += f", last exit: {status.message}"
    return text


def explain_unavailable(registry: AppRegistry, key: AppKey) -> str:
    """Why an app has no replica to send a request to, in one line."""
    status = registry.status(key)
    if status is None:
        return f"app {key} has no ready replica"
    if status.serving is not None:
        if status.serving.desired == 0:
            return f"app {key} is scaled to 0 replicas: wharf app scale {key.app} --replicas 1"
        return f"app {key} has no ready replica: {_replicas(status.serving)}"
    if status.rolling_out is not None:
        rolling = status.rolling_out
        return f"app {key} is starting revision {rolling.revision}: {_replicas(rolling)}"
    if status.last_rollout is not None and not status.last_rollout.succeeded:
        return f"app {key} has no serving revision: {status.last_rollout.message}"
    return f"app {key} has no serving revision yet: its first build has not completed"


def refuse_insecure(
    match: RouteMatch, scope: Scope, https_port: int | None = None
) -> tuple[Message, Message] | None:
    """The ASGI messages a plain-http request to a TLS route gets instead of the app: a 308
    to https (``Redirect``) or a 403 problem (``None``); None when it may pass (https,
    ``Allow``, or a route without TLS). ``https_port`` is where Wharf itself serves https
    (the URL's port is swapped for it); None keeps the host as asked (a TLS proxy in front)."""
    policy = match.insecure_policy
    if match.target is None or policy in (None, "Allow") or scope.get("scheme") == "https":
        return None
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    if https_port is not None:
        host = strip_port(host) + ("" if https_port == 443 else f":{https_port}")
    target = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    url = f"https://{host}{target}"
    if policy == "Redirect":
        status, body = 308, b""
        headers = [(b"location", url.encode("latin-1")), (b"content-length", b"0")]
    else:
        detail = f"app {match.name} is served over https only: use {url}"
        status = 403
        body, headers = render_problem(status, "insecure-request-refused", detail, app=match.name)
    start: Message = {"type": "http.response.start", "status": status, "headers": headers}
    return start, {"type": "http.response.body", "body": body, "more_body": False}
