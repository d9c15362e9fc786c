"""The running platform's shared parts: settings, the store, the secret box, the storage pool
and the runners."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from wharf.build.environments import Installer
from wharf.build.uv import ProcessGroups
from wharf.config import Settings
from wharf.errors import Invalid
from wharf.metrics import Metrics
from wharf.sandbox import NO_SANDBOX, Sandbox, SandboxState, detect_sandbox
from wharf.services.auth_cache import AuthCache
from wharf.services.bootstrap import ensure_platform
from wharf.services.secrets import SecretBox, load_secret_box
from wharf.storage.pool import StoragePool
from wharf.store.database import create_session_factory, create_store_engine, transaction
from wharf.store.migrate import upgrade_store


class Runner(Protocol):
    """A background runner as the rest of the server sees it (``wharf.workers`` has them)."""

    def wake(self) -> None:
        """Look for work now."""

    def stop(self, timeout: float | None = None) -> None:
        """Stop its threads."""

    def alive(self) -> bool:
        """Whether it was started and its threads still run."""


class IdleRunner:
    """Stands in for a runner that is not started: waking it does nothing."""

    def wake(self) -> None:
        pass

    def stop(self, timeout: float | None = None) -> None:
        pass

    def alive(self) -> bool:
        return False


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
    build_runner: Runner = field(default_factory=IdleRunner)
    """Set by the server's lifespan; routes wake it after they queue a build."""
    job_runner: Runner = field(default_factory=IdleRunner)
    """Set by the server's lifespan; routes wake it after they queue or cancel a job."""
    metrics: Metrics = field(default_factory=Metrics)
    """Where the runners count builds and mini-batches (the server's ``/metrics``)."""

    storage: StoragePool = field(init=False)
    """Where storage calls made for API requests run (see :mod:`wharf.storage.pool`)."""
    auth_cache: AuthCache = field(init=False)
    """Tokens and roles this server checked lately (see :mod:`wharf.services.auth_cache`)."""

    def installer(self) -> Installer:
        """How this server's environment installs run (sandbox, uv cache, tracking)."""
        share = self.settings.sandbox_shared_uv_cache or not self.sandbox.active
        return Installer(self.sandbox, share_uv_cache=share, groups=self.installs)

    def __post_init__(self) -> None:
        self.storage = StoragePool(
            size=self.settings.storage_pool_size,
            call_timeout=self.settings.storage_call_timeout_seconds,
        )
        self.auth_cache = AuthCache(self.settings.auth_cache_seconds)
        self.auth_cache.watch(self.sessions)

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
        """Release database connections and the storage pool."""
        try:
            self.storage.close()
            self.auth_cache.unwatch()
        finally:
            self.engine.dispose()


PRIVATE_FOLDER_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SERVER_UMASK = 0o077
"""The server's umask: what it creates under the data dir is its own (0600 files, 0700
folders). Set by ``wharf up`` for the whole process; see :func:`restrict_file_modes`."""


def restrict_file_modes() -> None:
    """Make every file and folder this process creates private to its user from now on.

    Process-wide, so only the server's own entry point (``wharf up``) calls it; the files
    that matter most (the data dir, the database, the secret key) get their modes explicitly
    in :func:`start_platform` as well.
    """
    os.umask(SERVER_UMASK)


def secure_data_dir(settings: Settings) -> None:
    """Create the data dir private to the server's user, and close up the database file.

    An existing data dir, ``wharf.db`` and ``secret.key`` from an older release are tightened
    too: they hold every workspace's files and secrets.
    """
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True, mode=PRIVATE_FOLDER_MODE)
    data_dir.chmod(PRIVATE_FOLDER_MODE)
    database = make_url(settings.effective_database_url)
    if database.get_backend_name() == "sqlite" and database.database not in (None, "", ":memory:"):
        path = Path(database.database)
        # Created here with its mode, before SQLite creates it with the umask's; SQLite
        # gives its -wal and -shm files the database file's mode.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE_MODE))
        for file in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            if file.exists():
                file.chmod(PRIVATE_FILE_MODE)
    key = data_dir / "secret.key"
    if key.exists():
        key.chmod(PRIVATE_FILE_MODE)


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
    secure_data_dir(settings)
    with ExitStack() as undo:  # a start that fails (a bad secret key) leaves nothing open
        engine = create_store_engine(settings.effective_database_url)
        undo.callback(engine.dispose)
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
        undo.callback(platform.storage.close)
        with platform.transaction() as session:
            ensure_platform(session, settings)
        undo.pop_all()
    return platform
