"""What the route proxy answers when it cannot reach an app: problem+json, like every other
Wharf error, naming the app and why (kept apart from the proxy's HTTP handling)."""

from __future__ import annotations

import json
from typing import Any

from wharf.runtime.registry import AppRegistry
from wharf.runtime.replicas import ReplicaSetStatus
from wharf.runtime.routes import AppKey

PROBLEM_TYPE = "urn:wharf:problem:"
_TITLES = {
    404: "Not found",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


def render_problem(
    status: int, code: str, detail: str, *, app: str | None = None
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The body and headers of a route error: ``urn:wharf:problem:<code>`` typed, with the
    app it is about (``ws/app``) when known."""
    problem: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE}{code}",
        "title": _TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if app is not None:
        problem["app"] = app
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
