"""Housekeeping for a long-lived server: old build folders and unused environments go.

A build folder is kept while its build is one of the app's newest ``build_retention`` builds
(the rollback window) or the serving one; an environment while a kept build or any batch
deployment names it, or while something used it in the last ``environment_retention_days``
(``ensure_environment`` marks each use). Removal renames first, so a caller that asks for the
environment at that moment rebuilds it rather than finding half of one.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.build.environments import last_used
from wharf.config import Settings
from wharf.services import builds, console_sessions
from wharf.services.platform import Platform
from wharf.states import BuildPhase
from wharf.store.models import App, BatchDeployment, Build, Workspace

logger = logging.getLogger("wharf.retention")

RETENTION_INTERVAL = 3600.0
_UNFINISHED = (BuildPhase.PENDING, BuildPhase.RUNNING)


@dataclass
class RetentionReport:
    build_folders: list[Path] = field(default_factory=list)
    environments: list[str] = field(default_factory=list)


def prune_build_folders(session: Session, settings: Settings) -> list[Path]:
    """Remove the source folders of builds outside each app's retention window."""
    removed = []
    apps = session.execute(
        select(App, Workspace.name).join(Workspace, Workspace.id == App.workspace_id)
    ).all()
    for app, workspace in apps:
        old = session.scalars(
            select(Build)
            .where(Build.app_id == app.id)
            .order_by(Build.number.desc())
            .offset(settings.build_retention)
        )
        for build in old:
            if build.number == app.serving_build or build.phase in _UNFINISHED:
                continue
            folder = builds.build_source_dir(settings, workspace, app.name, build.number)
            if folder.is_dir():
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


def environments_in_use(session: Session, settings: Settings) -> set[str]:
    """Environment keys a kept build (its folder still exists) or a batch deployment names."""
    used = set(session.scalars(select(BatchDeployment.environment_key)))
    rows = session.execute(
        select(Build.number, Build.environment_key, App.name, Workspace.name)
        .join(App, App.id == Build.app_id)
        .join(Workspace, Workspace.id == App.workspace_id)
        .where(Build.environment_key.is_not(None))
    ).all()
    for number, key, app, workspace in rows:
        if builds.build_source_dir(settings, workspace, app, number).is_dir():
            used.add(key)
    return used


def prune_environments(session: Session, settings: Settings, *, now: float) -> list[str]:
    """Remove cached environments nothing names and nothing used within the retention."""
    root = settings.envs_dir
    if not root.is_dir():
        return []
    used = environments_in_use(session, settings)
    horizon = now - settings.environment_retention_days * 86400
    removed = []
    for folder in sorted(root.iterdir()):
        if folder.name.startswith(".") or not folder.is_dir() or folder.name in used:
            continue
        if last_used(folder) > horizon:
            continue
        doomed = root / f".removing-{folder.name}-{secrets.token_hex(3)}"
        try:
            folder.rename(doomed)  # atomic: from now on a caller rebuilds it
        except OSError:
            continue
        shutil.rmtree(doomed, ignore_errors=True)
        removed.append(folder.name)
    return removed


def apply_retention(platform: Platform, *, now: float | None = None) -> RetentionReport:
    """One pass of housekeeping; what it removed."""
    with platform.transaction() as session:
        folders = prune_build_folders(session, platform.settings)
        environments = prune_environments(
            session, platform.settings, now=time.time() if now is None else now
        )
        console_sessions.end_stale_sessions(session, platform.settings)
    if folders or environments:
        logger.info(
            "retention removed %d build folders and %d environments",
            len(folders),
            len(environments),
        )
    return RetentionReport(folders, environments)


class RetentionLoop:
    """Runs ``apply_retention`` in the background: soon after start, then hourly."""

    def __init__(self, platform: Platform, *, interval: float = RETENTION_INTERVAL) -> None:
        self._platform = platform
        self._interval = interval
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wharf-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.ident is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        # A start is busy enough (apps restore, builds resume): housekeeping waits a minute.
        while not self._stopping.wait(min(60.0, self._interval)):
            try:
                apply_retention(self._platform)
            except Exception:
                logger.exception("housekeeping failed; trying again later")
            if self._stopping.wait(max(0.0, self._interval - 60.0)):
                return
