"""Runs queued builds on worker threads of the server (git and uv run as child processes).

Started and stopped by the server's lifespan. Each build: fetch the source at its ref (or
its exact commit), detect the builder, get the environment from the cache (building it if
needed), and plan the run command; a Complete build is handed to ``on_complete`` to deploy.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy.orm import Session

from wharf.build.detect import detect_builder
from wharf.build.environments import clear_all_leftovers, ensure_environment
from wharf.build.git import (
    GitCredentials,
    check_git_url,
    clear_text_warning,
    credentials_env,
    fetch_source,
)
from wharf.build.install import plan_install
from wharf.build.s2i import plan_run
from wharf.errors import ServiceError
from wharf.logfiles import LogRotation, RotatingLogFile
from wharf.services import builds
from wharf.services.platform import Platform
from wharf.services.source_secrets import open_source_secret
from wharf.states import BuildPhase
from wharf.store.models import Build, Workspace
from wharf.workers.loop import ClaimLoop

logger = logging.getLogger("wharf.builds")

OnComplete = Callable[[int], None]
"""Called with the id of a build that became Complete."""


class BuildCancelled(Exception):
    """The build's cancel was requested while it ran."""


class _BuildLog:
    """Appends a build's lines to its log file and notices a cancel request on the way."""

    def __init__(self, handle: RotatingLogFile, platform: Platform, build_id: int) -> None:
        self._handle = handle
        self._platform = platform
        self._build_id = build_id
        self._checked = 0.0

    def __call__(self, line: str) -> None:
        self._handle.write(line.rstrip("\n") + "\n")
        if time.monotonic() - self._checked > 0.5:
            self._checked = time.monotonic()
            self.raise_if_cancelled()

    def raise_if_cancelled(self) -> None:
        with self._platform.transaction() as session:
            build = session.get(Build, self._build_id)
            if build is not None and build.cancel_requested:
                raise BuildCancelled


def run_build(platform: Platform, build_id: int) -> BuildPhase:
    """Run one claimed (Running) build to its end; returns its final phase."""
    settings = platform.settings
    with platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        app = build.app
        workspace = session.get(Workspace, app.workspace_id)
        assert workspace is not None
        names = (workspace.name, app.name, build.number)
        source = (app.git_url, build.git_ref, build.commit_sha, app.context_dir)
        build_env, runtime_env = dict(app.build_env), dict(app.runtime_env)
        secret_name = app.source_secret
    log_path = builds.build_log_path(settings, *names)
    root = builds.build_source_dir(settings, *names)
    started = time.monotonic()
    logger.info("build #%s of %s/%s is running", names[2], *names[:2])
    with RotatingLogFile(log_path, LogRotation.of(settings)) as handle:
        log = _BuildLog(handle, platform, build_id)
        log(f"Build #{names[2]} of {names[1]}: {source[0]} at {source[2] or source[1]}")
        try:
            credentials = _open_credentials(platform, workspace.id, secret_name)
            phase, message = _steps(
                platform, build_id, log, root, source, credentials, build_env, runtime_env
            )
        except BuildCancelled:
            phase, message = BuildPhase.CANCELLED, "cancelled while it ran"
        except ServiceError as exc:
            phase, message = BuildPhase.FAILED, exc.detail
        except Exception as exc:  # a fault of Wharf's, not of the user's source
            logger.exception("build %s of %s/%s failed unexpectedly", names[2], *names[:2])
            phase, message = BuildPhase.ERROR, f"Wharf could not finish the build: {exc}"
        # The log already holds the installer's whole output: its summary is not repeated.
        ending = message.splitlines()[0] if message else phase
        log(f"Build #{names[2]} is complete" if phase == BuildPhase.COMPLETE else ending)
    if phase != BuildPhase.COMPLETE:
        shutil.rmtree(root, ignore_errors=True)
    with platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        builds.finish_build(session, build, phase, message)
    platform.metrics.observe_build(phase, time.monotonic() - started)
    if phase == BuildPhase.COMPLETE:
        logger.info("build #%s of %s/%s is complete", names[2], *names[:2])
    else:
        logger.info("build #%s of %s/%s ended %s: %s", names[2], *names[:2], phase, message)
    return phase


def _open_credentials(
    platform: Platform, workspace_id: int, secret_name: str | None
) -> GitCredentials | None:
    if secret_name is None:
        return None
    with platform.transaction() as session:
        workspace = session.get(Workspace, workspace_id)
        assert workspace is not None
        return open_source_secret(session, platform.secrets, workspace, secret_name)


def _steps(
    platform: Platform,
    build_id: int,
    log: _BuildLog,
    root: Path,
    source: tuple[str, str, str | None, str],
    credentials: GitCredentials | None,
    build_env: dict[str, str],
    runtime_env: dict[str, str],
) -> tuple[BuildPhase, str]:
    url, ref, commit, context_dir = source
    shutil.rmtree(root, ignore_errors=True)
    git_url = check_git_url(url, allow_local=platform.settings.allow_local_git)
    warning = clear_text_warning(git_url, credentials)
    if warning:
        log(warning)
    with credentials_env(credentials) as git_env:
        sha = fetch_source(git_url, ref, root, commit=commit, env=git_env, log=log)
    with platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        build.commit_sha = sha
    log.raise_if_cancelled()
    project_dir = root / context_dir if context_dir else root
    if not project_dir.is_dir():
        return BuildPhase.FAILED, f"context dir {context_dir!r} does not exist at commit {sha[:12]}"
    project = detect_builder(project_dir)
    log(f"builder: Python (found {', '.join(project.markers)})")
    plan = plan_install(project, build_env=build_env)
    environment = ensure_environment(
        plan, platform.settings.envs_dir, log=log, installer=platform.installer()
    )
    log(
        f"environment {environment.key} "
        + ("reused from the cache" if environment.reused else "built")
        + f" in {environment.seconds:.1f} s"
    )
    run = plan_run(
        project_dir,
        environment.path,
        8080,
        runtime_env=runtime_env,
        log=log,
        sandbox=platform.sandbox,
    )
    log(f"run command: {run.summary}")
    with platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        build.environment_key = environment.key
        build.environment_reused = environment.reused
        build.run_summary = run.summary
    return BuildPhase.COMPLETE, f"Build #{build.number} is complete"


class BuildRunner(ClaimLoop):
    """Worker threads that take Pending builds, oldest first, one build per app at a time.

    A cancel is noticed by the build itself (its log checks the store); a build that a stop
    interrupts becomes Error at the next start."""

    kind = "build"

    def __init__(
        self, platform: Platform, *, workers: int = 2, on_complete: OnComplete | None = None
    ) -> None:
        super().__init__(platform, workers=workers)
        self._on_complete = on_complete

    def recover(self, session: Session) -> None:
        interrupted = builds.recover_interrupted_builds(session)
        if interrupted:
            logger.warning("%d build(s) were interrupted by a stop; marked Error", interrupted)
        # No install runs yet: what a killed server left half-built goes now.
        if clear_all_leftovers(self._platform.settings.envs_dir):
            logger.warning("removed environment installs left behind by a stopped server")

    def claim(self, session: Session) -> int | None:
        claimed = builds.claim_next_build(session)
        return claimed.id if claimed else None

    def on_stop(self) -> None:
        # uv and everything it started (a setup.py included) end now, not when they finish.
        self._platform.installs.kill_all()

    def run(self, item_id: int, cancel: threading.Event) -> None:
        if run_build(self._platform, item_id) == BuildPhase.COMPLETE and self._on_complete:
            try:
                self._on_complete(item_id)
            except Exception:
                logger.exception("deploying build %s failed", item_id)
