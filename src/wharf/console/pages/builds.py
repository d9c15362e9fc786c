"""Builds of an app: the Builds and Revisions tabs, the build page with its live log, and
Start build, cancel, rebuild and rollback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response, StreamingResponse

from wharf.api.logstream import stream_log
from wharf.api.routers.apps import build_out
from wharf.console.context import ConsoleContext, action, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pages.apps import back_to, load_app
from wharf.console.pagination import PageNumber, paginate
from wharf.console.render import render
from wharf.console.sse import event_stream, log_lines
from wharf.console.views import build_message, build_sentence
from wharf.schemas import apps as schemas
from wharf.services import builds, deployments
from wharf.services.platform import Platform
from wharf.states import BuildPhase

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)

PhaseFilter = Annotated[BuildPhase | None, Query(description="only builds in this phase")]


def _builds(ctx: ConsoleContext, app: str, phase: BuildPhase | None) -> list[schemas.Build]:
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        return [build_out(found, b) for b in builds.list_builds(session, found, phase=phase)]


def _build(ctx: ConsoleContext, app: str, number: int) -> tuple[schemas.Build, int]:
    """The build as its JSON twin shows it, and its row id (to follow its log)."""
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        build = builds.read_build(session, found, number)
        return build_out(found, build), build.id


@router.get("/w/{ws}/apps/{app}/builds")
def builds_tab(
    ws: str,
    app: str,
    phase: PhaseFilter = None,
    number: PageNumber = 1,
    ctx: ConsoleContext = page("builds/read"),
) -> Response:
    api = ctx.api_url("apps", app, "builds") + (f"?phase={phase.value}" if phase else "")
    return render(
        ctx,
        "apps/builds.html",
        api=api,
        app=load_app(ctx, app),
        tab="builds",
        builds=paginate(_builds(ctx, app, phase), number),
        phase=phase,
        phases=list(BuildPhase),
    )


@router.get("/w/{ws}/apps/{app}/revisions")
def revisions_tab(
    ws: str, app: str, number: PageNumber = 1, ctx: ConsoleContext = page("builds/read")
) -> Response:
    """Every Complete build: the one serving, and the others to roll back to."""
    return render(
        ctx,
        "apps/revisions.html",
        api=ctx.api_url("apps", app, "builds") + "?phase=Complete",
        app=load_app(ctx, app),
        tab="revisions",
        builds=paginate(_builds(ctx, app, BuildPhase.COMPLETE), number),
    )


@router.post("/w/{ws}/apps/{app}/builds")
def start_build(
    ws: str, app: str, request: Request, ctx: ConsoleContext = action("builds/write")
) -> Response:
    """Start build: the next numbered build of the app's ref; then its page."""
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        number = builds.start_build(
            session, found, trigger="manual", created_by=ctx.user_name
        ).number
    return _to_started_build(request, ctx, app, number)


@router.post("/w/{ws}/apps/{app}/builds/{number}/rebuild")
def rebuild(
    ws: str, app: str, number: int, request: Request, ctx: ConsoleContext = action("builds/write")
) -> Response:
    """A new build of the same commit."""
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        started = builds.rebuild(session, found, number, created_by=ctx.user_name).number
    return _to_started_build(request, ctx, app, started)


@router.post("/w/{ws}/apps/{app}/builds/{number}/cancel")
def cancel(
    ws: str, app: str, number: int, request: Request, ctx: ConsoleContext = action("builds/write")
) -> Response:
    with ctx.platform.transaction() as session:
        found = ctx.read_app(session, app)
        builds.cancel_build(session, found, number)
    return RedirectResponse(
        back_to(request, ctx.ws_url("apps", app, "builds", number)), status_code=303
    )


@router.post("/w/{ws}/apps/{app}/rollback")
def rollback(
    ws: str,
    app: str,
    request: Request,
    to: Annotated[int, Form(ge=1)],
    ctx: ConsoleContext = action("apps/write"),
) -> Response:
    """Serve an earlier Complete build again (returns once it serves, or says why not)."""
    deployments.rollback_app(ctx.platform, request.app.state.registry, ws, app, to)
    return RedirectResponse(ctx.ws_url("apps", app, "revisions"), status_code=303)


def _to_started_build(request: Request, ctx: ConsoleContext, app: str, number: int) -> Response:
    """Wake the build runner for the build just started, and go to its page."""
    ctx.platform.build_runner.wake()
    target = ctx.ws_url("apps", app, "builds", number)
    if request.headers.get("HX-Request"):
        return Response(status_code=204, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


@router.get("/w/{ws}/apps/{app}/builds/{number}")
def build_page(
    ws: str, app: str, number: int, ctx: ConsoleContext = page("builds/read")
) -> Response:
    build, _ = _build(ctx, app, number)
    return render(
        ctx,
        "builds/page.html",
        api=ctx.api_url("apps", app, "builds", number),
        app=load_app(ctx, app),
        build=build,
        ended=BuildPhase(build.phase).ended,
    )


@router.get("/w/{ws}/apps/{app}/builds/{number}/log")
def build_log(
    ws: str, app: str, number: int, ctx: ConsoleContext = page("builds/read")
) -> Response:
    """The whole log as text (what the page follows, for saving or without JavaScript)."""
    _build(ctx, app, number)
    path = builds.build_log_path(ctx.platform.settings, ws, app, number)
    return StreamingResponse(
        stream_log(path, follow=False, finished=lambda: True),
        media_type="text/plain; charset=utf-8",
    )


@router.get("/w/{ws}/apps/{app}/builds/{number}/log/events")
def build_log_events(
    ws: str, app: str, number: int, request: Request, ctx: ConsoleContext = page("builds/read")
) -> Response:
    """The log over Server-Sent Events: ``line`` events until the build ends, then one
    ``end`` event saying how it ended."""
    _, build_id = _build(ctx, app, number)
    path = builds.build_log_path(ctx.platform.settings, ws, app, number)
    platform = ctx.platform
    chunks = stream_log(path, follow=True, finished=lambda: _has_ended(platform, build_id))
    return event_stream(request, _with_end(ctx, app, number, log_lines(chunks)))


async def _with_end(
    ctx: ConsoleContext, app: str, number: int, lines: AsyncIterator[tuple[str, str]]
) -> AsyncIterator[tuple[str, str]]:
    async for event in lines:
        yield event
    build, _ = await run_in_threadpool(_build, ctx, app, number)
    sentence, message = build_sentence(build), build_message(build)
    yield "end", f"{sentence}: {message}" if message else sentence


def _has_ended(platform: Platform, build_id: int) -> bool:
    with platform.transaction() as session:
        return builds.build_has_ended(session, build_id)
