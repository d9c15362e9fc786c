"""``client.workbenches``: the caller's JupyterLab workbenches."""

from __future__ import annotations

import builtins
import time
from typing import TYPE_CHECKING

from wharf.schemas.workbenches import SignInLink, Workbench
from wharf.sdk._errors import ServerUnavailableError
from wharf.states import WorkbenchPhase

if TYPE_CHECKING:
    from wharf.sdk._client import Client


class WorkbenchOperations:
    """``client.workbenches``: one user's JupyterLab (with git) per name, in the workspace."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def _path(self, suffix: str = "") -> str:
        return self._client.workspace_path(f"/workbenches{suffix}")

    def create(
        self,
        name: str,
        *,
        requirements: str = "",
        cpu: str | None = None,
        memory: str | None = None,
        idle_timeout: str | None = None,
        source_secret: str | None = None,
    ) -> Workbench:
        """A stopped workbench; ``requirements`` (requirements.txt lines) are installed
        beside JupyterLab, ``source_secret`` gives git its credentials inside it."""
        body = {
            "name": name,
            "requirements": requirements,
            "cpu": cpu,
            "memory": memory,
            "idle_timeout": idle_timeout,
            "source_secret": source_secret,
        }
        return Workbench.model_validate(self._client._request("POST", self._path(), json=body))

    def list(self) -> builtins.list[Workbench]:
        return [Workbench.model_validate(w) for w in self._client._request("GET", self._path())]

    def get(self, name: str) -> Workbench:
        return Workbench.model_validate(self._client._request("GET", self._path(f"/{name}")))

    def start(self, name: str, *, wait: bool = True, timeout: float = 900.0) -> Workbench:
        """Start it; with ``wait``, return once JupyterLab answers (or the start failed)."""
        found = Workbench.model_validate(
            self._client._request("POST", self._path(f"/{name}/start"))
        )
        deadline = time.monotonic() + timeout
        while wait and found.phase is WorkbenchPhase.STARTING:
            if time.monotonic() > deadline:
                raise ServerUnavailableError(
                    f"workbench {name!r} was still starting after {timeout:.0f} s"
                )
            time.sleep(0.2)
            found = self.get(name)
        return found

    def stop(self, name: str) -> Workbench:
        """Stop JupyterLab; the home folder is kept."""
        return Workbench.model_validate(self._client._request("POST", self._path(f"/{name}/stop")))

    def sign_in_url(self, name: str) -> str:
        """A one-time link (two minutes) that opens the workbench in a browser, signed in."""
        answer = self._client._request("POST", self._path(f"/{name}/sign-in"))
        return SignInLink.model_validate(answer).url

    def delete(self, name: str) -> None:
        """Stop it, revoke its token and remove its home folder."""
        self._client._request("DELETE", self._path(f"/{name}"))
