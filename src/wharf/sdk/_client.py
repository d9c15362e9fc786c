"""The Wharf client: one HTTP connection pool and an operation group per noun."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from wharf.schemas.common import Health
from wharf.sdk._apps import AppOperations, BuildOperations, SourceSecretOperations
from wharf.sdk._config import DEFAULT_WORKSPACE, read_config
from wharf.sdk._errors import ConfigError, ServerUnavailableError, error_from_problem
from wharf.sdk._identity import (
    MemberOperations,
    RoleOperations,
    TokenOperations,
    UserOperations,
    WorkspaceOperations,
)
from wharf.sdk._storage import DataOperations, DatastoreOperations, ModelOperations
from wharf.sdk._workbenches import WorkbenchOperations
from wharf.version import __version__

if TYPE_CHECKING:
    from wharf.sdk._batch import BatchDeploymentOperations, BatchEndpointOperations
    from wharf.sdk._jobs import JobOperations

API_PREFIX = "/api/v1"


def trust(ca_cert: str | Path | None) -> ssl.SSLContext | bool:
    """httpx's ``verify=``: the system's CAs, or only the given CA file."""
    if ca_cert is None:
        return True
    path = Path(ca_cert).expanduser()
    try:
        return ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot read the CA certificate {path}: {exc}") from None


class Client:
    """A connection to a Wharf server.

    ``Client("http://127.0.0.1:8080", token="wharf_...", workspace="default")``, or
    ``Client.from_config()`` to use what ``wharf up`` / ``wharf login`` wrote. Pass
    ``transport`` to talk to an in-process app (tests) or through a custom transport, and
    ``ca_cert`` (a PEM file) to trust a server whose certificate a private CA signed, as
    ``wharf up --tls self-signed`` makes.
    """

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        workspace: str = DEFAULT_WORKSPACE,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        ca_cert: str | Path | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.workspace = workspace
        headers = {"User-Agent": f"wharf-sdk/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=self.url + API_PREFIX,
            headers=headers,
            transport=transport,
            timeout=timeout,
            verify=trust(ca_cert),
        )
        self.users = UserOperations(self)
        self.tokens = TokenOperations(self)
        self.workspaces = WorkspaceOperations(self)
        self.roles = RoleOperations(self)
        self.members = MemberOperations(self)
        self.datastores = DatastoreOperations(self)
        self.data = DataOperations(self)
        self.models = ModelOperations(self)
        self.apps = AppOperations(self)
        self.builds = BuildOperations(self)
        self.source_secrets = SourceSecretOperations(self)
        self.workbenches = WorkbenchOperations(self)

    # The batch operations load the batch schemas on first use: most commands never need them.
    @cached_property
    def batch_endpoints(self) -> BatchEndpointOperations:
        from wharf.sdk._batch import BatchEndpointOperations

        return BatchEndpointOperations(self)

    @cached_property
    def batch_deployments(self) -> BatchDeploymentOperations:
        from wharf.sdk._batch import BatchDeploymentOperations

        return BatchDeploymentOperations(self)

    @cached_property
    def jobs(self) -> JobOperations:
        from wharf.sdk._jobs import JobOperations

        return JobOperations(self)

    @classmethod
    def from_config(
        cls,
        path: str | Path | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        ca_cert: str | Path | None = None,
    ) -> Client:
        """A client from the config file and the ``WHARF_URL`` / ``WHARF_TOKEN`` /
        ``WHARF_WORKSPACE`` / ``WHARF_CA_CERT`` environment variables (``ca_cert`` given here
        wins)."""
        config = read_config(Path(path) if path else None)
        if not config.url:
            raise ConfigError(
                "no Wharf server is configured: start one with 'wharf up', "
                "run 'wharf login --url URL', or set WHARF_URL"
            )
        return cls(
            config.url,
            token=config.token,
            workspace=config.workspace,
            transport=transport,
            ca_cert=ca_cert or config.ca_cert,
        )

    def __repr__(self) -> str:
        return f"Client(url={self.url!r}, workspace={self.workspace!r})"

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def health(self) -> Health:
        """The server's health (needs no token)."""
        return Health.model_validate(self._request("GET", "/health"))

    def workspace_path(self, path: str, workspace: str | None = None) -> str:
        """``path`` inside the client's (or the given) workspace."""
        return f"/workspaces/{workspace or self.workspace}{path}"

    def _stream_upload(self, path: str, chunks: Iterator[bytes]) -> Any:
        """PUT a body streamed from ``chunks`` (never held in memory whole)."""
        return self._request("PUT", path, content=chunks, timeout=None)

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | Iterator[bytes] | None = None,
        headers: dict[str, str] | None = None,
        timeout: float | object | None = httpx.USE_CLIENT_DEFAULT,
    ) -> Any:
        try:
            response = self._http.request(
                method,
                path,
                json=json,
                params=params,
                content=content,
                headers=headers,
                timeout=timeout,  # type: ignore[arg-type]
            )
        except httpx.TransportError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise ServerUnavailableError(
                    f"the Wharf server at {self.url} has a certificate this client does not "
                    f"trust ({exc}): pass --ca-cert FILE or set WHARF_CA_CERT to the CA that "
                    "signed it"
                ) from exc
            raise ServerUnavailableError(
                f"cannot reach the Wharf server at {self.url} ({exc.__class__.__name__}: {exc}); "
                "is it running? ('wharf up' starts one)"
            ) from exc
        if response.is_success:
            return response.json() if response.content else None
        try:
            problem = response.json()
        except ValueError:
            problem = None
        raise error_from_problem(
            response.status_code,
            problem if isinstance(problem, dict) else None,
            response.text[:500] or response.reason_phrase,
        )
