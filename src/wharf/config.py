"""Settings: one class, read from ``WHARF_*`` environment variables, one docstring per field.

``docs/settings.md`` is generated from this class (``python -m wharf.docs``) and a test checks it
is current, so every setting is documented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from wharf.storage.network import HostAllowList


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "wharf"


def _default_config_dir() -> Path:
    return Path.home() / ".config" / "wharf"


class Settings(BaseSettings):
    """Everything an operator can set. Each field is read from ``WHARF_<FIELD NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="WHARF_", extra="ignore", validate_default=True, use_attribute_docstrings=True
    )

    data_dir: Path = Field(default_factory=_default_data_dir)
    """Where Wharf keeps its state: the SQLite database, the default datastore, build
    workspaces, cached environments and logs."""

    database_url: str | None = None
    """SQLAlchemy URL of the store. Unset means SQLite at ``<data_dir>/wharf.db``. A
    ``postgresql://`` URL selects PostgreSQL (driven by psycopg 3)."""

    host: str = "127.0.0.1"
    """Interface that ``wharf up`` listens on."""

    port: int = Field(default=8080, ge=1, le=65535)
    """TCP port that ``wharf up`` listens on."""

    public_url: str | None = None
    """The URL users reach the server at, used in links the server hands out (webhook URLs,
    invoke URLs, routes). Unset means ``http://<host>:<port>``."""

    config_dir: Path = Field(default_factory=_default_config_dir)
    """Where the CLI keeps ``config.toml`` (server URL, token, workspace; mode 0600).
    ``wharf up`` writes it on first start so the CLI works at once."""

    secret_key: SecretStr | None = None
    """Key that encrypts stored secrets (datastore credentials, git source secrets, webhook
    secrets): a urlsafe-base64 32-byte Fernet key. Unset means a key generated once into
    ``<data_dir>/secret.key`` with mode 0600. Losing it makes stored secrets unreadable."""

    token_ttl_days: int = Field(default=90, ge=1, le=3650)
    """Lifetime of a new API token when ``expires_in`` is not given."""

    apps_domain: str = "apps.localhost"
    """Domain for host-based routes: an app is reachable at ``{app}-{workspace}.{apps_domain}``."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level of the server."""

    local_datastore_roots: list[Path] = Field(default_factory=list)
    """Folders outside Wharf's data dir that ``local`` datastores may point at (their roots
    must lie inside one), as a JSON list: ``WHARF_LOCAL_DATASTORE_ROOTS='["/srv/data"]'``.
    Only a platform admin may create a datastore there. Empty (the default) means none: a
    ``local`` datastore can then only be a folder inside its workspace's own folder
    (``<data_dir>/datastores/default/<workspace>``). A root inside the data dir is ignored."""

    allow_private_urls: str = ""
    """Hosts whose private addresses a user's URLs may reach (datastore ``endpoint_url`` and
    ``account_url``, ``https://`` inputs): comma-separated ``host`` or ``host:port`` patterns
    with ``*`` wildcards, e.g. ``127.0.0.1:*,[::1]:9000,*.corp.example``, for on-premise
    storage and test servers. Empty (the default) allows none, so that a user cannot make the
    server read its own network. Cloud metadata addresses are refused whatever it says.
    ``true`` (the old switch) means every host."""

    storage_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """Connect and read timeout of each request to a datastore's storage service."""

    storage_call_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    """How long an API request waits for one storage call (a listing, a file read or write)
    before it answers 504."""

    storage_pool_size: int = Field(default=8, ge=1, le=256)
    """Threads that run storage calls for API requests, apart from the threads that serve
    the API. When all are busy and as many calls wait, new ones answer 503 with
    ``Retry-After``."""

    allow_local_git: bool = True
    """Let apps build from repositories on the server's own disk (``file://`` URLs and local
    paths), as a single-machine setup needs. Switch it off on a shared server: such a URL can
    read any repository the server's user can read."""

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @property
    def effective_database_url(self) -> str:
        """The store URL actually used."""
        return self.database_url or f"sqlite:///{self.data_dir / 'wharf.db'}"

    @property
    def effective_public_url(self) -> str:
        """Base URL for links the server hands out, without a trailing slash."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    @property
    def envs_dir(self) -> Path:
        """Cached build environments, one folder per content hash."""
        return self.data_dir / "envs"

    @property
    def builds_dir(self) -> Path:
        """Per-build working folders (checked-out sources)."""
        return self.data_dir / "builds"

    @property
    def logs_dir(self) -> Path:
        """Build, replica and job logs."""
        return self.data_dir / "logs"

    @property
    def default_datastore_dir(self) -> Path:
        """Root of the ``default`` local datastore."""
        return self.data_dir / "datastores" / "default"

    @property
    def private_url_allowlist(self) -> HostAllowList:
        """``allow_private_urls`` as patterns."""
        return HostAllowList.parse(self.allow_private_urls)

    @field_validator("allow_private_urls")
    @classmethod
    def _check_allow_private_urls(cls, value: str) -> str:
        HostAllowList.parse(value)  # raises ValueError, reported as a settings error
        return value
