"""The running platform's shared parts: settings, the store, the secret box, the runners."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from wharf.config import Settings
from wharf.metrics import Metrics
from wharf.services.bootstrap import ensure_platform
from wharf.services.secrets import SecretBox, load_secret_box
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
    build_runner: Runner = field(default_factory=IdleRunner)
    """Set by the server's lifespan; routes wake it after they queue a build."""
    job_runner: Runner = field(default_factory=IdleRunner)
    """Set by the server's lifespan; routes wake it after they queue or cancel a job."""
    metrics: Metrics = field(default_factory=Metrics)
    """Where the runners count builds and mini-batches (the server's ``/metrics``)."""

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


def start_platform(settings: Settings, metrics: Metrics | None = None) -> Platform:
    """Open the store, migrate it, and make sure the default workspace and admin exist."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_store_engine(settings.effective_database_url)
    upgrade_store(engine)
    secret_key = settings.secret_key.get_secret_value() if settings.secret_key else None
    platform = Platform(
        settings=settings,
        engine=engine,
        sessions=create_session_factory(engine),
        secrets=load_secret_box(settings.data_dir, secret_key),
        metrics=metrics or Metrics(),
    )
    with platform.transaction() as session:
        ensure_platform(session, settings)
    return platform
