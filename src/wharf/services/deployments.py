"""Deployments: a Complete build becomes the app's serving revision; routes follow the app.

Rolling out blocks (new replicas start, become ready, the old ones drain), so these functions
run on worker threads, never on the event loop.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.build.interfaces import Interface
from wharf.build.s2i import RunCommand, plan_run
from wharf.errors import Conflict
from wharf.runtime.limits import ResourceLimits
from wharf.runtime.registry import AppRegistry, RolloutResult
from wharf.runtime.routes import AppKey, RouteOptions
from wharf.runtime.specs import RevisionSpec
from wharf.schemas.apps import AppStatus, LimitStatus, ReplicaStatus
from wharf.services import apps, builds, workspaces
from wharf.services.platform import Platform
from wharf.states import AppPhase, BuildPhase
from wharf.store.models import App, Build, Workspace

logger = logging.getLogger("wharf.deployments")

READY_TIMEOUT = 120.0
# Only these of the server's variables reach an app: never the database URL or secret key.
_PASSED_ENV = ("HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "USER", "LOGNAME")


def app_key(workspace: str, app: str) -> AppKey:
    return AppKey(workspace, app)


def route_options(app: App) -> RouteOptions | None:
    """The registry's route for an app; None for ``--no-route``."""
    if not app.route.get("enabled", True):
        return None
    return RouteOptions(hostname=app.route.get("hostname"), path=app.route.get("path") or "/")


def register_route(registry: AppRegistry, workspace: str, app: App) -> None:
    """Claim the app's host names and paths (Conflict if another app has them)."""
    registry.set_route(app_key(workspace, app.name), route_options(app))


def stop_app(registry: AppRegistry, workspace: str, app: str) -> None:
    """Drain and stop a deleted app's replicas and give its routes up."""
    key = app_key(workspace, app)
    registry.stop_app(key)
    registry.set_route(key, None)


def revision_spec(platform: Platform, workspace: str, app: App, build: Build) -> RevisionSpec:
    """How to run the replicas of ``build``: its checked-out source, its cached environment."""
    assert build.environment_key is not None
    source = builds.build_source_dir(platform.settings, workspace, app.name, build.number)
    project_dir = source / app.context_dir if app.context_dir else source
    env_dir = platform.settings.envs_dir / build.environment_key
    base_env = {k: os.environ[k] for k in _PASSED_ENV if k in os.environ}
    runtime_env = dict(app.runtime_env)
    # Work the interface out once, not on every replica start.
    first = plan_run(project_dir, env_dir, 8080, base_env=base_env, runtime_env=runtime_env)
    interface: Interface = "asgi" if any("UvicornWorker" in arg for arg in first.argv) else "wsgi"

    def command(port: int) -> RunCommand:
        return plan_run(
            project_dir,
            env_dir,
            port,
            base_env=base_env,
            runtime_env=runtime_env,
            interface=interface,
        )

    wsgi_gunicorn = first.strategy == "gunicorn" and interface == "wsgi"
    return RevisionSpec(
        revision=f"build-{build.number}",
        command=command,
        replicas=app.replicas,
        limits=ResourceLimits.parse(memory=app.memory, cpu=app.cpu),
        prefix_style="script-name" if wsgi_gunicorn else "strip",
    )


def deploy_build(platform: Platform, registry: AppRegistry, build_id: int) -> RolloutResult:
    """Roll a Complete build out; on success it becomes the app's serving build."""
    with platform.transaction() as session:
        build = session.get(Build, build_id)
        assert build is not None
        assert build.phase == BuildPhase.COMPLETE
        app = build.app
        workspace = session.get(Workspace, app.workspace_id)
        assert workspace is not None
        spec = revision_spec(platform, workspace.name, app, build)
        key = app_key(workspace.name, app.name)
        number = build.number
    result = registry.deploy(key, spec, ready_timeout=READY_TIMEOUT)
    with platform.transaction() as session:
        build = session.get(Build, build_id)
        if build is None:  # the app was deleted meanwhile
            registry.stop_app(key)
            return result
        if result.succeeded:
            build.app.serving_build = number
        else:
            build.message = (
                f"Build #{number} is complete, but its revision did not start: {result.message}"
            )
    log_line = f"{key}: build #{number} {'serving' if result.succeeded else 'not deployed'}"
    logger.info("%s (%s)", log_line, result.message)
    return result


def choose_rollback_build(session: Session, app: App, to: int | None) -> Build:
    """Build ``to``, or the newest Complete build older than the serving one."""
    if to is not None:
        build = builds.read_build(session, app, to)
        if build.phase != BuildPhase.COMPLETE:
            raise Conflict(
                f"build #{to} of {app.name!r} is {build.phase}: only Complete builds serve"
            )
        return build
    if app.serving_build is None:
        raise Conflict(f"app {app.name!r} serves no build yet: there is nothing to roll back")
    earlier = session.scalars(
        select(Build)
        .where(
            Build.app_id == app.id,
            Build.phase == BuildPhase.COMPLETE,
            Build.number < app.serving_build,
        )
        .order_by(Build.number.desc())
    ).first()
    if earlier is None:
        raise Conflict(
            f"app {app.name!r} has no Complete build before #{app.serving_build} to roll back to"
        )
    return earlier


def rollback_app(
    platform: Platform, registry: AppRegistry, workspace: str, app_name: str, to: int | None
) -> RolloutResult:
    """Serve an earlier Complete build again, from its kept source and cached environment."""
    with platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, workspace), app_name)
        build = choose_rollback_build(session, app, to)
        source = builds.build_source_dir(platform.settings, workspace, app.name, build.number)
        env_dir = platform.settings.envs_dir / (build.environment_key or "-")
        if not source.is_dir() or not env_dir.is_dir():
            raise Conflict(
                f"build #{build.number} of {app.name!r} can no longer serve: its source or "
                "environment was removed; start a build of its commit instead"
            )
        build_id, number = build.id, build.number
    result = deploy_build(platform, registry, build_id)
    if not result.succeeded:
        raise Conflict(f"the rollback to build #{number} did not start: {result.message}")
    return result


def restore_apps(platform: Platform, registry: AppRegistry) -> None:
    """After a start: every app gets its routes back and its serving build running again."""
    with platform.transaction() as session:
        found = session.execute(
            select(App, Workspace.name).join(Workspace, Workspace.id == App.workspace_id)
        ).all()
        work: list[int] = []
        for app, workspace in found:
            try:
                register_route(registry, workspace, app)
            except Exception:
                logger.exception("could not restore the route of %s/%s", workspace, app.name)
            if app.serving_build is not None:
                build = builds.read_build(session, app, app.serving_build)
                work.append(build.id)
    for build_id in work:
        try:
            deploy_build(platform, registry, build_id)
        except Exception:
            logger.exception("could not restore build id %s", build_id)


def runtime_status(registry: AppRegistry, workspace: str, app: str) -> AppStatus | None:
    """What the app's replicas are doing now, for the API."""
    status = registry.status(app_key(workspace, app))
    if status is None:
        return None
    # Describe what serves; before anything does, the revision that is trying to.
    current = status.serving or status.rolling_out
    failed = status.last_rollout
    result = AppStatus(
        phase=current.phase if current else AppPhase.NOT_DEPLOYED,
        revision=status.serving.revision if status.serving else None,
        rolling_out=status.rolling_out.revision if status.rolling_out else None,
        ready=current.ready if current else 0,
        desired=current.desired if current else 0,
        restarts=current.restarts if current else 0,
        reason=current.reason if current else None,
        message=current.message if current else None,
        last_rollout_failure=failed.message if failed and not failed.succeeded else None,
    )
    if current:
        for name in ("memory", "cpu"):
            limit = getattr(current.limits, name)
            if limit is not None:
                result.limits[name] = LimitStatus(
                    requested=limit.requested, enforced=limit.enforced, how=limit.how
                )
        result.replicas = [
            ReplicaStatus(index=r.index, state=r.state, pid=r.pid, restarts=r.restarts)
            for r in current.replicas
        ]
    return result


def replica_log_paths(platform: Platform, workspace: str, app: App) -> list[Path]:
    """The log files of the replicas of the app's serving revision (empty before one serves)."""
    if app.serving_build is None:
        return []
    folder = (
        platform.settings.logs_dir / "apps" / workspace / app.name / f"build-{app.serving_build}"
    )
    return [folder / f"replica-{index}.log" for index in range(max(app.replicas, 1))]
