"""Operation groups for apps and builds."""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx

from wharf.schemas.apps import App, AppEvent, AppUpdateResult, Build
from wharf.schemas.webhooks import (
    SigningSecretResult,
    SourceSecret,
    WebhookDelivery,
    WebhookUrls,
)
from wharf.sdk._errors import ServerUnavailableError, WharfError, error_from_problem
from wharf.states import BuildPhase

if TYPE_CHECKING:
    from wharf.sdk._client import Client


class AppOperations:
    """``client.apps``: online endpoints built from git."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(self, git: str, **fields: Any) -> App:
        """Create an app from a repository and start Build #1.

        ``fields``: ``name``, ``ref``, ``context_dir``, ``source_secret``, ``build_env``,
        ``env``, ``secret_env`` (kept encrypted, given to the replicas only; the app shows
        its keys, never its values), ``replicas``, ``cpu``, ``memory``, ``labels``, ``group``,
        ``route`` (a dict with ``enabled``, ``hostname``, ``path``, ``path_mode``,
        ``target_port``). ``App.warnings`` says what to know about the app as created (a
        password sent over plain http).
        """
        path = self._client.workspace_path("/apps")
        return App.model_validate(self._client._request("POST", path, json={"git": git, **fields}))

    def list(
        self, *, group: str | None = None, label_selector: str | None = None
    ) -> builtins.list[App]:
        """Apps by name; of one application group, and whose labels match ``label_selector``
        (``team=risk,tier!=web,canary,!legacy``), when given."""
        path = self._client.workspace_path("/apps")
        params = {"group": group, "label_selector": label_selector}
        found = self._client._request(
            "GET", path, params={k: v for k, v in params.items() if v is not None}
        )
        return [App.model_validate(a) for a in found]

    def update(self, name: str, **patch: Any) -> AppUpdateResult:
        """Change an app (a JSON merge patch): a field left out stays as it is, ``None``
        removes a setting; in ``env``, ``build_env`` and ``labels`` a ``None`` value removes
        that one key. Fields: ``replicas``, ``env``, ``build_env``, ``cpu``, ``memory``,
        ``labels``, ``group``, ``ref``, ``context_dir``, ``source_secret``, ``route``.

        Returns once runtime changes serve (or with ``rollout.succeeded`` False and the
        reason, while the previous replicas keep serving)."""
        path = self._client.workspace_path(f"/apps/{name}")
        found = self._client._request(
            "PATCH",
            path,
            content=json.dumps(patch).encode(),
            headers={"Content-Type": "application/merge-patch+json"},
            timeout=300,
        )
        return AppUpdateResult.model_validate(found)

    def scale(self, name: str, replicas: int) -> AppUpdateResult:
        """Run ``replicas`` replicas: added ones take traffic once ready, the others keep
        running untouched."""
        return self.update(name, replicas=replicas)

    def events(self, name: str, *, limit: int = 100) -> builtins.list[AppEvent]:
        """Who changed the app, when and what, and how its rollouts went; newest first."""
        path = self._client.workspace_path(f"/apps/{name}/events")
        found = self._client._request("GET", path, params={"limit": limit})
        return [AppEvent.model_validate(e) for e in found]

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

    def rollback(self, name: str, *, to: int | None = None) -> App:
        """Serve build ``to`` again (default: the Complete build before the serving one);
        returns once it serves."""
        path = self._client.workspace_path(f"/apps/{name}/rollback")
        found = self._client._request("POST", path, json={"to": to}, timeout=300)
        return App.model_validate(found)

    def webhook_urls(self, name: str) -> WebhookUrls:
        """The app's webhook URL per git host, with its secret."""
        path = self._client.workspace_path(f"/apps/{name}/webhooks")
        return WebhookUrls.model_validate(self._client._request("GET", path))

    def rotate_webhook_secret(self, name: str) -> WebhookUrls:
        """A new webhook secret; the old URLs stop working."""
        path = self._client.workspace_path(f"/apps/{name}/webhooks/rotate")
        return WebhookUrls.model_validate(self._client._request("POST", path))

    def set_webhook_signing_secret(
        self, name: str, value: str | None = None, *, generate: bool = False
    ) -> SigningSecretResult:
        """Require signed deliveries with ``value`` (or a generated secret, returned once);
        with neither, stop requiring signatures."""
        path = self._client.workspace_path(f"/apps/{name}/webhooks/signing-secret")
        body = {"value": value, "generate": generate}
        return SigningSecretResult.model_validate(self._client._request("PUT", path, json=body))

    def webhook_deliveries(self, name: str, *, limit: int = 50) -> builtins.list[WebhookDelivery]:
        """The app's latest webhook calls, newest first."""
        path = self._client.workspace_path(f"/apps/{name}/webhooks/deliveries")
        found = self._client._request("GET", path, params={"limit": limit})
        return [WebhookDelivery.model_validate(d) for d in found]


class SourceSecretOperations:
    """``client.source_secrets``: credentials for private git repositories (write-only)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
        self,
        name: str,
        *,
        username: str | None = None,
        password: str | None = None,
        ssh_private_key: str | None = None,
        known_hosts: str | None = None,
    ) -> SourceSecret:
        """Store a password or token (https) or an SSH private key; apps name it with
        ``source_secret``."""
        body = {
            "name": name,
            "username": username,
            "password": password,
            "ssh_private_key": ssh_private_key,
            "known_hosts": known_hosts,
        }
        path = self._client.workspace_path("/source-secrets")
        return SourceSecret.model_validate(self._client._request("POST", path, json=body))

    def list(self) -> builtins.list[SourceSecret]:
        path = self._client.workspace_path("/source-secrets")
        return [SourceSecret.model_validate(s) for s in self._client._request("GET", path)]

    def get(self, name: str) -> SourceSecret:
        path = self._client.workspace_path(f"/source-secrets/{name}")
        return SourceSecret.model_validate(self._client._request("GET", path))

    def delete(self, name: str) -> None:
        self._client._request("DELETE", self._client.workspace_path(f"/source-secrets/{name}"))


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

    def wait(
        self,
        app: str,
        number: int,
        *,
        serving: bool = False,
        timeout: float = 900,
        poll: float = 0.5,
    ) -> Build:
        """Wait until the build ends; returns it whatever its phase. With ``serving``, a
        Complete build is waited on until its revision takes traffic (``rollout``
        ``Succeeded``) or never got ready (``Failed``, the message says why)."""
        deadline = time.monotonic() + timeout
        while True:
            build = self.get(app, number)
            rolled = build.phase is not BuildPhase.COMPLETE or build.rollout is not None
            if build.phase.ended and (rolled or not serving):
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
