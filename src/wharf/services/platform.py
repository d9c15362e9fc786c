"""The running platform's shared parts: settings, the store, the secret box."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from wharf.build.environments import Installer
from wharf.build.uv import ProcessGroups
from wharf.config import Settings
from wharf.errors import Invalid
from wharf.metrics import Metrics
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxState, detect_sandbox
from wharf.services.bootstrap import ensure_platform
from wharf.services.secrets import SecretBox, load_secret_box
from wharf.store.database import create_session_factory, create_store_engine, transaction
from wharf.store.migrate import upgrade_store


@dataclass
class Platform:
    """What every interface and background service needs: one per server process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    secrets: SecretBox
    sandbox: Sandbox = field(default=NO_SANDBOX)
    """How user code runs here (found once at start: see ``find_sandbox``)."""
    installs: ProcessGroups = field(default_factory=ProcessGroups)
    """Running environment installs: a stopping server kills them all."""
    metrics: Metrics = field(default_factory=Metrics)
    """Where the runners count builds and mini-batches (the server's ``/metrics``)."""

    def installer(self) -> Installer:
        """How this server's environment installs run (sandbox, uv cache, tracking)."""
        share = self.settings.sandbox_shared_uv_cache or not self.sandbox.active
        return Installer(self.sandbox, share_uv_cache=share, groups=self.installs)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with transaction(self.sessions) as session:
            yield session

    def check_database(self) -> bool:
        """Whether the store answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception:  # any driver error means "not healthy", reported, not raised
            return False
        return True

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()


logger = logging.getLogger("wharf.sandbox")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def find_sandbox(settings: Settings) -> Sandbox:
    """The sandbox user code runs in, or a refusal to start when it is required but missing
    (``WHARF_SANDBOX=required``, or a server listening beyond loopback)."""
    sandbox = detect_sandbox(
        settings.sandbox, settings.sandbox_bwrap, settings.sandbox_uid, settings.sandbox_gid
    )
    if sandbox.state is not SandboxState.UNAVAILABLE:
        return sandbox
    public = not (settings.host in _LOOPBACK_HOSTS or settings.host.startswith("127."))
    if settings.sandbox == "required" or public:
        why = "WHARF_SANDBOX=required" if not public else f"it listens on {settings.host}"
        raise Invalid(
            f"Wharf will not start without a sandbox for user code ({why}): {sandbox.detail}. "
            "Install bubblewrap, or set WHARF_SANDBOX=off to run user code unconfined "
            "(see docs/security.md)"
        )
    return sandbox


def describe_sandbox(platform: Platform) -> dict[str, Any]:
    """How user code runs on this server, for the deep health check."""
    return platform.sandbox.describe()


def warn_about_sandbox(sandbox: Sandbox) -> None:
    if sandbox.state is not SandboxState.ACTIVE:
        logger.warning("NO SANDBOX for user code: %s", sandbox.detail)


def start_platform(settings: Settings, metrics: Metrics | None = None) -> Platform:
    """Open the store, migrate it, and make sure the default workspace and admin exist."""
    sandbox = find_sandbox(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.effective_database_url)
    upgrade_store(engine)
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    platform = Platform(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        secrets=load_secret_box(settings.data_dir, secret_key),
        sandbox=sandbox,
        metrics=metrics or Metrics(),
    )
    with platform.transaction() as session:
        ensure_platform(session, settings)
    return platform
