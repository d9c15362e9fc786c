"""Settings: one class, read from ``WHARF_*`` environment variables, one docstring per field.

``docs/settings.md`` is generated from this class (``python -m wharf.docs``) and a test checks it
is current, so every setting is documented.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
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

    tls: Literal["off", "self-signed"] = "off"
    """Whether ``wharf up`` serves HTTPS with a certificate it makes for itself:
    ``self-signed`` keeps a small CA in ``<data_dir>/tls`` (its key mode 0600) that signs a
    server certificate for 127.0.0.1, localhost, ::1 and ``*.{apps_domain}``, reused on restart.
    ``wharf up`` writes the CA's path into the CLI config; other clients trust it with
    ``WHARF_CA_CERT`` or ``--ca-cert``. ``tls_cert``/``tls_key`` serve the admin's own instead."""

    tls_cert: Path | None = None
    """A PEM certificate (its chain after it) for ``wharf up`` to serve HTTPS with; needs
    ``tls_key``."""

    tls_key: Path | None = None
    """The PEM private key of ``tls_cert``."""

    tls_port: int | None = Field(default=None, ge=1, le=65535)
    """TCP port HTTPS listens on when ``wharf up`` serves it (plain HTTP stays on ``port``).
    Unset means ``port + 363`` (8443 beside 8080)."""

    config_dir: Path = Field(default_factory=_default_config_dir)
    """Where the CLI keeps ``config.toml`` (server URL, token, workspace; mode 0600).
    ``wharf up`` writes it on first start so the CLI works at once."""

    secret_key: SecretStr | None = None
    """Key that encrypts stored secrets (datastore credentials, git source secrets, webhook
    secrets): a urlsafe-base64 32-byte Fernet key. Unset means a key generated once into
    ``<data_dir>/secret.key`` with mode 0600. Losing it makes stored secrets unreadable."""

    token_ttl_days: int = Field(default=90, ge=1, le=3650)
    """Lifetime of a new API token when ``expires_in`` is not given."""

    console_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    """How long a web console sign-in lasts. Signing out, a new password or the revocation of
    the pasted token ends it sooner."""

    console_session_idle_minutes: int = Field(default=120, ge=5)
    """A web console session unused this long ends (the next page asks to sign in again)."""

    login_max_failures: int = Field(default=5, ge=1, le=1000)
    """Wrong passwords allowed for one user name from one client address within
    ``login_lockout_minutes``; the next attempt is refused until the lockout ends."""

    login_lockout_minutes: int = Field(default=15, ge=1)
    """The window in which failed console sign-ins are counted, and how long a user name stays
    locked for that client once ``login_max_failures`` is reached."""

    apps_domain: str = "apps.localhost"
    """Domain for host-based routes: an app is reachable at ``{app}-{workspace}.{apps_domain}``."""

    workbench_cull_interval: float = Field(default=60.0, gt=0)
    """Seconds between two checks of running notebook workbenches for idleness: a workbench
    idle for its ``--idle-timeout`` is stopped at the first check after it."""

    workbench_owner_access: bool = False
    """Let a workspace's owners reach its members' running workbenches (with their own Wharf
    token), to help them. Off: a workbench admits its own user alone."""

    route_replay_max_bytes: int = Field(default=1024 * 1024, ge=0)
    """Largest request body the route proxy keeps while streaming it to a replica, so that an
    idempotent request whose replica died before answering can be sent to another one. A
    bigger body is streamed without a copy and is not retried: if its replica fails, the
    client gets 502."""

    route_websocket_max_message_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Largest WebSocket message relayed through an app route, either way. A bigger one
    closes both sides with code 1009 (message too big)."""

    route_websocket_idle_timeout: float = Field(default=300.0, gt=0)
    """Seconds a WebSocket through an app route may pass without a message either way before
    Wharf closes both sides with code 1001 (going away)."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Log level of Wharf's own loggers (``wharf.*``) and of uvicorn's. Other libraries log
    warnings and errors only."""

    log_format: Literal["text", "json"] = "text"
    """How ``wharf up`` writes its log lines to stderr: ``text`` (timestamp, level, logger,
    message) or ``json`` (one JSON object per line, for log collectors)."""

    log_max_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    """Size at which an app replica, build or job log file is rotated: it becomes
    ``<name>.1`` (older ones ``.2``, ``.3``...) and a new file starts."""

    log_backups: int = Field(default=3, ge=0, le=100)
    """How many rotated generations of each log file are kept (0: rotation drops the old
    lines)."""

    metrics_token: SecretStr | None = None
    """Bearer token that ``GET /metrics`` requires. Unset means ``/metrics`` is open to anyone
    who can reach the server: set it when the server is reachable beyond the scraper's
    network."""

    health_min_free_mb: int = Field(default=512, ge=0)
    """The deep health check (``/api/v1/health?deep=true``, ``/api/v1/ready``) fails when the
    data dir's file system has less free space than this many MiB."""

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

    auth_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    """How long a server trusts a token and a caller's role it has checked, without asking the
    store again (0: ask on every request). Revoking a token, or changing a user, a membership
    or a role, through this server takes effect at once; through another server that shares
    the same PostgreSQL store, or by hand in the database, within this many seconds. A token's
    expiry is checked at every request either way."""

    api_threads: int = Field(default=40, ge=1, le=1024)
    """Threads that run the API's blocking work (database reads and writes of a request);
    requests beyond that many at once wait for one. Starlette's default is 40."""

    allow_local_git: bool = True
    """Let apps build from repositories on the server's own disk (``file://`` URLs and local
    paths), as a single-machine setup needs. Switch it off on a shared server: such a URL can
    read any repository the server's user can read."""

    sandbox: Literal["auto", "required", "off"] = "auto"
    """Whether user code (builds' installs, app replicas, batch workers) runs in a bubblewrap
    sandbox. ``auto`` uses it when it works here and warns loudly when it does not;
    ``required`` refuses to start without it; ``off`` runs user code as the server's own user
    (only for a single-user machine). A server listening beyond loopback refuses to start
    without a sandbox unless this is ``off``. See docs/security.md."""

    sandbox_bwrap: str = "bwrap"
    """The bubblewrap program: a name looked up on ``PATH``, or a path."""

    sandbox_uid: int = Field(default=64500, ge=0)
    """The uid user code runs as when the server runs as root. It need not exist in
    ``/etc/passwd``; nothing else on the machine should use it."""

    sandbox_gid: int = Field(default=64500, ge=0)
    """The gid user code runs as when the server runs as root (no supplementary groups)."""

    sandbox_shared_uv_cache: bool = False
    """Let sandboxed environment installs share the server's uv cache. Faster for new
    environments, but a package's ``setup.py`` could then alter cached packages that other
    workspaces' builds install. Off: each install gets a cache of its own."""

    max_request_bytes: int = Field(default=1024 * 1024, ge=1024)
    """The largest request body the API accepts (JSON requests: creates, updates), in bytes.
    Bodies are counted as they stream in, chunked ones too, and refused with 413 at the limit,
    before any token is checked. Webhook deliveries have their own limit (25 MiB, GitHub's
    own cap for a delivery); file uploads have ``max_upload_bytes``."""

    max_upload_bytes: int = Field(default=50 * 1024**3, ge=1024)
    """The largest file one upload to a datastore (``PUT .../datastores/{name}/files/...``,
    which ``wharf data create``, batch deployments' code and ``wharf datastore upload`` use)
    may send, in bytes. The body streams to storage and is never held in memory."""

    build_retention: int = Field(default=10, ge=1)
    """Build folders kept per app: the newest this many builds keep their checked-out source
    (so they can be rolled back to), and the serving build always does. Older build folders
    are removed in the background; the builds' records and logs stay."""

    environment_retention_days: int = Field(default=30, ge=1)
    """An environment in the cache that no kept build or batch deployment uses, and that
    nothing has used for this many days, is removed in the background."""

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
    def serves_tls(self) -> bool:
        """Whether ``wharf up`` itself serves HTTPS (on ``effective_tls_port``)."""
        return self.tls == "self-signed" or self.tls_cert is not None

    @property
    def effective_tls_port(self) -> int:
        """The HTTPS port: ``tls_port``, else ``port + 363`` (8443 beside 8080), else the port
        363 below when that would pass 65535."""
        if self.tls_port is not None:
            return self.tls_port
        return self.port + 363 if self.port + 363 <= 65535 else self.port - 363

    @property
    def _local_host(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"[{host}]" if ":" in host else host

    @property
    def plain_url(self) -> str:
        """Base URL of what is served over plain HTTP (or ``public_url`` when given)."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self._local_host}:{self.port}"

    @property
    def https_url(self) -> str | None:
        """Base URL of what is served over HTTPS: an https ``public_url`` (a TLS-terminating
        proxy in front), else Wharf's own TLS port; None when nothing is."""
        if self.public_url and self.public_url.startswith("https://"):
            return self.public_url.rstrip("/")
        if not self.serves_tls:
            return None
        if self.public_url:  # a plain http one: the same host, on the TLS port
            parts = urlsplit(self.public_url.rstrip("/"))
            host = parts.hostname or self._local_host
            host = f"[{host}]" if ":" in host else host
            return f"https://{host}:{self.effective_tls_port}{parts.path}"
        return f"https://{self._local_host}:{self.effective_tls_port}"

    @property
    def effective_public_url(self) -> str:
        """Base URL for links the server hands out, without a trailing slash: https when the
        server is reached over TLS."""
        return self.https_url or self.plain_url

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

    @model_validator(mode="after")
    def _check_tls(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("WHARF_TLS_CERT and WHARF_TLS_KEY are given together or not at all")
        if self.tls_cert is not None and self.tls == "self-signed":
            raise ValueError(
                "WHARF_TLS=self-signed and WHARF_TLS_CERT contradict each other: drop one"
            )
        if self.serves_tls and self.effective_tls_port == self.port:
            raise ValueError(f"the HTTPS port and the HTTP port are both {self.port}")
        return self

    @field_validator("allow_private_urls")
    @classmethod
    def _check_allow_private_urls(cls, value: str) -> str:
        HostAllowList.parse(value)  # raises ValueError, reported as a settings error
        return value
