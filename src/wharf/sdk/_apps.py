"""Operation groups for apps and builds."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from wharf.schemas.apps import App, Build
from wharf.sdk._errors import ServerUnavailableError, WharfError, error_from_problem

if TYPE_CHECKING:
    from wharf.sdk._client import Client

FINAL_PHASES = ("Complete", "Failed", "Error", "Cancelled")


class AppOperations:
    """``client.apps``: online endpoints built from git."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, git: str, **fields: Any) -> App:
        """Create an app from a repository and start Build #1.

        ``fields``: ``name``, ``ref``, ``context_dir``, ``source_secret``, ``build_env``,
        ``env``, ``replicas``, ``cpu``, ``memory``, ``labels``, ``route`` (a dict with
        ``enabled``, ``hostname``, ``path``).
        """
        path = self._client.workspace_path("/apps")
        return App.model_validate(self._client._request("POST", path, json={"git": git, **fields}))

    def list(self) -> builtins.list[App]:
        path = self._client.workspace_path("/apps")
        return [App.model_validate(a) for a in self._client._request("GET", path)]

    def get(self, name: str) -> App:
        return App.model_validate(
            self._client._request("GET", self._client.workspace_path(f"/apps/{name}"))
        )

    def delete(self, name: str) -> None:
        self._client._request("DELETE", self._client.workspace_path(f"/apps/{name}"))

    def logs(self, name: str, *, follow: bool = False, tail: int = 200) -> Iterator[str]:
        """The replicas' output, ``[replica-N] ``-prefixed; ``follow`` keeps streaming."""
        path = self._client.workspace_path(f"/apps/{name}/logs")
        yield from _stream_lines(self._client, path, {"follow": follow, "tail": tail})


class BuildOperations:
    """``client.builds``: numbered builds of an app."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, app: str, suffix: str = "") -> str:
        return self._client.workspace_path(f"/apps/{app}/builds{suffix}")

    def start(self, app: str, *, commit: str | None = None) -> Build:
        """Start the app's next build (of its ref, or of exactly ``commit``)."""
        body = {"commit": commit} if commit else None
        return Build.model_validate(self._client._request("POST", self._path(app), json=body))

    def list(self, app: str) -> builtins.list[Build]:
        return [Build.model_validate(b) for b in self._client._request("GET", self._path(app))]

    def get(self, app: str, number: int) -> Build:
        return Build.model_validate(self._client._request("GET", self._path(app, f"/{number}")))

    def cancel(self, app: str, number: int) -> Build:
        path = self._path(app, f"/{number}/cancel")
        return Build.model_validate(self._client._request("POST", path))

    def wait(self, app: str, number: int, *, timeout: float = 900, poll: float = 0.5) -> Build:
        """Wait until the build ends; returns it whatever its phase."""
        deadline = time.monotonic() + timeout
        while True:
            build = self.get(app, number)
            if build.phase in FINAL_PHASES:
                return build
            if time.monotonic() > deadline:
                raise WharfError(
                    f"build #{number} of {app} is still {build.phase} after {timeout} s"
                )
            time.sleep(poll)

    def logs(self, app: str, number: int, *, follow: bool = False) -> Iterator[str]:
        """The build's log, line by line; with ``follow`` it streams until the build ends."""
        path = self._path(app, f"/{number}/log")
        yield from _stream_lines(self._client, path, {"follow": follow})


def _stream_lines(client: Client, path: str, params: dict[str, Any]) -> Iterator[str]:
    try:
        with client._http.stream("GET", path, params=params, timeout=None) as response:
            if not response.is_success:
                response.read()
                raise error_from_problem(
                    response.status_code, response.json(), response.reason_phrase
                )
            yield from response.iter_lines()
    except httpx.TransportError as exc:
        raise ServerUnavailableError(f"lost the connection to {client.url}: {exc}") from exc
