"""Topology: every app of the workspace as a card (or a row of the list view), found by
name; a card opens the app's side panel."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from wharf.api.routers.apps import app_out
from wharf.console.context import ConsoleContext, page
from wharf.console.errors import ConsoleRoute
from wharf.console.pagination import PAGE_SIZE, Page, PageNumber
from wharf.console.render import render
from wharf.services import apps, builds

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/w/{ws}/topology")
def topology(
    ws: str,
    request: Request,
    q: str = Query("", max_length=255, description="find apps whose name contains this"),
    view: Literal["graph", "list"] = Query("graph", description="cards or a list"),
    selected: str = Query("", max_length=63, description="the app whose side panel is open"),
    number: PageNumber = 1,
    ctx: ConsoleContext = page("apps/read"),
) -> Response:
    with ctx.platform.transaction() as session:
        workspace = ctx.read_workspace(session)
        found = apps.find_apps(
            session, workspace, q, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        latest = builds.latest_builds(session, found.apps)
        shown = Page(
            [app_out(request, ws, a, latest.get(a.id)) for a in found.apps], number, found.total
        )
    names = {a.name for a in shown.items}
    return render(
        ctx,
        "topology/index.html",
        api=ctx.api_url("apps"),
        apps=shown,
        q=q,
        view=view,
        selected=selected if selected in names else None,
    )
