"""Idle culling, as Kubeflow's notebook controller does it: ask each JupyterLab how long it
has been idle (``/api/status``, then its kernels' ``last_activity`` and ``execution_state``),
and stop a workbench idle for its timeout — its kernels shut down first — saying so in its
state (``Stopped``, ``culled after 2h idle``)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx

from wharf.notebooks.keys import CREDENTIAL_HEADER, WORKBENCH_KEY_HEADER
from wharf.runtime.specs import Endpoint
from wharf.services import workbenches
from wharf.services.workbench_runtime import WorkbenchRuntime
from wharf.states import WorkbenchPhase
from wharf.store.models import Workbench

logger = logging.getLogger("wharf.workbenches")
_TIMEOUT = 10.0


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _get(client: httpx.Client, path: str) -> Any:
    response = client.get(path)
    response.raise_for_status()
    return response.json()


def read_last_activity(client: httpx.Client) -> datetime | None:
    """When the server last saw activity: API calls, kernels, terminals (``/api/status``,
    which does not count itself as activity)."""
    return _when(_get(client, "/api/status").get("last_activity"))


def list_kernels(client: httpx.Client) -> list[dict[str, Any]]:
    """The kernels; asked only once the server looks idle, as listing them is activity."""
    kernels: list[dict[str, Any]] = _get(client, "/api/kernels")
    return kernels


def _client(endpoint: Endpoint, key: str) -> httpx.Client:
    headers = {WORKBENCH_KEY_HEADER: key, CREDENTIAL_HEADER: "token"}
    return httpx.Client(base_url=endpoint.url, headers=headers, timeout=_TIMEOUT)


def cull_idle_workbenches(runtime: WorkbenchRuntime, now: datetime | None = None) -> list[int]:
    """One round: record each running workbench's last activity, stop those idle too long.
    Returns the ids of the culled ones."""
    now = now or datetime.now(UTC)
    culled: list[int] = []
    for workbench_id, running in runtime.running().items():
        endpoint = runtime.endpoint(workbench_id)
        if endpoint is None:
            continue
        try:
            with _client(endpoint, running.jupyter_key) as client:
                latest = read_last_activity(client)
                proxied = runtime.last_request(workbench_id)
                if proxied is not None:
                    seen = datetime.fromtimestamp(proxied, UTC)
                    latest = seen if latest is None or seen > latest else latest
                timeout = _record(runtime, workbench_id, latest)
                if timeout is None or latest is None:
                    continue
                if (now - latest).total_seconds() < timeout:
                    continue
                kernels = list_kernels(client)
                if any(kernel.get("execution_state") == "busy" for kernel in kernels):
                    continue  # a long computation is activity, however quiet
                for kernel in kernels:
                    client.delete(f"/api/kernels/{kernel['id']}")
        except (httpx.HTTPError, ValueError) as exc:
            logger.warning("could not read the activity of workbench %s: %s", workbench_id, exc)
            continue
        logger.info("culling workbench %s: idle for %s s", workbench_id, timeout)
        runtime.stop(workbench_id, workbenches.culled_message(timeout))
        culled.append(workbench_id)
    return culled


def _record(runtime: WorkbenchRuntime, workbench_id: int, latest: datetime | None) -> int | None:
    """Store the last activity; the workbench's idle timeout when it is Running."""
    with runtime.platform.transaction() as session:
        workbench = session.get(Workbench, workbench_id)
        if workbench is None or workbench.phase != WorkbenchPhase.RUNNING:
            return None
        if latest is not None:
            workbench.last_activity = latest
        return workbench.idle_timeout_seconds
