"""The app page: Details, Environment and Events tabs, scaling, and replica logs.

Builds and Revisions are in ``builds.py``, Webhooks in ``webhooks.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from wharf.api.logstream import stream_replica_logs
from wharf.api.routers.apps import app_detail, build_out, event_out
from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pages.auth import safe_next
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.console.sse import event_stream, log_lines
from wharf.errors import Invalid
from wharf.logfiles import read_tail
from wharf.schemas import apps as schemas
from wharf.services import app_events, app_updates, builds, deployments
from wharf.services.env_text import env_patch, format_env
from wharf.states import BuildPhase

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

ReplicaNumber = Annotated[int, Query(ge=0, le=1000)]
"""The ``?replica=N`` of a replica's log page and of its live lines."""

LOG_TAIL = 500
RECENT_BUILDS = 3
SNIPPET_LINES = 8


def load_app(ctx: ConsoleContext, name: str) -> schemas.App:
    """The app as its JSON twin shows it."""
    assert ctx.workspace is not None
    return app_detail(ctx.request, ctx.platform, ctx.workspace, name)


def recent_builds(ctx: ConsoleContext, name: str, count: int) -> list[schemas.Build]:
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, name)
        return [build_out(found, b) for b in builds.list_builds(session, found)[:count]]


def back_to(request: Request, fallback: str) -> str:
    """Where a form sent without htmx returns: the page it was on (same origin only)."""
    referer = request.headers.get("referer", "")
    origin = f"{request.url.scheme}://{request.url.netloc}/"
    if not referer.startswith(origin):
        return fallback
    target = safe_next("/" + referer.removeprefix(origin))
    return target if target != "/" else fallback


@router.get("/w/{ws}/apps/{app}")
def details(ws: str, app: str, ctx: ConsoleContext = page("apps/read")) -> Response:
    shown = load_app(ctx, app)
    return render(
        ctx,
        "apps/details.html",
        api=ctx.api_url("apps", app),
        app=shown,
        tab="details",
        recent=recent_builds(ctx, app, RECENT_BUILDS),
    )


@router.get("/w/{ws}/topology/panel/{app}")
def side_panel(ws: str, app: str, ctx: ConsoleContext = page("apps/read")) -> Response:
    """The Topology side panel (an htmx fragment): Details and Resources of one app."""
    return _panel(ctx, app)


def _panel(ctx: ConsoleContext, app: str, notice: str | None = None) -> Response:
    recent = recent_builds(ctx, app, RECENT_BUILDS)
    return render(
        ctx,
        "topology/_panel.html",
        api=ctx.api_url("apps", app),
        app=load_app(ctx, app),
        recent=recent,
        snippets={b.number: _log_snippet(ctx, app, b.number) for b in recent if _failed(b)},
        notice=notice,
    )


def _failed(build: schemas.Build) -> bool:
    return BuildPhase(build.phase) in (BuildPhase.FAILED, BuildPhase.ERROR)


def _log_snippet(ctx: ConsoleContext, app: str, number: int) -> str:
    """The last lines of a build's log: what a failure message is shown with."""
    path = builds.build_log_path(ctx.platform.settings, ctx.workspace or "", app, number)
    lines, _ = read_tail(path, SNIPPET_LINES)
    return b"\n".join(lines).decode("utf-8", errors="replace")


@router.post("/w/{ws}/apps/{app}/scale")
def scale(
    ws: str,
    app: str,
    request: Request,
    replicas: Annotated[int, Form(ge=0)],
    ctx: ConsoleContext = action("apps/write"),
) -> Response:
    """Scale ± from the side panel or the Details tab (the API's PATCH with ``replicas``)."""
    in_panel = bool(request.headers.get("HX-Request"))
    try:
        _, applied = deployments.update_and_roll_out(
            ctx.platform,
            request.app.state.registry,
            ws,
            app,
            {"replicas": replicas},
            actor=ctx.user_name,
        )
    except Invalid as error:
        if not in_panel:
            raise
        return _panel(ctx, app, notice=error.detail)  # htmx swaps only a 2xx answer
    if in_panel:
        return _panel(ctx, app, notice=applied.message or f"scaled to {replicas}")
    return RedirectResponse(back_to(request, ctx.ws_url("apps", app)), status_code=303)


@router.get("/w/{ws}/apps/{app}/environment")
def environment(ws: str, app: str, ctx: ConsoleContext = page("apps/read")) -> Response:
    return _environment(ctx, load_app(ctx, app))


def _environment(
    ctx: ConsoleContext,
    shown: schemas.App,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    summary: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        ctx,
        "apps/environment.html",
        status=status,
        api=ctx.api_url("apps", shown.name),
        app=shown,
        tab="environment",
        values=values or {"env": format_env(shown.env), "build_env": format_env(shown.build_env)},
        errors=errors or {},
        summary=summary,
    )


@router.post("/w/{ws}/apps/{app}/environment")
def save_environment(
    ws: str,
    app: str,
    request: Request,
    env: Annotated[str, Form(max_length=1024 * 1024)] = "",
    build_env: Annotated[str, Form(max_length=1024 * 1024)] = "",
    ctx: ConsoleContext = action("apps/write"),
) -> Response:
    """Replace the runtime and build env with what the form holds (a merge patch that sets
    what is there and removes what is not)."""
    shown = load_app(ctx, app)
    values = {"env": env, "build_env": build_env}
    try:
        patch = {
            "env": env_patch("env", env, shown.env),
            "build_env": env_patch("build_env", build_env, shown.build_env),
        }
        outcome, applied = deployments.update_and_roll_out(
            ctx.platform, request.app.state.registry, ws, app, patch, actor=ctx.user_name
        )
    except Invalid as error:
        field = str(error.extra.get("field", "env")).replace("runtime_env", "env")
        field = field if field in values else "env"
        errors = {field: error.detail}
        return _environment(ctx, shown, values=values, errors=errors, status=error.status)
    summary = app_updates.summarise(outcome)
    if not applied.succeeded:
        summary += f"; {applied.message}"
    return _environment(ctx, load_app(ctx, app), summary=summary)


@router.get("/w/{ws}/apps/{app}/events")
def events(
    ws: str, app: str, number: PageNumber = 1, ctx: ConsoleContext = page("apps/read")
) -> Response:
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        listed = paginate([event_out(e) for e in app_events.list_events(session, found)], number)
    return render(
        ctx,
        "apps/events.html",
        api=ctx.api_url("apps", app, "events"),
        app=load_app(ctx, app),
        tab="events",
        events=listed,
    )


@router.get("/w/{ws}/apps/{app}/logs")
def replica_log(
    ws: str,
    app: str,
    replica: ReplicaNumber = 0,
    ctx: ConsoleContext = page("apps/read"),
) -> Response:
    """View logs of one replica: its last lines, then live lines over SSE."""
    path = _replica_log_path(ctx, app, replica)
    lines, _ = read_tail(path, LOG_TAIL) if path else ([], 0)
    return render(
        ctx,
        "apps/replica_log.html",
        api=ctx.api_url("apps", app, "logs"),
        app=load_app(ctx, app),
        replica=replica,
        served=path is not None,
        text=b"\n".join(lines).decode("utf-8", errors="replace"),
    )


@router.get("/w/{ws}/apps/{app}/logs/events")
def replica_log_events(
    ws: str,
    app: str,
    request: Request,
    replica: ReplicaNumber = 0,
    ctx: ConsoleContext = page("apps/read"),
) -> Response:
    """New lines of one replica's log as they come (the page shows the tail before them)."""
    path = _replica_log_path(ctx, app, replica)
    if path is None:
        raise Invalid(f"app {app!r} has no serving revision yet")
    chunks = stream_replica_logs(request, [path], tail=0, follow=True)
    return event_stream(request, log_lines(chunks))


def _replica_log_path(ctx: ConsoleContext, app: str, replica: int) -> Path | None:
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        paths = deployments.replica_log_paths(ctx.platform, ctx.workspace or "", found)
    return paths[replica] if replica < len(paths) else None
