"""Apps and their builds: create from git, start and cancel builds, follow build logs."""

from __future__ import annotations

from fastapi import Query, Request, Response, status
from fastapi.responses import PlainTextResponse, StreamingResponse

from wharf.api.deps import Access, PlatformDep, WorkspaceName, require
from wharf.api.logstream import stream_log, stream_replica_logs
from wharf.api.routing import APIRouter
from wharf.errors import Conflict
from wharf.schemas import apps as schemas
from wharf.schemas import webhooks as webhook_schemas
from wharf.services import app_events, app_updates, apps, builds, deployments, workspaces
from wharf.services.platform import Platform
from wharf.states import BuildPhase
from wharf.store import models

router = APIRouter(prefix="/workspaces/{ws}/apps", tags=["apps"])


def build_out(app: models.App, build: models.Build) -> schemas.Build:
    duration = None
    if build.started_at and build.finished_at:
        duration = (build.finished_at - build.started_at).total_seconds()
    return schemas.Build(
        app=app.name,
        number=build.number,
        phase=build.phase,
        trigger=build.trigger,
        ref=build.git_ref,
        commit_sha=build.commit_sha,
        message=build.message,
        environment_key=build.environment_key,
        environment_reused=build.environment_reused,
        run_summary=build.run_summary,
        rollout=build.rollout,
        created_by=build.created_by,
        created_at=build.created_at,
        started_at=build.started_at,
        finished_at=build.finished_at,
        duration_seconds=duration,
    )


def app_out(request: Request, ws: str, app: models.App, latest: models.Build | None) -> schemas.App:
    platform: Platform = request.app.state.platform
    settings = platform.settings
    route = apps.describe_route(
        app, ws, settings.plain_url, settings.apps_domain, https_url=settings.https_url
    )
    status = deployments.runtime_status(request.app.state.registry, ws, app.name)
    if status is not None:
        status.port_note = deployments.describe_ports(app, status)
    return schemas.App(
        name=app.name,
        git=app.git_url,
        ref=app.git_ref,
        context_dir=app.context_dir,
        source_secret=app.source_secret,
        build_env=app.build_env,
        env=app.runtime_env,
        secret_env=list(app.secret_env_keys or []),
        replicas=app.replicas,
        cpu=app.cpu,
        memory=app.memory,
        labels=app.labels,
        group=app.group,
        route=schemas.Route(
            enabled=route["enabled"],
            hostname=app.route.get("hostname"),
            path=app.route.get("path"),
            path_mode=app.route.get("path_mode") or "strip",
            target_port=app.route.get("target_port"),
            tls=app.route.get("tls"),
            insecure_policy=app.route.get("insecure_policy"),
            urls=route["urls"],
        ),
        serving_build=app.serving_build,
        latest_build=build_out(app, latest) if latest else None,
        status=status,
        created_by=app.created_by,
        created_at=app.created_at,
    )


def _wake_builds(request: Request) -> None:
    platform: Platform = request.app.state.platform
    platform.build_runner.wake()


@router.get("", response_model=list[schemas.App])
def list_apps(
    ws: WorkspaceName,
    request: Request,
    platform: PlatformDep,
    group: str | None = Query(default=None, description="only apps of this application group"),
    label_selector: str | None = Query(
        default=None, description="only apps whose labels match: team=risk,tier!=web,canary"
    ),
    _: Access = require("apps/read"),
) -> list[schemas.App]:
    """Apps with their latest build and serving revision."""
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        found = apps.list_apps(session, workspace, group=group, label_selector=label_selector)
        latest = builds.latest_builds(session, found)
        return [app_out(request, ws, app, latest.get(app.id)) for app in found]


@router.post("", response_model=schemas.App, status_code=status.HTTP_201_CREATED)
def create_app(
    ws: WorkspaceName,
    body: schemas.AppCreate,
    request: Request,
    platform: PlatformDep,
    access: Access = require("apps/write"),
) -> schemas.App:
    """Create an app from a git repository and start Build #1. The repository is read now,
    so an unreachable URL or a missing ref is a 422 at once."""
    spec = apps.AppSpec(
        git_url=body.git,
        name=body.name,
        ref=body.ref,
        context_dir=body.context_dir,
        source_secret=body.source_secret,
        build_env=body.build_env,
        runtime_env=body.env,
        secret_env=body.secret_env,
        replicas=body.replicas,
        cpu=body.cpu,
        memory=body.memory,
        labels=body.labels,
        group=body.group,
        route=apps.RouteSpec(
            body.route.enabled,
            body.route.hostname,
            body.route.path,
            body.route.path_mode,
            body.route.target_port,
            body.route.tls,
            body.route.insecure_policy,
        ),
    )
    with platform.transaction() as session:
        workspace = workspaces.read_workspace(session, ws)
        app, first = deployments.create_routed_app(
            session,
            platform,
            request.app.state.registry,
            workspace,
            spec,
            created_by=access.principal.user_name,
        )
        result = app_out(request, ws, app, first)
        result.warnings = apps.source_warnings(session, platform.secrets, workspace, app)
    _wake_builds(request)
    return result


@router.get("/{app}", response_model=schemas.App)
def read_app(
    ws: WorkspaceName,
    app: str,
    request: Request,
    platform: PlatformDep,
    _: Access = require("apps/read"),
) -> schemas.App:
    """One app, with what its replicas are doing now."""
    return app_detail(request, platform, ws, app)


def app_detail(request: Request, platform: Platform, ws: str, app: str) -> schemas.App:
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return app_out(request, ws, found, builds.latest_build(session, found))


@router.patch("/{app}", response_model=schemas.AppUpdateResult)
def update_app(
    ws: WorkspaceName,
    app: str,
    body: schemas.AppPatch,
    request: Request,
    platform: PlatformDep,
    access: Access = require("apps/write"),
) -> schemas.AppUpdateResult:
    """Change an app with a JSON merge patch (``application/merge-patch+json`` or plain JSON):
    absent fields stay, ``null`` removes a setting. Everything is checked before anything is
    stored. Replicas scale the serving revision in place; env, limits and target port roll
    the serving build out again with zero downtime (the call returns once it serves, or says
    why not while the old replicas keep serving); ref, context dir, source secret and build
    env apply to the next build."""
    outcome, applied = deployments.update_and_roll_out(
        platform,
        request.app.state.registry,
        ws,
        app,
        body.as_patch(),
        actor=access.principal.user_name,
    )
    return schemas.AppUpdateResult(
        app=app_detail(request, platform, ws, app),
        changes=[schemas.AppChange(**c.as_dict()) for c in outcome.changes],
        rollout=schemas.Rollout(
            action=outcome.rollout.value, succeeded=applied.succeeded, message=applied.message
        ),
        next_build=outcome.next_build,
        summary=app_updates.summarise(outcome),
    )


@router.get("/{app}/events", response_model=list[schemas.AppEvent])
def list_app_events(
    ws: WorkspaceName,
    app: str,
    platform: PlatformDep,
    limit: int = Query(default=100, ge=1, le=1000),
    _: Access = require("apps/read"),
) -> list[schemas.AppEvent]:
    """Who changed the app, when and what, and how its rollouts went; newest first."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return [event_out(e) for e in app_events.list_events(session, found, limit=limit)]


def event_out(event: models.AppEvent) -> schemas.AppEvent:
    return schemas.AppEvent(
        kind=event.kind,
        actor=event.actor,
        message=event.message,
        changes=[schemas.AppChange(**change) for change in event.changes],
        created_at=event.created_at,
    )


@router.delete("/{app}", status_code=status.HTTP_204_NO_CONTENT)
def delete_app(
    ws: WorkspaceName,
    app: str,
    request: Request,
    platform: PlatformDep,
    _: Access = require("apps/write"),
) -> Response:
    """Delete an app and its builds; its replicas drain and stop."""
    with platform.transaction() as session:
        apps.delete_app(
            session, apps.read_app(session, workspaces.read_workspace(session, ws), app)
        )
    deployments.stop_app(request.app.state.registry, ws, app)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{app}/rollback", response_model=schemas.App)
def rollback_app(
    ws: WorkspaceName,
    app: str,
    request: Request,
    platform: PlatformDep,
    body: webhook_schemas.Rollback | None = None,
    _: Access = require("apps/write"),
) -> schemas.App:
    """Serve an earlier Complete build again (default: the one before the serving build).
    Its source and environment are kept, so nothing is rebuilt: the call returns once the
    build's replicas serve, or with 409 and the reason while the current ones keep serving."""
    to = body.to if body else None
    deployments.rollback_app(platform, request.app.state.registry, ws, app, to)
    return app_detail(request, platform, ws, app)


@router.get("/{app}/builds", response_model=list[schemas.Build])
def list_builds(
    ws: WorkspaceName,
    app: str,
    platform: PlatformDep,
    phase: BuildPhase | None = Query(default=None, description="only builds in this phase"),
    _: Access = require("builds/read"),
) -> list[schemas.Build]:
    """Builds, newest first."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return [build_out(found, b) for b in builds.list_builds(session, found, phase=phase)]


@router.post("/{app}/builds", response_model=schemas.Build, status_code=status.HTTP_201_CREATED)
def start_build(
    ws: WorkspaceName,
    app: str,
    request: Request,
    platform: PlatformDep,
    body: schemas.BuildStart | None = None,
    access: Access = require("builds/write"),
) -> schemas.Build:
    """Start the next numbered build of the app's ref (or of exactly ``commit``)."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        build = builds.start_build(
            session,
            found,
            trigger="manual",
            created_by=access.principal.user_name,
            commit=body.commit if body else None,
        )
        result = build_out(found, build)
    _wake_builds(request)
    return result


@router.get("/{app}/builds/{number}", response_model=schemas.Build)
def read_build(
    ws: WorkspaceName,
    app: str,
    number: int,
    platform: PlatformDep,
    _: Access = require("builds/read"),
) -> schemas.Build:
    """One build."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return build_out(found, builds.read_build(session, found, number))


@router.post("/{app}/builds/{number}/cancel", response_model=schemas.Build)
def cancel_build(
    ws: WorkspaceName,
    app: str,
    number: int,
    platform: PlatformDep,
    _: Access = require("builds/write"),
) -> schemas.Build:
    """Cancel a build: at once when Pending, within moments when Running."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        return build_out(found, builds.cancel_build(session, found, number))


@router.get("/{app}/builds/{number}/log", response_class=PlainTextResponse)
def read_build_log(
    ws: WorkspaceName,
    app: str,
    number: int,
    platform: PlatformDep,
    follow: bool = Query(default=False, description="stream until the build ends"),
    _: Access = require("builds/read"),
) -> StreamingResponse:
    """The build's log as text; with ``follow=true`` it streams live until the build ends."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        build_id = builds.read_build(session, found, number).id
    path = builds.build_log_path(platform.settings, ws, app, number)
    return StreamingResponse(
        stream_log(path, follow=follow, finished=lambda: _is_finished(platform, build_id)),
        media_type="text/plain; charset=utf-8",
    )


def _is_finished(platform: Platform, build_id: int) -> bool:
    with platform.transaction() as session:
        return builds.build_has_ended(session, build_id)


@router.get("/{app}/logs", response_class=PlainTextResponse)
def read_app_logs(
    ws: WorkspaceName,
    app: str,
    request: Request,
    platform: PlatformDep,
    follow: bool = Query(default=False, description="keep streaming new lines"),
    tail: int = Query(default=200, ge=0, le=100_000, description="lines per replica first"),
    _: Access = require("apps/read"),
) -> StreamingResponse:
    """The output of the serving revision's replicas, each line prefixed with its replica."""
    with platform.transaction() as session:
        found = apps.read_app(session, workspaces.read_workspace(session, ws), app)
        paths = deployments.replica_log_paths(platform, ws, found)
    if not paths:
        raise Conflict(f"app {app!r} has no serving revision yet: see 'wharf app build list {app}'")
    return StreamingResponse(
        stream_replica_logs(request, paths, tail, follow), media_type="text/plain; charset=utf-8"
    )
