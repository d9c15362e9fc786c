"""Deployments: a Complete build becomes the app's serving revision; routes follow the app.

Rolling out blocks (new replicas start, become ready, the old ones drain), so these functions
run on worker threads, never on the event loop.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wharf.build.interfaces import Interface
from wharf.build.s2i import plan_run, run_profile
from wharf.errors import Conflict
from wharf.runtime.limits import ResourceLimits
from wharf.runtime.registry import AppRegistry, RolloutResult
from wharf.runtime.routes import AppKey, RouteOptions
from wharf.runtime.specs import ProcessSpec, RevisionSpec
from wharf.schemas.apps import AppStatus, LimitStatus, ReplicaExit, ReplicaStatus
from wharf.services import app_events, apps, builds, workspaces
from wharf.services.app_updates import Rollout, UpdateOutcome, update_app
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
    return RouteOptions(
        hostname=app.route.get("hostname"),
        path=app.route.get("path") or "/",
        path_mode="keep" if app.route.get("path_mode") == "keep" else "strip",
        insecure_policy=app.route.get("insecure_policy") if app.route.get("tls") else None,
    )


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
    # Secret env reaches the replicas only: never the build, never a response or a log.
    runtime_env = {**app.runtime_env, **apps.open_secret_env(platform.secrets, app)}
    sandbox = platform.sandbox
    # Work the interface out once, not on every replica start.
    first = plan_run(
        project_dir, env_dir, 8080, base_env=base_env, runtime_env=runtime_env, sandbox=sandbox
    )
    interface: Interface = "asgi" if any("UvicornWorker" in arg for arg in first.argv) else "wsgi"

    def command(port: int) -> ProcessSpec:
        run = plan_run(
            project_dir,
            env_dir,
            port,
            base_env=base_env,
            runtime_env=runtime_env,
            interface=interface,
        )
        # The launcher joins the replica's cgroup and sets its limits, then execs bwrap.
        argv = sandbox.command(run_profile(source, env_dir, run.cwd), run.argv)
        return ProcessSpec(argv=argv, env=run.env, cwd=run.cwd)

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
        again = build.app.serving_build == number  # the same build with new settings
        if result.succeeded:
            build.app.serving_build = number
            build.rollout = "Succeeded"
        elif not again:
            build.rollout = "Failed"
            build.message = (
                f"Build #{number} is complete, but its revision did not start: {result.message}"
            )
        kind = "Deployed" if result.succeeded else "RolloutFailed"
        app_events.record_event(session, build.app, kind, actor=None, message=result.message)
    log_line = f"{key}: build #{number} {'serving' if result.succeeded else 'not deployed'}"
    logger.info("%s (%s)", log_line, result.message)
    return result


@dataclass(frozen=True)
class AppliedUpdate:
    succeeded: bool
    message: str


def apply_update(
    platform: Platform, registry: AppRegistry, workspace: str, app_name: str, outcome: UpdateOutcome
) -> AppliedUpdate:
    """Make the replicas follow a committed update: scale the serving revision in place, or
    roll the serving build out again with the new settings (the old replicas serve until the
    new ones are ready; if they never are, the old ones keep serving and this says why)."""
    if outcome.rollout is Rollout.NONE:
        return AppliedUpdate(True, "")
    with platform.transaction() as session:
        app = apps.read_app(session, workspaces.read_workspace(session, workspace), app_name)
        replicas, serving = app.replicas, app.serving_build
        build_id = None if serving is None else builds.read_build(session, app, serving).id
    if build_id is None:
        return AppliedUpdate(True, "no build serves yet: the first one starts with these settings")
    if outcome.rollout is Rollout.SCALE:
        scaled = registry.scale(app_key(workspace, app_name), replicas, ready_timeout=READY_TIMEOUT)
        if scaled is not None:
            return AppliedUpdate(*scaled)
    result = deploy_build(platform, registry, build_id)
    if result.succeeded:
        return AppliedUpdate(True, result.message)
    return AppliedUpdate(
        False,
        f"the new settings did not roll out: {result.message} (with the settings it had "
        "before; change them again or roll back)",
    )


def create_routed_app(
    session: Session,
    platform: Platform,
    registry: AppRegistry,
    workspace: Workspace,
    spec: apps.AppSpec,
    *,
    created_by: str | None,
) -> tuple[App, Build]:
    """Create an app and queue Build #1 (``apps.create_app``, with this server's settings),
    and claim its route inside the transaction: a host name another app has refuses the
    create. Wake the build runner once the transaction has committed."""
    app, first = apps.create_app(
        session,
        workspace,
        spec,
        created_by=created_by,
        secrets=platform.secrets,
        allow_local_git=platform.settings.allow_local_git,
        serves_https=platform.settings.https_url is not None,
    )
    register_route(registry, workspace.name, app)
    return app, first


def update_and_roll_out(
    platform: Platform,
    registry: AppRegistry,
    workspace: str,
    app_name: str,
    patch: Mapping[str, Any],
    *,
    actor: str | None,
) -> tuple[UpdateOutcome, AppliedUpdate]:
    """Change an app with a merge patch (``app_updates.update_app``), claim a changed route,
    commit, then make the replicas follow (:func:`apply_update`)."""
    with platform.transaction() as session:
        ws = workspaces.read_workspace(session, workspace)
        app = apps.read_app(session, ws, app_name)
        outcome = update_app(
            session,
            ws,
            app,
            patch,
            actor=actor,
            secrets=platform.secrets,
            serves_https=platform.settings.https_url is not None,
        )
        if outcome.route_changed:  # claimed before the commit: a taken hostname refuses it
            register_route(registry, workspace, app)
    return outcome, apply_update(platform, registry, workspace, app_name, outcome)


def choose_rollback_build(session: Session, app: App, to: int | None) -> Build:
    """Build ``to``, or the newest Complete build older than the serving one."""
    if to is not None:
        build = builds.read_build(session, app, to)
        if to == app.serving_build:
            raise Conflict(f"app {app.name!r} already serves build #{to}: nothing to roll back")
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
            ReplicaStatus(
                index=r.index,
                state=r.state,
                pid=r.pid,
                port=r.port,
                restarts=r.restarts,
                last_exit=None
                if r.last_exit is None
                else ReplicaExit(reason=r.last_exit.reason, message=r.last_exit.message),
            )
            for r in current.replicas
        ]
    return result


def describe_ports(app: App, status: AppStatus | None) -> str:
    """Which port is served, in one sentence: Wharf assigns each replica its own loopback port
    and passes it as ``PORT`` (and gunicorn's ``--bind``), whatever the app names."""
    ports = [r.port for r in (status.replicas if status else []) if r.port]
    served = ", ".join(str(p) for p in ports) or "none yet"
    target = app.route.get("target_port")
    text = f"served on 127.0.0.1 port {served}, assigned by Wharf and passed as PORT"
    if target:
        text += f"; the app's target port {target} is replaced by it (read PORT to follow)"
    return text


def replica_log_paths(platform: Platform, workspace: str, app: App) -> list[Path]:
    """The log files of the replicas of the app's serving revision (empty before one serves)."""
    if app.serving_build is None:
        return []
    folder = (
        platform.settings.logs_dir / "apps" / workspace / app.name / f"build-{app.serving_build}"
    )
    return [folder / f"replica-{index}.log" for index in range(max(app.replicas, 1))]
